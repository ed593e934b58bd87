"""Runs: every recorded run (dashboard and CLI alike) — filter, compare, inspect, download, delete."""
import pandas as pd
import streamlit as st

from tl_core.errors import UserError
from tl_core.runs import pairs
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status
from tl_core.serving.owners import may_act
from tl_core.serving.privacy import is_private, public_config, public_summary
from tl_ui import form, maps, nav, share, state
from tl_ui.pickers import all_runs, mine_first
from tl_ui.widgets import chart, json_bytes, run_label
from tl_view import charts, fmt, glossary, roles
from tl_view.images import thumbnail_grid
from tl_view.views import run_name, runs_table_rows

nav.page_guard(__file__)
manager = state.manager()
who = state.owner()

st.title("Runs")
st.caption("Every run recorded in this lab — started here or with `python -m tl_core train` — yours first. Runs "
           "on someone's own folder or upload are theirs (and the teacher's) to see.")

rows = mine_first(all_runs(manager), who)
if not rows:
    st.info("No runs recorded yet. Start one on the Experiment page.")
    st.page_link(nav.page("pages/experiment.py"), label="Go to Experiment", icon=":material/science:")
    st.stop()

# ------------------------------------------------------------------------------------------------ filters
f1, f2, f3, f4, f5 = st.columns([1.2, 1.2, 1.2, 1.6, 0.8], vertical_alignment="bottom")
statuses = f1.multiselect("Status", sorted({r["status"] for r in rows}), key="runs-status", placeholder="any")
strategies = f2.multiselect("Strategy", sorted({r["strategy"] for r in rows}), key="runs-strategy", placeholder="any")
targets = f3.multiselect("Target", sorted({r["target"] for r in rows}), key="runs-target", placeholder="any")
text = f4.text_input("Search", key="runs-text", placeholder="name, backbone, run id…")
only_mine = f5.toggle("Only mine", key="runs-mine")
if f5.button("Refresh", icon=":material/refresh:", key="runs-refresh", type="tertiary"):
    st.rerun()


def opening_runs(shown: list[dict], who: str, focus: list[str] | None) -> tuple[list[str], str]:
    """What the page opens on: the runs a "Show both" asked for, else your newest finished run with its twin,
    else the newest finished run, else the newest run — never an empty queued run while a finished one exists."""
    ids = {r["run_id"] for r in shown}
    if focus and all(rid in ids for rid in focus):
        return list(focus), "a run and its twin"
    finished = [r for r in shown if r["status"] == Status.FINISHED]
    mine = [r for r in finished if r.get("owner") == who]
    for pool, words in ((mine, "your newest finished run"), (finished, "the newest finished run")):
        first = next((r for r in pool if not pairs.is_twin(r)), pool[0] if pool else None)
        if first is not None:
            twin = pairs.baseline_of(first, rows)
            return [first["run_id"]] + ([twin] if twin in ids else []), words + (" and its twin" if twin in ids else "")
    return [shown[0]["run_id"]], "the newest run"


def keep(r: dict) -> bool:
    haystack = " ".join(str(r.get(k) or "") for k in ("name", "backbone", "run_id", "source", "target", "experiment", "role"))
    return ((not statuses or r["status"] in statuses) and (not strategies or r["strategy"] in strategies)
            and (not targets or r["target"] in targets) and (not text or text.lower() in haystack.lower())
            and (not only_mine or r.get("owner") == who))


shown = [r for r in rows if keep(r)]
table = pd.DataFrame(runs_table_rows(shown, who))
st.caption(f"{len(shown)} of {len(rows)} runs · select rows to compare them")
event = st.dataframe(
    table, key=f"runs-table-{st.session_state.get('runs-gen', 0)}", on_select="rerun", selection_mode="multi-row", hide_index=True, width="stretch",
    height=min(420, 38 + 35 * max(1, len(shown))),
    column_config={
        "target acc": st.column_config.ProgressColumn("target acc", min_value=0.0, max_value=1.0, format="percent"),
        "name": st.column_config.TextColumn("name", width="large", help="The run's full name (hover for all of it)."),
        "time": st.column_config.TextColumn("time", help="How long the run took, pretraining included."),
        "by": st.column_config.TextColumn("by", help="Whose run: you, another user on this server, or the "
                                                     "command line."),
        "run id": st.column_config.TextColumn("run id", width="medium"),
        "freeze": st.column_config.NumberColumn("freeze", help=glossary.help_for("freeze depth")),
    })
selected = [shown[i]["run_id"] for i in (event.selection.rows if event else []) if i < len(shown)]
if not selected and shown:  # nothing picked yet: your newest finished experiment with its twin, not an empty page
    selected, words = opening_runs(shown, who, st.session_state.get("runs-focus"))
    st.caption(f"Showing {words} — select rows in the table to compare others.")
if not selected:
    st.info("No run matches these filters.")
    st.stop()

by_id = {r["run_id"]: r for r in rows}
views = {rid: manager.view(rid) for rid in selected}
views = {rid: v for rid, v in views.items() if v is not None}

# ------------------------------------------------------------------------------------------------ compare
st.subheader("Compare")
metric = st.segmented_control(
    "Metric", ["target_acc", "val_acc", "train_acc", "train_loss", "domain_confusion_acc", "a_distance"],
    default="target_acc", key="runs-metric", format_func=lambda m: charts.METRIC_LABELS.get(m, m)) or "target_acc"
curves = roles.role_curves([(v.config, f"{i + 1}. {run_name(by_id[rid])}", v.history)
                            for i, (rid, v) in enumerate(views.items())])
left, right = st.columns([1.5, 1])
with left:
    chart(charts.overlay_curves(curves, metric, uirevision=f"overlay-{metric}"), key="runs-overlay",
          download=f"runs-{metric}")
with right:
    final = pd.DataFrame([{
        "run": c.label,
        "target acc": fmt.pct(v.summary.get("target_acc")),
        "domain conf.": fmt.pct(v.summary.get("domain_confusion_acc")),
        "time": fmt.seconds(v.summary.get("seconds")),
    } for c, v in zip(curves, views.values())])
    st.markdown("**Final metrics**")
    st.dataframe(final, hide_index=True, width="stretch")
    for c, v in zip(curves, views.values()):
        if v.status.terminal and v.status is not Status.FINISHED:
            reason = v.summary.get("reason") or ""
            st.warning(f"{fmt.plain(c.label)}: {v.status.label} — {reason} {v.summary.get('hint') or ''}".strip())

# ------------------------------------------------------------------------------------------------ one run
st.subheader("One run in detail")
labels = {rid: f"{i + 1}. {run_label(by_id[rid])}" for i, rid in enumerate(views)}
run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="runs-detail") if len(labels) > 1 \
    else next(iter(labels))
row, view = by_id[run_id], views[run_id]
run = manager.store.run_dir(run_id)
twin = pairs.baseline_of(row, rows)  # a main run's baseline, or a baseline's main run
if twin in by_id and twin != run_id:
    what = "its baseline" if not pairs.is_twin(row) else "the run it is the baseline of"
    text, go = st.columns([4, 1], vertical_alignment="center")
    text.caption(f"Twin: {what} — {run_label(by_id[twin])}")
    if twin not in views and go.button("Show both", key="runs-twin", icon=":material/compare_arrows:",
                                       help="Compare this run with its twin above."):
        st.session_state["runs-focus"] = [run_id, twin]
        st.session_state["runs-gen"] = st.session_state.get("runs-gen", 0) + 1  # a fresh, empty selection
        st.rerun()
evaluation = run.read_json("evaluation.json")

if evaluation:
    classes = evaluation["classes"]
    left, right = st.columns([1, 1.1])
    with left:
        chart(charts.per_class_figure(classes, evaluation["per_class_acc"], evaluation["per_class_count"],
                                      height=430, uirevision=f"pc-{run_id}"), key="runs-per-class",
              download="per-class-accuracy")
    with right:
        cell_event = chart(charts.confusion_figure(classes, evaluation["confusion"], height=430,
                                                   uirevision=f"cm-{run_id}"),
                           key=f"runs-confusion-{run_id}", download="confusion-matrix", on_select="rerun",
                           selection_mode="points")
    cells = {(int(m["true"]), int(m["pred"])): m["indices"] for m in evaluation.get("misclassified", [])}
    options = sorted(cells, key=lambda tp: -len(cells[tp]))
    clicked = [p.get("customdata") for p in (cell_event.selection.get("points") if cell_event else []) or []]
    clicked = [tuple(c[:2]) for c in clicked if c]
    key = f"runs-cell-{run_id}"
    if clicked and clicked[0] in cells and st.session_state.get(f"{key}-clicked") != clicked[0]:
        st.session_state[f"{key}-clicked"] = clicked[0]
        st.session_state[key] = clicked[0]
    if options:
        cell = st.selectbox(
            "Misclassified images — click a cell of the matrix, or pick it here", options, key=key,
            format_func=lambda tp: f"true {classes[tp[0]]} → predicted {classes[tp[1]]} "
                                   f"({len(cells[tp])} image{'s' if len(cells[tp]) != 1 else ''})")
        images = maps.test_images(row["target"], int(row["config"]["img_size"]))
        idx = [i for i in cells[cell] if i < len(images)][:80]
        grid = thumbnail_grid([images[i] for i in idx], columns=12, scale=max(1, 64 // images.shape[-1]))
        st.image(grid, width=int(grid.shape[1]),
                 caption=f"{len(cells[cell])} target test images of class {classes[cell[0]]} predicted as "
                         f"{classes[cell[1]]}" + (" (first 80)" if len(cells[cell]) > 80 else ""))
    else:
        st.success("No target test image is misclassified.")
elif view.active:
    st.info("Per-class accuracy and the confusion matrix appear when the run has finished.")
else:
    st.info("This run has no evaluation (it did not finish).")

# ------------------------------------------------------------------------------------------------ downloads
st.markdown("**Downloads**")
d1, d2, d3, d4 = st.columns(4)
metrics = run.read_metrics()
d1.download_button("Metrics (CSV)", data=lambda: pd.DataFrame(metrics).to_csv(index=False),
                   file_name=f"{run_id}-metrics.csv", mime="text/csv", disabled=not metrics, on_click="ignore",
                   icon=":material/table:", key="dl-csv")
d2.download_button("Config (JSON)", data=json_bytes(public_config(row["config"])),  # no server paths
                   file_name=f"{run_id}-config.json", mime="application/json", on_click="ignore",
                   icon=":material/data_object:", key="dl-config")
has_weights = run.weights_path.is_file()
d3.download_button("Weights (.safetensors)", data=lambda: run.weights_path.read_bytes() if has_weights else b"",
                   file_name=f"{run_id}.safetensors", mime="application/octet-stream", disabled=not has_weights,
                   on_click="ignore", icon=":material/download:", key="dl-weights")
d4.download_button("Summary (JSON)", data=json_bytes(public_summary(view.summary)),
                   file_name=f"{run_id}-summary.json", mime="application/json", on_click="ignore",
                   icon=":material/summarize:", key="dl-summary")
st.caption("Each chart has its own '⬇ Chart as HTML' link; the camera icon in a chart's toolbar saves a PNG.")

# ------------------------------------------------------------------------------------------------ actions
st.markdown("**Actions**")
a1, a2, a3 = st.columns([1, 1, 2])


def open_in_experiment(config: dict) -> None:
    form.prefill(RunConfig.from_dict(config))
    state.watch(**pairs.experiment_of(row, rows))  # a 'without transfer' twin shows its experiment


if a1.button("Open in Experiment", icon=":material/science:", key="runs-open",
             help="Show this run on the Experiment page, with its settings filled in to train it again."):
    open_in_experiment(row["config"])
    st.switch_page(nav.page("pages/experiment.py"))


@st.dialog("Delete runs")
def confirm_delete(ids: list[str]) -> None:
    st.write(f"Delete {len(ids)} run{'s' if len(ids) != 1 else ''}? Their records, weights and snapshots are "
             "removed from disk. This cannot be undone.")
    for rid in ids:
        st.caption(fmt.plain(run_label(by_id[rid])))
    c1, c2 = st.columns(2)
    if c1.button("Delete", type="primary", key="runs-delete-yes", width="stretch"):
        try:
            for rid in ids:
                manager.store.delete(rid, by=state.actor())
        except UserError as err:
            st.error(str(err))
            return
        if (state.watched() or {}).get("run") in ids:
            st.session_state.pop("watch", None)
        st.session_state["runs-gen"] = st.session_state.get("runs-gen", 0) + 1  # a fresh, empty selection
        st.rerun()
    if c2.button("Cancel", key="runs-delete-no", width="stretch"):
        st.rerun()


active = [rid for rid in selected if views.get(rid) and views[rid].active]
theirs = [rid for rid in selected if not may_act(state.actor(), by_id[rid].get("owner") or "")]
if a2.button(f"Delete {len(selected)} selected", icon=":material/delete:", key="runs-delete",
             disabled=bool(active or theirs),
             help="Only your own runs can be deleted." if theirs else
             "Stop running runs first." if active else "Asks for confirmation."):
    confirm_delete(selected)
if theirs:
    a3.caption("Some selected runs are another user's (or the command line's): they are read-only to you.")
elif active:
    a3.caption("Runs still queued or running cannot be deleted: stop them on the Experiment page first.")
who_opens = "you and the teacher only: it reads your own data" if is_private(row["config"]) else "anyone"
a3.markdown(f"Link to this run (opens it read-only for {who_opens}): `{share.run_link(run_id)}`")
