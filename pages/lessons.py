"""Lessons: six guided presets that reproduce the lectures' claims live — the idea in a few sentences, one button
that queues every run it needs, the picture drawn as the runs finish, and the measured verdict beside the
prediction. The runs go through the shared job queue (tagged `lesson:<key>:<token>`), so the Runs page shows them
and any tab — anyone's — sees a lesson's latest results."""
from contextlib import suppress

import pandas as pd
import streamlit as st

from tl_core import lessons
from tl_core.errors import UserError
from tl_core.lessons import LESSONS, Lesson, collect, verdict
from tl_core.records.run_view import RunView
from tl_core.runs import identity
from tl_core.serving import calibration, promises
from tl_ui import nav, state
from tl_ui.figure_cache import cached_figure, recent
from tl_ui.live import CHART_SECONDS
from tl_ui.widgets import chart, error, redraw_when_bands_are_ready
from tl_view import confusion_null, fmt, glossary
from tl_view import lesson_views as lv
from tl_view.views import promise_text

TABLE_SECONDS = 3  # a class of 30 tabs polls the server ten times a second at this pace

nav.page_guard(__file__)
manager = state.manager()
who = state.owner()
runner = state.runner()

st.title("Lessons")
st.caption("Each lesson runs a small experiment on this server and checks the lecture's claim against what it "
           "measures. Runs queue with everyone else's and appear on the Runs page.")

by_key = {item.key: item for item in LESSONS}
pick, body = st.columns([1, 3.4], gap="large")
with pick:
    state.restore_widget("lesson-pick", LESSONS[0].key)  # kept while the user visits other pages
    key = st.radio("Lesson", list(by_key), format_func=lambda k: by_key[k].title, key="lesson-pick")
    state.save_widgets("lesson-pick")
lesson: Lesson = by_key[key]
mine: dict[str, str] = st.session_state.setdefault("lesson_groups", {})


def load_runs(group: str | None) -> list[RunView]:
    """The group's runs in submission order, with evaluation.json where a run has one (`collect` reads it): read
    once a second for every tab watching the lesson (`figure_cache.recent`)."""
    if not group:
        return []
    return recent(("lesson-runs", group), 1.0, lambda: collect(
        lessons.experiment_run_ids(manager.store.list(experiment=group), group), manager.store))


def is_active(group: str | None, runs: list[RunView]) -> bool:
    chain = runner.get(group) if group else None
    return (chain is not None and not chain.done) or any(r.status.active for r in runs)


def start(item: Lesson) -> None:
    """The button's callback: queue the lesson's first stage (the chain runner queues the rest). Runs before the
    script, so the page that follows already shows the lesson running."""
    group = identity.new_lesson(item.key)

    def plan_next(run_ids: list[str]):
        return lessons.plan_next(item, collect(run_ids, manager.store), group)

    try:
        runner.start(group, state.actor(), plan_next)
        mine[item.key] = group
    except UserError as err:
        st.session_state.lesson_error = str(err)


def took(runs: list[RunView]) -> float | None:
    """Wall-clock seconds from the first submission to the last run's end (queue waits included)."""
    created = [r.summary.get("created") for r in runs if r.summary.get("created")]
    ends = [r.summary["started"] + r.summary["seconds"] for r in runs
            if r.summary.get("started") and r.summary.get("seconds") is not None]
    return max(ends) - min(created) if created and ends and len(ends) == len(runs) else None


def data_version(runs: list[RunView]) -> tuple:
    """What the verdict and the pictures are drawn from: each run's status and its epochs recorded so far."""
    return tuple((r.summary.get("run_id"), r.summary.get("status"), len(r.history or ()),
                  r.evaluation is not None) for r in runs)


def content_version(runs: list[RunView]) -> tuple:
    """`data_version` by what each run computed (its fingerprint) and how it is labelled instead of by run id:
    thirty students who ran the same lesson share its computations, so their verdict and pictures are the same
    and are built once for the class."""
    return tuple((r.summary.get("fingerprint") or r.summary.get("run_id"),
                  *(getattr(r.config, k) for k in ("arm", "role", "name", "seed")), r.summary.get("status"),
                  len(r.history or ()), r.evaluation is not None) for r in runs)


def draw_results(group: str | None) -> None:
    """The verdict beside the lecture's prediction, and the lesson's pictures: built once per content version for
    every tab (`figure_cache`), redrawn every few seconds while the lesson runs."""
    runs = load_runs(group)
    active = is_active(group, runs)
    judged, figures = cached_figure(("lesson", lesson.key, content_version(runs), confusion_null.bands_version()),
                                    lambda: (verdict(lesson.key, runs), lv.lesson_figures(lesson.picture, runs)))
    with st.container(border=True):
        expected, measured = st.columns(2, gap="large")
        expected.markdown(f"**The lecture predicts**  \n{lesson.expectation}")
        if not runs:
            text = "Not run on this server yet — press **Run this lesson**."
        elif judged.badged:
            text = f"{lv.verdict_mark(judged.outcome)} {judged.text}"
        else:  # progress, never a badge, until every seed has finished
            text = judged.text + ("" if active or judged.outcome == "incomplete" else
                                  " Its runs have ended: run the lesson again to measure every seed.")
        measured.markdown(f"**We measured**  \n{text}")
        st.caption(f"The claim is decided on {lesson.claim.describe()} (95% interval over seeds).")
    columns = st.columns(len(figures)) if len(figures) > 1 else [st.container()]
    for i, (column, fig) in enumerate(zip(columns, figures)):
        with column:
            chart(fig, key=f"lesson-{lesson.key}-{i}")
    if lesson.picture == "domain":
        st.caption("To see the two domains merge, open the Embeddings page and pick the DANN run "
                   "(● source, ◇ target).")


def draw_runs(group: str | None, live: bool = False) -> None:
    """The lesson's runs and where each one is, polled every TABLE_SECONDS while the lesson runs (the table and
    what is left built once per tick for every tab); when it has ended, the whole page is redrawn once (the final
    verdict at once, and no timers)."""
    runs = load_runs(group)
    active = is_active(group, runs)
    left = recent(("lesson-left", group), TABLE_SECONDS,
                  lambda: lesson_estimate(lesson, owner_of(group), group, runs)) if active and runs else ""
    if left:  # refreshed with the table: what is left, from what has finished
        st.caption(":material/schedule: " + left + ".")
    if runs:
        table = recent(("lesson-table", group, active, data_version(runs)), TABLE_SECONDS, lambda: pd.DataFrame(
            lv.status_rows(runs, {r.summary["run_id"]: manager.view(r.summary["run_id"]) for r in runs}
                           if active else {})))
        seconds = took(runs)
        label = f"Runs of this lesson ({len(runs)})" + (f" · took {fmt.seconds(seconds)}" if seconds else "")
        with st.expander(label, expanded=active):
            st.caption(f"On the Runs page, search for `{group}` to see these runs together.")
            st.dataframe(table, hide_index=True, width="stretch",
                         column_config={"target accuracy": st.column_config.ProgressColumn(
                             "target accuracy", min_value=0.0, max_value=1.0, format="percent")})
    if live and not active and st.session_state.get("lesson_settled") != group:
        st.session_state.lesson_settled = group  # once per lesson run: redraw the whole page without the timer
        st.rerun()


def owner_of(group: str | None) -> str:
    return next((r["owner"] for r in manager.store.list(experiment=group, limit=1)), "") if group else ""


def lesson_estimate(lesson, owner: str, group: str | None = None, runs: list[RunView] = ()) -> str:
    """How long the lesson takes on this server: at press time its whole plan (every stage, every seed), while
    it runs what is left of it — its runs are its owner's work; only other runs are ahead of it. The same for
    every tab that watches it, so it is worked out once per tick (`recent`)."""
    rows = recent(("finished-rows", id(manager)), 2.0, lambda: calibration.finished_rows(manager.store))
    if runs:
        ids = [r.summary["run_id"] for r in runs]
        promise = promises.lesson_promise(manager, owner, lesson, runs, ids, rows=rows)
    else:
        promise = promises.lesson_promise(manager, owner, lesson, rows=rows)
    if promise is None:
        return "Timing a few batches on this server to estimate how long it takes; reload in a few seconds"
    if runs and not promise.runs:  # its runs are not in this server's queue (another server process runs them)
        return ""
    return ("About " + promise_text(promise).removeprefix("about ").replace(":", " left:", 1) if runs
            else "Takes " + promise_text(promise))


with body:
    st.subheader(lesson.title)
    st.markdown(lesson.explanation)
    if lesson.formula:
        st.latex(lv.display_formula(lesson.formula))
    group = lessons.latest_experiment(manager.store.list(experiment_prefix=identity.lesson_prefix(key), limit=2000), key)  # anyone's latest run of it, this tab's included
    runs = load_runs(group)
    active = is_active(group, runs)
    owner = owner_of(group)
    action, when, stop_col = st.columns([1.3, 2.6, 1], vertical_alignment="center")
    action.button("Run this lesson", type="primary", icon=":material/play_arrow:", key=f"lesson-run-{key}",
                  disabled=active, width="stretch", on_click=start, args=(lesson,),
                  help="Queues every run the lesson needs; a second stage starts by itself when the first has "
                       "finished." if not active else "This lesson is running: its picture fills in below.")
    note = f"Runs every arm with {lesson.seeds} seed{'s' if lesson.seeds != 1 else ''}"
    note += "." if active else ". " + lesson_estimate(lesson, who) + (
        " (both stages; the second starts by itself when the first has finished)." if len(lesson.stages) > 1 else ".")
    if "lesson_error" in st.session_state:
        error(st.session_state.pop("lesson_error"))
    if runs:
        started = min(r.summary.get("created") or 0 for r in runs)
        note += f"  \nShowing its latest run: started {fmt.when(started)} by {'you' if owner == who else 'another user'}."
    when.caption(note)
    if active and owner == who and stop_col.button("Stop", icon=":material/stop:", key=f"lesson-stop-{key}",
                                                   type="tertiary", help="Stops this lesson's runs (queued ones "
                                                                         "leave the queue)."):
        runner.stop(group)
        for r in runs:
            with suppress(UserError):  # a run others share keeps going for them
                manager.stop(r.summary["run_id"], by=state.actor())
        st.toast("Stopping the lesson's runs…")
    if active:  # the runs' progress every 3 s; the verdict and pictures, whose redraw costs more, every 5 s
        st.fragment(run_every=CHART_SECONDS)(draw_results)(group)
        st.fragment(run_every=TABLE_SECONDS)(draw_runs)(group, live=True)
    else:
        draw_results(group)
        draw_runs(group)
        if lesson.picture == "domain":
            redraw_when_bands_are_ready()

with st.expander("What the words mean", icon=":material/menu_book:"):
    st.markdown(glossary.glossary_markdown((
        'transfer', 'label budget', 'layer group', 'freeze depth', 'domain shift', 'dann', 'distillation',
        'negative transfer', 'validation'
    )))
