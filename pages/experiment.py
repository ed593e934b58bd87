"""Experiment: choose data, network, weights, freeze depth and strategy; Train runs it next to the same network
without transfer; the right-hand side shows the three pictures live."""
import time

import streamlit as st

from tl_core import calibration
from tl_core.baselines import baseline_for
from tl_core.errors import UserError
from tl_ui import form, live, nav, state
from tl_ui.widgets import error
from tl_view.views import estimate_text

nav.page_guard(__file__)
manager = state.manager()
who = state.owner()
live.restore(manager, who)



def time_estimate(manager, config, twin: bool) -> None:
    """How long Train will take, from this server's measured pace; polls while the pace is being timed."""
    rows = calibration.finished_rows(manager.store)
    configs = [config] + ([baseline_for(config)] if twin and baseline_for(config) is not None else [])
    try:
        estimates = calibration.estimate_runs(configs, rows, wait=False)
    except UserError:
        return  # a config that cannot run: Train says why
    if estimates is None:
        st.caption("Timing a few batches on this server to estimate how long this takes…")
        time.sleep(1)
        st.rerun(scope="fragment")
    ahead = calibration.time_ahead(manager, rows)
    wait_s = calibration.queue_wait(ahead, manager.slots)
    st.caption(":material/schedule: " + estimate_text(estimates, wait_s, len(ahead)).capitalize() + ".",
               help="Images per second measured on this server (a few timed batches, then the finished runs); the "
                    "wait shares the runs ahead over the server's slots. The run's own pace takes over once it "
                    "trains.")


st.title("Experiment")
st.caption("Transfer what a network learned on a source task (A) to a target task (B) — and see what it buys.")

left, right = st.columns([1, 2.2], gap="large")
with left, st.container(border=True):
    # The button comes first so it is visible without scrolling; it acts once the form below has been read.
    train = st.button("Train", type="primary", width="stretch", icon=":material/play_arrow:", key="train",
                      help="Starts the run with the settings below; the defaults work offline on a CPU.")
    compare_box, message = st.container(), st.container()
    result = form.controls(manager)
    with compare_box:
        result = form.compare_controls(manager, result)
        if not result.problem:
            st.fragment(time_estimate)(manager, result.config, result.twin)
    form.save()
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
