"""Feasibility check: will transfer learning work on your images, how, and with how many labels?

Data in (a zip, a folder under the server's data root, or a generated example) → a validation report before
anything trains → a quick sweep through the shared job queue (linear probes, then fine-tuning) → the label-budget
curve → a recommendation on the lectures' 2×2 grid, with the report to download. Uploads land in this tab's own
session folder; the stages are driven by the process-wide chain runner, so the check goes on while you look at
other pages."""

import pandas as pd
import streamlit as st

from tl_core.feasibility.pipeline import assemble
from tl_core.feasibility.results import results_from_jobs
from tl_core.feasibility.uploads import list_server_folders, upload_root
from tl_core.machine.device import pick_device
from tl_core.runs.status import Status
from tl_core.serving import calibration
from tl_ui import feasibility as fz
from tl_ui import nav, state
from tl_ui.widgets import chart, error
from tl_view import feasibility_views as fv
from tl_view import glossary
from tl_view.feasibility_report import check_facts, render_html, render_markdown

nav.page_guard(__file__)
manager = state.manager()
who = state.owner()
runner = state.runner()
SOURCES = ("Upload a .zip", "A folder on the server", "Try an example")

st.title("Feasibility check")
st.caption("Will transfer learning work on your images, with which strategy, and how many labels do you need? "
           "Bring a folder of class folders; how long the check takes is estimated below from this server's measured "
           "speed and queue.")


def data_input(role: str, name: str) -> fv.DataIn | None:
    """One dataset in (role 'target' or 'source'): widgets, then the read result, kept until the input changes."""
    kept_key = f"fz_{role}_in"
    kept = st.session_state.get(kept_key)
    state.restore_widget(f"fz-{role}-kind", SOURCES[0])
    kind = st.segmented_control("Where is it?", SOURCES if role == "target" else SOURCES[:2], key=f"fz-{role}-kind",
                                label_visibility="collapsed")
    ident, read = None, None
    if kind == SOURCES[0]:
        upload = st.file_uploader("A .zip with one folder of images per class (e.g. cats/…, dogs/…)", type=["zip"],
                                  key=f"fz-{role}-upload")
        if upload is not None:
            ident = ("upload", upload.file_id)
            read = lambda: fv.read_upload(upload.name, upload.getvalue(), fz.session_dir(), name=name,  # noqa: E731
                                          quota=fz.upload_quota())
        elif kept is not None and kept[0][0] == "upload":  # back from another page: the uploader forgot the file
            st.caption(f"Showing **{kept[1].label}**, uploaded earlier in this tab; choose a file to replace it.")
            return kept[1]
    elif kind == SOURCES[1]:
        root = upload_root()
        folders = list_server_folders(root)
        state.restore_widget(f"fz-{role}-folder", "")
        folder = st.text_input(f"Folder name under the data root `{root.resolve()}`", key=f"fz-{role}-folder",
                               placeholder=folders[0] if folders else "e.g. flowers",
                               help="Only folders inside the data root can be read (set TL_UPLOAD_ROOT to move it).")
        st.caption(f"Folders there: {', '.join(folders[:12])}{' …' if len(folders) > 12 else ''}" if folders
                   else "The data root holds no folders yet: copy one there (one sub-folder per class).")
        if folder.strip():
            ident = ("folder", folder.strip())
            read = lambda: fv.read_server_folder(folder.strip(), root)  # noqa: E731
    elif kind == SOURCES[2]:
        st.caption("Four kinds of shapes, 30 generated images each: the check runs on it like on your own data.")
        ident = ("example",)
        read = lambda: fv.read_example(fz.session_dir() / "example")  # noqa: E731
    if ident is None:
        st.session_state.pop(kept_key, None)
        return None
    if kept is None or kept[0] != ident:
        with st.spinner("Reading every file…"):
            kept = (ident, read())
        st.session_state[kept_key] = kept
    return kept[1]


def show_report(data: fv.DataIn, compact: bool = False) -> None:
    """The validation report: what will train, what was skipped and why — also for a dataset that cannot train."""
    if data.error:
        error(data.error)
    report = data.report
    if report is None:
        return
    skipped = len(report.skipped)
    a, b, c, d = st.columns(4)
    a.metric("Classes that will train", len(report.classes))
    b.metric("Usable images", report.num_images)
    c.metric("Smallest class", report.images_per_class)
    d.metric("Files skipped", skipped)
    notes = [m for m in report.messages() if m != data.error]
    if notes:
        st.warning("\n".join(f"- {m}" for m in notes), icon=":material/warning:")
    if report.counts and not compact:
        left, right = st.columns([1.6, 1], gap="large")
        with left:
            chart(fv.counts_figure(report), key=f"fz-counts-{data.label}")
        with right:
            st.markdown("**Images**  \n" + (fv.image_facts(report) or "–"))
            rows = fv.class_rows(report)
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=min(320, 38 + 35 * len(rows)))
    elif report.counts:
        st.caption(", ".join(f"{k}: {n}" for k, n in report.counts.items()) + " · " + fv.image_facts(report))
    if skipped:
        with st.expander(f"Skipped files ({skipped})", expanded=not report.usable):
            st.dataframe(pd.DataFrame(fv.skipped_rows(report)), hide_index=True, width="stretch")


def check_estimate(target: fv.DataIn, source: fv.DataIn | None, chosen: dict) -> None:
    text = fz.estimate_text(target, source, chosen)
    st.caption(text or "Timing a few batches on this server to estimate how long the check takes…")


def draw_check(key: str, live: bool = False) -> None:
    chain = runner.get(key)
    if chain is None:
        return
    results, _ = results_from_jobs(manager, chain.ids)
    sweep, curve, recommendation = assemble(results, chain.planned)
    positions, running = [], 0
    for run_id in chain.ids:
        view = manager.view(run_id)
        if view and view.status is Status.QUEUED and view.queue_position:
            positions.append(view.queue_position)
        running += bool(view and view.status is Status.RUNNING)
    active = not chain.done

    st.subheader("3 · Quick sweep")
    text = fv.progress_text(chain.stage, len(results), len(chain.planned), positions, running)
    if active:
        st.progress(len(results) / max(1, len(chain.planned)), text=text)
        left = fz.remaining_text(chain)
        if left:
            st.caption(left)
        if positions and min(positions) > 1:
            st.caption("Other users' runs are ahead in the queue: results appear here as each run finishes.")
    else:
        if chain.error:
            error(f"The check stopped: {chain.error}")
        elif chain.stopped:
            st.warning("The check was stopped; what finished is shown below.")
        st.caption(f"Done · {len(results)} runs.")
    st.caption("Took " + fv.took_text(chain.seconds, sum(r.seconds for r in results)) + ".")
    if sweep.best is None:
        st.info("The first results appear as soon as a run finishes — linear probes take seconds each "
                "(the very first one also pretrains the source network, once).")
    else:
        chart(fv.sweep_figure(sweep), key="fz-sweep")
        st.caption(f"Best so far: **{sweep.best.label}**, {sweep.best.score.target_acc_mean:.3f} ± "
                   f"{sweep.best.score.target_acc_sd:.3f} over {sweep.best.score.runs} folds — its per-class "
                   f"accuracy and confusion matrix below. {fv.SELECTION_NOTE}")
        with st.expander("Every setting", expanded=False):
            st.dataframe(pd.DataFrame(fv.setting_rows(sweep)), hide_index=True, width="stretch")
        left, right = st.columns(2, gap="large")
        with left:
            chart(fv.per_class_figure(sweep.best), key="fz-per-class")
        with right:
            chart(fv.confusion_figure(sweep.best), key="fz-confusion")
        failures = sorted({f for s in (*sweep.probe, *sweep.finetune) for f in s.score.failures})
        if failures:
            st.warning(f"{len(failures)} kind(s) of failure: " + "; ".join(failures[:3]), icon=":material/warning:")

    st.subheader("4 · How many labels?")
    if curve is None:
        st.caption("The label-budget curve runs after the sweep: a linear probe and a network from scratch at 1, 2, "
                   "5, 10, 20 and all labels per class." if active else "No label-budget curve in this check.")
    else:
        chart(fv.label_curve_figure(curve), key="fz-curve")
        st.markdown(fv.extrapolation_text(curve))

    st.subheader("5 · Recommendation")
    if recommendation is None:
        st.caption("It appears with the first finished probe and sharpens as more results arrive.")
    else:
        st.success(recommendation.headline, icon=":material/lightbulb:")
        left, right = st.columns([1.1, 1], gap="large")
        with left:
            chart(fv.grid_figure(recommendation), key="fz-grid")
        with right:
            st.markdown(f"**{recommendation.size.capitalize()} target × {recommendation.similarity} to the source.** "
                        f"{recommendation.advice}")
            st.markdown("\n".join(f"- {e}" for e in recommendation.evidence))
        if recommendation.caveat:
            st.warning(recommendation.caveat, icon=":material/travel_explore:")
        if active:
            st.caption("Provisional: more runs are still coming.")
    validation = chain.context.get("validation")
    context = chain.context
    facts = check_facts(context["label"], context["folds"], context["img_size"], context["curve"],
                        [(s, len(ids)) for s, ids in chain.stages], not active, chain.stopped, chain.error or "")
    one, two, _ = st.columns([1, 1, 2])
    one.download_button("Report (Markdown)",
                        data=render_markdown(validation, sweep, curve, recommendation, facts=facts),
                        file_name="feasibility.md", mime="text/markdown", icon=":material/download:",
                        key="fz-md", on_click="ignore", disabled=sweep.best is None)
    two.download_button("Report (HTML with charts)", file_name="feasibility.html", mime="text/html",
                        data=lambda: render_html(validation, sweep, curve, recommendation, facts=facts),
                        icon=":material/download:", key="fz-html", on_click="ignore", disabled=sweep.best is None)
    if live and not active and st.session_state.get("fz_settled") != key:
        st.session_state.fz_settled = key  # once per check: redraw the whole page without the timer
        st.rerun()


# ------------------------------------------------------------------------------------------------ page
check_key = fz.current_check()
chain = runner.get(check_key) if check_key else None
checking = chain is not None and not chain.done

st.subheader("1 · Your data")
target = data_input("target", "dataset")
with st.expander("Optional: a second dataset as the source (task A) to transfer from"):
    st.caption("Without one, the check transfers from the built-in synth-digits network (and ImageNet backbones "
               "whose weights are cached on this server).")
    state.restore_widget("fz-use-source", False)
    source = data_input("source", "source") if st.toggle("Use my own source dataset", key="fz-use-source") else None
    if source is not None:
        show_report(source, compact=True)

st.subheader("2 · What is in it")
if target is None:
    st.info("Choose a .zip, a folder on the server, or the example above: the report on every file appears here "
            "before anything trains.")
else:
    show_report(target)

ready = target is not None and target.ok and (source is None or source.ok)
with st.container(border=True):
    run_col, settings_col = st.columns([1, 2.4], vertical_alignment="center")
    chosen = fz.check_settings()
    with settings_col.popover("Check settings", icon=":material/tune:"):
        # Each widget starts from the kept choice and writes it back on change: a widget the browser has not drawn
        # yet (a closed popover) sends no value, and must not fall back to its own default after an upload.
        st.slider("Folds (repeats on different test images, for the ± spread)", 2, 5, chosen["folds"],
                  key="fz-folds", on_change=fz.keep_setting, args=("folds",), help=glossary.help_for("folds"))
        st.select_slider("Image size (pixels)", [32, 48, 64], chosen["img_size"], key="fz-img-size",
                         on_change=fz.keep_setting, args=("img_size",),
                         help="Images are resized to this square size; 32 is fastest on a CPU.")
        st.toggle("Label-budget curve", chosen["curve"], key="fz-curve-on", on_change=fz.keep_setting, args=("curve",),
                  help="Accuracy at 1, 2, 5, 10, 20 and all labels per class, with and without transfer.")
    settings_col.caption(fv.settings_text(**chosen))
    run_col.button("Run the check", type="primary", icon=":material/play_arrow:", key="fz-run", width="stretch",
                   disabled=not ready or checking, on_click=fz.start_check, args=(target, source),
                   help="Probes every candidate network, fine-tunes the best, then measures the label curve."
                   if not checking else "A check is running: its results fill in below.")
    if ready and not checking:  # redrawn every 2 s while this server's pace is still being timed
        timing = calibration.pace_for("small_cnn", chosen["img_size"], pick_device("auto").type, wait=False) is None
        st.fragment(run_every=2 if timing else None)(check_estimate)(target, source, chosen)
    settings_col.caption("Everything is queued with other users' runs and listed on the Runs page.")
    if "fz_error" in st.session_state:
        error(st.session_state.pop("fz_error"))
    if checking and chain is not None and chain.owner == who and st.button(
            "Stop the check", icon=":material/stop:", key="fz-stop", type="tertiary"):
        runner.stop(check_key)
        st.toast("Stopping the check's runs…")

if check_key and runner.get(check_key) is not None:
    shown = runner.get(check_key).context.get("label")
    if target is not None and shown != target.label:
        st.caption(f"Results below are for **{shown}**, checked earlier in this tab.")
    if checking:
        st.fragment(run_every=2)(draw_check)(check_key, live=True)
    else:
        draw_check(check_key)

state.save_widgets("fz-", skip=("fz-target-upload", "fz-source-upload", "fz-run", "fz-stop", "fz-md", "fz-html",
                               *fz.SETTING_KEYS.values()))

with st.expander("What the words mean", icon=":material/menu_book:"):
    st.markdown(glossary.glossary_markdown((
        'folds', 'linear probe', 'fine-tune', 'scratch', 'label budget', 'validation', 'transfer'
    )))
