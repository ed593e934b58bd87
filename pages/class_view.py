"""Class view (teacher only): every student's runs of one lesson or experiment side by side, grouped by
configuration — their curves in one chart and their final accuracy."""
import pandas as pd
import streamlit as st

from tl_core.lessons import LESSONS
from tl_view import charts, fmt
from tl_view.class_view import describe_configuration, group_by_configuration, student_names, topic_of
from tl_view.theme import run_color
from tl_ui import nav, state
from tl_ui.pickers import all_runs
from tl_ui.widgets import chart

nav.page_guard(__file__)
manager = state.manager()

st.title("Class view")
if not state.is_teacher():
    st.info("The Class view is for the teacher: unlock teacher mode in the sidebar with the server's token.")
    st.stop()

rows = [r for r in all_runs(manager, limit=5000) if topic_of(r)]
titles = {f"lesson:{l.key}": l.title for l in LESSONS} | {"experiment": "Experiment page"}
topics = [t for t in titles if any(topic_of(r) == t for r in rows)]
if not topics:
    st.info("No student has run a lesson or an experiment yet.")
    st.stop()
topic = st.selectbox("Lesson or experiment", topics, format_func=titles.get, key="class-topic")
chosen = [r for r in rows if topic_of(r) == topic]
names = student_names(chosen)
metric = st.segmented_control("Metric", ["target_acc", "val_acc", "train_loss", "domain_confusion_acc"],
                              default="target_acc", key="class-metric",
                              format_func=lambda m: charts.METRIC_LABELS.get(m, m)) or "target_acc"
st.caption(f"{len(chosen)} runs by {len(names)} students, in {len(group_by_configuration(chosen))} configurations. "
           "Identical submissions were computed once and shared.")

for i, group in enumerate(group_by_configuration(chosen)):
    with st.container(border=True):
        st.markdown(f"**{describe_configuration(group[0]['config'])}**")
        views = [manager.view(r["run_id"]) for r in group]
        curves = [charts.Curve(f"{names[r.get('owner') or '']} · {r['run_id'][-6:]}", v.history if v else [],
                               run_color(j)) for j, (r, v) in enumerate(zip(group, views))]
        left, right = st.columns([1.6, 1])
        with left:
            chart(charts.overlay_curves(curves, metric, height=280, uirevision=f"class-{i}-{metric}"),
                  key=f"class-chart-{i}")
        with right:
            st.dataframe(pd.DataFrame([{
                "student": names[r.get("owner") or ""],
                "status": v.status.label if v else r["status"],
                "target acc": fmt.pct(v.target_acc if v else r["target_acc"]),
                "shared": "yes" if (v.summary if v else r["summary"]).get("shared_from") else "",
            } for r, v in zip(group, views)]), hide_index=True, width="stretch")
