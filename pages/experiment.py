"""Experiment: choose data, network, weights, freeze depth and strategy; Train runs it next to the same network
without transfer; the right-hand side shows the three pictures live."""
import streamlit as st

from tl_core.errors import UserError
from tl_core.runs.baselines import baseline_for
from tl_core.serving import calibration, promises
from tl_ui import form, live, nav, own_image, share, state
from tl_ui.widgets import error
from tl_view import glossary
from tl_view.views import promise_text

nav.page_guard(__file__)
manager = state.manager()
who = state.owner()
fresh_tab = "x_strategy" not in st.session_state and not st.session_state.get(state.FORM_BACKUP)
linked = st.query_params.get("run")  # this tab's own run (kept in its URL over a reload) or a shared run link
live.restore(manager, who)
if fresh_tab and linked and linked in (state.watched() or {}).values():
    # the form shows the linked run's settings; never another tab's run, a lesson arm's or a check's
    form.prefill_from_run(manager.view(state.watched()["run"]))


def time_estimate(manager, config, twin: bool) -> None:
    """How long Train will take, from this server's measured pace, laid out on the server's slots behind the
    runs already there (`tl_core.serving.promises`); polls while the pace is being timed."""
    configs = [config] + ([baseline_for(config)] if twin and baseline_for(config) is not None else [])
    try:
        promise = promises.promise(manager, who, [configs])
    except UserError:
        return  # a config that cannot run: Train says why
    if promise is None:
        st.caption("Timing a few batches on this server to estimate how long this takes…")
        return
    st.caption(":material/schedule: " + promise_text(promise).capitalize() + ".",
               help="Images per second measured on this server (a few timed batches, then the finished runs); the "
                    "runs already queued or running take the server's slots first. The run's own pace takes over "
                    "once it trains.")


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
        if not result.problem:  # redrawn every 2 s while this server's pace is still being timed
            timing = calibration.estimate_run(result.config, wait=False) is None
            st.fragment(run_every=2 if timing else None)(time_estimate)(manager, result.config, result.twin)
    form.save()
    st.button("Reset to defaults", key="x-reset", on_click=form.reset, type="tertiary", icon=":material/restart_alt:",
              help="Every control back to its default (the run shown on the right stays).")
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
                    live.submit(manager, result.config, state.actor(), result.twin, result.compare_with)
                except UserError as err:
                    error(err)
with right:
    live.view(None if result.problem else result.config)
    own_image.section(manager)

with st.expander("What the words mean", icon=":material/menu_book:"):
    st.markdown(glossary.glossary_markdown((
        'source', 'target', 'validation', 'transfer', 'backbone', 'layer group', 'stem', 'freeze depth',
        'head', 'linear probe', 'fine-tune', 'scratch', 'dann', 'λ ramp steepness', 'distillation',
        'embedding', 'domain confusion', 'epoch'
    )))
