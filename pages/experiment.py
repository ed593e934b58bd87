"""Experiment: choose data, network, weights, freeze depth and strategy; Train runs it next to the same network
without transfer; the right-hand side shows the three pictures live."""
import streamlit as st

from tl_core.errors import UserError
from tl_ui import form, live, nav, share, state
from tl_ui.widgets import error

nav.page_guard(__file__)
manager = state.manager()
who = state.owner()
live.restore(manager, who)

st.title("Experiment")
st.caption("Transfer what a network learned on a source task (A) to a target task (B) — and see what it buys.")

left, right = st.columns([1, 2.2], gap="large")
with left, st.container(border=True):
    # The button comes first so it is visible without scrolling; it acts once the form below has been read.
    train = st.button("Train", type="primary", width="stretch", icon=":material/play_arrow:", key="train",
                      help="Starts the run with the settings below; the defaults work offline on a CPU.")
    compare_box, message = st.container(), st.container()
    link_problem = share.apply_link(form.prefill)
    if link_problem:
        with message:
            error(link_problem)
    share.hide_controls()
    result = form.controls(manager)
    with compare_box:
        result = form.compare_controls(manager, result)
    form.save()
    with st.popover("Share these settings", icon=":material/link:"):
        st.caption("Opening this link fills the form with these settings (seed included).")
        st.code(share.settings_link(result.config), language=None)
        st.caption("The same, with the advanced settings hidden (for a lesson):")
        st.code(share.settings_link(result.config, hide="advanced"), language=None)
    if train:
        with message:
            if result.problem:
                error(result.problem)
            else:
                try:
                    live.submit(manager, result.config, who, result.twin, result.compare_with)
                except UserError as err:
                    error(err)
with right:
    live.view()
