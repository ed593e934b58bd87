"""The Experiment page's live view: progress, learning curves with and without transfer, the two embeddings
side by side, and domain confusion — polled from the job manager while a run is active.

How it stays live without slowing training: runs train in the job manager's workers; this view is two
fragments that read `manager.view(run_id)` (a RunView copy). The progress boxes redraw every second; the charts,
once the run's first epoch is drawn, every `CHART_SECONDS`, since redrawing them — on the server and in every
watching browser — is what watching costs. When every watched run has ended the view asks for one full rerun (guarded, once per
experiment) and is then drawn without timers.
"""
from __future__ import annotations

from contextlib import nullcontext

import streamlit as st

from tl_core.errors import UserError
from tl_core.records.run_view import RunView
from tl_core.runs import identity, pairs
from tl_core.runs.baselines import ARM_RECIPES, baseline_for
from tl_core.runs.config import RunConfig
from tl_core.runs.identity import Role
from tl_core.runs.status import Status
from tl_core.serving.owners import Actor, may_act
from tl_core.serving.privacy import may_see
from tl_core.strategies import strategy_class
from tl_ui import figure_cache, maps, state
from tl_ui.figure_cache import cached_figure
from tl_ui.widgets import STATUS_ICON, chart
from tl_view import charts, fmt, roles
from tl_view.confusion_null import band_snapshots, null_band_for
from tl_view.start_point import from_the_start
from tl_view.views import (forgetting_note, is_active, overfitting_note, settings_note, status_line,
                           task_a_rows)


def submit(manager, config: RunConfig, who: Actor, twin: bool, compare_with: str) -> dict:
    """Queue the run, then its baseline (what 'without' means for its strategy, `tl_core.runs.baselines`): the run
    the user asked for is never queued behind its own baseline. Raises ConfigError (or QuotaExceeded) before
    anything is queued when either config cannot work (or the user has too many runs in flight)."""
    from tl_core.runs.validation import validate_config

    validate_config(config, manager.store.runs_dir)
    baseline_config = baseline_for(config) if twin else None
    manager.check_room(who, 2 if baseline_config is not None else 1)
    if baseline_config is not None:
        config = config.replace(role=Role.MAIN.value, experiment=identity.new_pair())
        baseline_config = baseline_config.replace(experiment=config.experiment)
        validate_config(baseline_config, manager.store.runs_dir)
        run = manager.submit(config, owner=who)
        baseline = manager.submit(baseline_config, owner=who)
    else:
        baseline = compare_with or None
        if baseline:
            config = config.replace(experiment=identity.versus(baseline))
        run = manager.submit(config, owner=who)
    state.watch(run, baseline)
    st.session_state.pop("live_pace", None)
    return {"run": run, "baseline": baseline}


def restore(manager, who: str) -> None:
    """A reloaded tab (empty session) watches again the run named in its URL (`?run=`), else this owner's newest
    experiment; the URL always names the run shown, so a reload or a shared link shows the same."""
    if state.watched() is None:
        actor = state.actor()
        rows = [r for r in manager.store.list(limit=500) if may_see(actor, r)]  # no link opens another's private run
        asked = st.query_params.get("run")
        row = next((r for r in rows if r["run_id"] == asked), None) if asked else None
        found = pairs.experiment_of(row, rows) if row else pairs.latest_experiment(rows, who)
        if found:
            state.watch(found["run"], found["baseline"])
    watch = state.watched()
    if watch and st.query_params.get("run") != watch["run"]:
        st.query_params["run"] = watch["run"]


def view(form_config: RunConfig | None = None) -> None:
    """The watched runs, live; `form_config`: the form's settings, to say when the results belong to others."""
    manager = state.manager()
    watch = state.watched()
    if not watch:
        _empty(manager)
        return
    views = _views(manager, watch)
    if views[0] is None:
        st.info("The run this tab was showing has been deleted. Press Train to start a new one.")
        return
    note = settings_note(views[0].config, form_config) if form_config is not None else ""
    if note:
        st.info(note, icon=":material/history:")
    # Always fragments, timed only while a run is active: the page keeps one element tree either way, so the
    # switch from live to settled replaces elements in place instead of mixing old and new layouts.
    progress_s, charts_s = refresh_seconds(views)
    st.fragment(run_every=progress_s)(_progress)((progress_s, charts_s))
    st.fragment(run_every=charts_s)(_charts)()


# The charts' refresh while a run trains. Every redraw costs the server a figure sent to each tab and each
# tab's browser a re-render (with the default ~1-s epochs that was most of what a tab cost a shared 2-core
# machine: bench/responsiveness.py); the progress boxes still move every second.
CHART_SECONDS = 5.0


def refresh_seconds(views) -> tuple[float | None, float | None]:
    """(progress, charts): how often each part of the live view polls. The progress boxes every second while a
    run trains, every 3 s while the runs only wait in the queue (nothing moves then, and each poll costs the
    server a script run); the charts as often until the run has its first epoch (that first point is what a
    user waits for), then every `CHART_SECONDS`; neither once the runs have ended."""
    if not any(is_active(v) for v in views if v is not None):
        return None, None
    progress = 1.0 if any(v is not None and v.status is Status.RUNNING for v in views) else 3.0
    return progress, (max(progress, CHART_SECONDS) if views[0].history else progress)


def _views(manager, watch):
    return manager.view(watch["run"]), (manager.view(watch["baseline"]) if watch.get("baseline") else None)


def _watched_views():
    """(manager, watch, views), or None when this tab watches nothing (any more)."""
    manager = state.manager()
    watch = state.watched()
    if not watch:
        return None
    views = _views(manager, watch)
    return None if views[0] is None else (manager, watch, views)


def _progress(intervals: tuple[float | None, float | None]) -> None:
    watched = _watched_views()
    if watched is None:
        return
    manager, watch, views = watched
    main, baseline = views
    main_label, base_label = _labels(views)
    cols = st.columns(2 if baseline is not None else 1, gap="medium")
    _status(manager, cols[0], main, main_label, "main", baseline)
    if baseline is not None:
        _status(manager, cols[1], baseline, base_label, "base", None)
    # A fragment's timer is set by the full run that draws it: when the runs start, have their first epoch or end,
    # redraw the page once (per experiment and pace) so that the timers follow.
    wanted = (watch["run"], watch.get("baseline"), refresh_seconds(views))
    if intervals[0] is not None and wanted[2] != intervals and st.session_state.get("live_pace") != wanted:
        st.session_state.live_pace = wanted
        st.rerun()


def _empty(manager) -> None:
    _recent(manager)
    st.subheader("What you will see")
    st.markdown(
        "Press **Train** to start the run and the same network **without transfer**. While they train, this "
        "side shows, live:\n\n"
        "1. **Learning curves** — loss and accuracy per epoch; with transfer solid blue, without dashed red.\n"
        "2. **Embeddings** — where the network puts source (●) and target (◇) images, coloured by class, "
        "with and without transfer side by side.\n"
        "3. **Domain confusion** — how well a linear classifier tells source from target features; "
        "0.5 means the two domains look the same to the network.\n\n"
        "The defaults: synth-digits → digits-m, small_cnn starting from the network shipped pretrained on "
        "synth-digits, 10 labels per class, 3 epochs. How long it takes is estimated under **Train** from this "
        "server's measured speed, including any pretraining on the source (once, then cached) and the runs of "
        "other users ahead in the queue.")


def _recent(manager) -> None:
    """Runs on this server a new tab may want to watch: the ones in progress, then the newest finished."""
    from tl_ui.widgets import run_label

    actor = state.actor()
    rows = [r for r in manager.store.list(limit=100) if not pairs.is_twin(r) and may_see(actor, r)
            and identity.is_experiment_page_run(r.get("role") or "", r.get("experiment") or "")]
    active = [r for r in rows if Status.of(r["status"]).active]
    pick = (active + [r for r in rows if r["status"] == Status.FINISHED])[:4]
    if not pick:
        return
    with st.container(border=True):
        st.markdown("**Watch a run**" + (" — in progress on this server" if active else " — recent"))
        for row in pick:
            text, go = st.columns([5, 1], vertical_alignment="center")
            text.caption(fmt.plain(run_label(row)))
            if go.button("Show", key=f"show-{row['run_id']}", type="tertiary"):
                state.watch(**pairs.experiment_of(row, manager.store.list(limit=500)))
                st.rerun()


def _labels(views) -> tuple[str, str]:
    """The main run's label and its baseline's: the baseline says which kind it is ('without transfer', 'without
    adaptation', ...); a run picked to compare with is 'comparison'."""
    main, baseline = views
    main_label = "this run" if roles.is_without(main.config) else roles.side_label(main.config)
    if baseline is None:
        return main_label, ""
    return main_label, roles.side_label(baseline.config) if baseline.config.role == Role.BASELINE else "comparison"


def _charts() -> None:
    watched = _watched_views()
    if watched is None:
        return
    _, watch, views = watched
    main, baseline = views
    main_label, base_label = _labels(views)
    epochs = max(main.epochs, baseline.epochs if baseline is not None else 1)

    def curves(from_start: bool = False):
        """Both runs' curves; `from_start`: with the epoch-0 point of the network each starts from."""
        rows = (lambda v: from_the_start(v.history, v.snapshots)) if from_start else (lambda v: v.history)
        drawn = [charts.with_transfer(rows(main), main_label)]
        if baseline is not None:
            drawn.append(charts.without_transfer(rows(baseline), base_label))
        return drawn

    # Histories only grow, so a run's id and its number of epochs name its curve's data.
    data = (watch["run"], epochs, main_label, base_label,
            tuple((v.run_id, len(v.history)) for v in views if v is not None))
    chart(cached_figure(("curves", data), lambda: charts.learning_curves(
        curves(), epochs=epochs, uirevision=f"curves-{watch['run']}")), key="live-curves")
    strategy = strategy_class(main.config.strategy)
    if baseline is not None and baseline.config.arm in ARM_RECIPES:
        st.caption(f"Dashed, {base_label}: {ARM_RECIPES[baseline.config.arm]}.")
        if note := strategy.loss_note_for(main.config):
            st.caption(note)
    overfitting = (overfitting_note(main.history, baseline.history, main_label, base_label, strategy.labelled_domain)
                   if baseline else "")
    if overfitting:
        st.caption(f":material/warning: {overfitting}")
    _task_a(((main, main_label, charts.with_transfer), (baseline, base_label, charts.without_transfer)), epochs,
            (data, main.status, baseline.status if baseline is not None else None), watch["run"])
    _maps(main, baseline, main_label, base_label, active=any(is_active(v) for v in views if v))
    dc_col, text_col = st.columns([1.6, 1], vertical_alignment="center")
    with dc_col:
        band = null_band_for(band_snapshots(main.snapshots, main.status.terminal)
                             + (band_snapshots(baseline.snapshots, baseline.status.terminal) if baseline else []))
        chart(cached_figure(("domain-confusion", data, band, len(main.snapshots),
                             len(baseline.snapshots) if baseline is not None else 0),
                            lambda: charts.domain_confusion_chart(
                                curves(from_start=True), epochs=epochs, height=330, uirevision=f"dc-{watch['run']}",
                                title="Domain confusion", null_band=band)), key="live-domain-confusion")
    with text_col:
        st.markdown("**Can the network tell the domains apart?** Before training (epoch 0) and after each epoch "
                    "a linear classifier tries to tell source features from target features. **0.5** means it "
                    "cannot: the network sees the two domains alike; the grey band is what it reads on these "
                    "features with the domain labels shuffled. Strategy **dann** pushes this line down on purpose. "
                    "Features that collapse read 0.5 too, so look at the target accuracy above as well.")


def _task_a(runs, epochs: int, data, watched: str) -> None:
    """Task A's accuracy over this task's epochs, for the runs that measure forgetting (nothing when none does)."""
    measured = [(view, label, make) for view, label, make in runs
                if view is not None and view.config.measure_forgetting]
    if not measured:
        return
    chart(cached_figure(("task-a", data), lambda: charts.metric_chart(
        [make(task_a_rows(view.history, view.summary), label) for view, label, make in measured], "source_acc",
        epochs=epochs, title="Task A accuracy while learning this task", y_range=(0, 1.02),
        uirevision=f"task-a-{watched}")), key="live-task-a")
    for view, label, _ in measured:
        if note := forgetting_note(view.summary, label):
            st.caption(note)


def same_epoch_delta(view: RunView, other: RunView) -> tuple[float | None, str]:
    """(accuracy difference, words) comparing two runs at the same epoch: the latest epoch both have reached,
    so a run at epoch 2 is never compared with a finished run at epoch 5."""
    common = min(len(view.history), len(other.history))
    if common == 0:
        return None, "waiting for the other run's first epoch" if view.history else ""
    mine, theirs = view.history[common - 1], other.history[common - 1]
    if mine.get("target_acc") is None or theirs.get("target_acc") is None:
        return None, ""
    return mine["target_acc"] - theirs["target_acc"], f"at epoch {mine.get('epoch', common)}"


def _status(manager, col, view: RunView, label: str, key: str, other: RunView | None) -> None:
    with col, st.container(border=True, key=f"live-status-{key}"):  # a stable hook for bench/responsiveness.py
        text, done = status_line(view)
        icon = STATUS_ICON.get(view.status, "")
        acc = view.target_acc
        delta, caption = None, ""
        if other is not None:
            diff, when = same_epoch_delta(view, other)
            versus = "the baseline" if other.config.role == Role.BASELINE else "the comparison"
            if diff is not None:
                delta = f"{100 * diff:+.1f} points vs {versus} {when}"
            elif when:
                caption = f"Comparison with {versus}: {when}."
        st.metric(f"{icon} {label.capitalize()} — target accuracy", fmt.pct(acc) if acc is not None else "–",
                  delta=delta, help="Accuracy on the target's test split after the latest epoch. The difference "
                                    "compares both runs at the same epoch.")
        if caption:
            st.caption(caption)
        if is_active(view):
            st.progress(done, text=text)
            if not may_act(state.actor(), view.owner):
                st.caption("Read-only: another user's run.")
            elif st.button("Stop", key=f"stop-{key}", type="secondary",
                           help=f"Stop the {label} run (within one batch; a queued run leaves the queue)."):
                try:
                    manager.stop(view.run_id, by=state.actor())
                    st.toast(f"Stopping the {label} run…")
                except UserError as err:
                    st.warning(str(err), icon=":material/group:")
        if view.summary.get("shared_from"):
            st.caption("Shared: an identical run was computed once for everyone who asked for it.")
        elif view.status is Status.FINISHED:
            st.caption(text)
        elif not is_active(view):  # stopped, failed, ...: why, and what to do (an active run's bar says it all)
            st.warning(text, icon=icon or None)


def _maps(main, baseline, main_label, base_label, active: bool) -> None:
    method = "pca"
    options = ["PCA", "UMAP"]
    if state.umap_ready():
        picked = st.segmented_control("Map", options, default="UMAP", key="live-map-method",
                                      help="PCA is instant; UMAP shows clusters better (a few seconds per map).",
                                      label_visibility="collapsed")
        method = (picked or "PCA").lower()
    # (label, epoch, snapshot path) per panel: snapshot files never change once written, so they name the data.
    shown = tuple((label, *(view.snapshots[-1] if view.snapshots else (None, None)))
                  for view, label in ((main, main_label), (baseline, base_label)) if view is not None)
    classes = tuple(_classes(main))
    with st.spinner(f"Computing the {method.upper()} map…") if method != "pca" else nullcontext():
        key = ("maps", main.run_id, method, shown, classes)
        fig, problems = cached_figure(key, lambda: _maps_figure(main.run_id, shown, classes, method))
    if problems:
        figure_cache.forget(key)
    chart(fig, key="live-maps")
    for problem in problems:
        st.caption(problem)
    notes = [_scores_line(label, path, method) if path else "" for label, _, path in shown]
    for col, note in zip(st.columns(len(notes)), notes):
        col.caption(note)
    if active and method == "pca":
        st.caption("Maps refresh at every feature snapshot. For UMAP, t-SNE and the epoch-by-epoch "
                   "animation, open the Embeddings page.")


def _maps_figure(run_id: str, shown, classes, method: str):
    """The side-by-side embedding panels, and a line for each snapshot that could not be read yet."""
    panels, problems = [], []
    for label, epoch, path in shown:
        if path is None:
            panels.append(charts.empty_panel(label.capitalize()))
            continue
        try:
            coords = maps.single_map(path, method)
        except (OSError, ValueError) as err:
            problems.append(f"The {label} snapshot of epoch {epoch} cannot be read yet ({err}).")
            panels.append(charts.empty_panel(label.capitalize()))
            continue
        title = f"{label.capitalize()} · {'before training' if epoch == 0 else f'epoch {epoch}'}"
        panels.append(maps.panel(title, path, coords))
    fig = charts.embedding_figure(panels, list(classes), height=440, uirevision=f"maps-{run_id}-{method}",
                                  axis_range=1.1, legend="bottom")
    fig.update_layout(title=dict(text=f"Embeddings ({method.upper()}) — colour: class, ● source, ◇ target",
                                 x=0, font=dict(size=16)), margin=dict(t=70))
    return fig, problems


def _scores_line(label: str, path: str, method: str) -> str:
    """Under a panel: do this network's target features keep the classes together (kNN class accuracy), and does
    the map keep what the features hold?"""
    try:
        s = maps.scores(path, method)
    except (OSError, ValueError, KeyError):
        return ""
    return (f"**{label.capitalize()}** — kNN class accuracy of the target images: **{fmt.pct(s['knn_features'])}** "
            f"in feature space, {fmt.pct(s['knn_map'])} on this map (each image's 5 nearest neighbours vote) · "
            f"domain mixing {s['domain_mixing']:.2f} (1: source and target fully mixed)")


def _classes(view) -> list[str]:
    try:
        return list(maps.class_names(view.config.target, view.config.img_size))
    except Exception:  # a folder that has gone away: class ids still colour the map
        return [str(i) for i in range(10)]
