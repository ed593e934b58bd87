"""The sidebar's teacher box: the token the server was started with unlocks teacher mode for this session."""
from __future__ import annotations

import streamlit as st

from tl_core.owners import teacher_token
from tl_ui import state


def sidebar_box() -> None:
    if not teacher_token(state._secrets()):
        return  # no token configured: nobody is teacher, and nothing to show
    with st.sidebar.expander("Teacher", icon=":material/co_present:", expanded=state.is_teacher()):
        if state.is_teacher():
            st.caption("Teacher mode: you can stop any run and open the Class view.")
            if st.button("Leave teacher mode", key="teacher-leave"):
                state.leave_teacher()
                st.rerun()
            return
        entered = st.text_input("Teacher token", type="password", key="teacher-token",
                                help="The token this server was started with (TL_TEACHER_TOKEN).")
        if st.button("Unlock", key="teacher-unlock"):
            if state.unlock_teacher(entered):
                st.rerun()
            st.error("That is not this server's teacher token.")
