"""The sidebar's teacher box: the token the server was started with unlocks teacher mode for this session."""
from __future__ import annotations

import streamlit as st

from tl_core.errors import UserError
from tl_core.serving.owners import WeakToken, teacher_token
from tl_ui import state


def server_token() -> str:
    """The teacher token this server was started with (environment, else .streamlit/secrets.toml); WeakToken
    when it is too short (serve.py refuses to start with one)."""
    return teacher_token(state._secrets())


def sidebar_box() -> None:
    try:
        token = server_token()
    except WeakToken as err:  # too short to resist guessing: teacher mode stays off, and the box says why
        st.sidebar.error(f"Teacher mode is off. {err}", icon=":material/lock:")
        return
    if not token:
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
            try:
                unlocked = state.unlock_teacher(entered)
            except UserError as err:  # too many wrong tokens from this browser lately
                st.error(str(err))
                return
            if unlocked:
                st.rerun()
            st.error("That is not this server's teacher token.")
