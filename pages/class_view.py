"""Class view (teacher only): every student's runs of one lesson or experiment together — the lesson's own
pictures over everyone's runs, every run in one chart coloured by arm, and the lesson's verdict per student."""
import pandas as pd
import streamlit as st

from tl_core import lessons
from tl_core.lessons import LESSONS
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status
from tl_ui import nav, state
from tl_ui.pickers import all_runs
from tl_ui.widgets import chart
from tl_view import charts, fmt, roles
from tl_view import lesson_views as lv
from tl_view.class_view import (describe_configuration, group_by_configuration, headline, overlay_figure, student_names,
                                topic_of)

nav.page_guard(__file__)
manager = state.manager()

st.title("Class view")
if not state.is_teacher():
    if state.teacher_configured():
        st.info("The Class view is for the teacher: unlock teacher mode in the sidebar with the server's token.")
    else:
        st.info("The Class view is for the teacher, and this server was started without a teacher token: start "
                "it with `TL_TEACHER_TOKEN=<a token>` in its environment (or `teacher_token = \"…\"` in "
                "`.streamlit/secrets.toml`), then unlock teacher mode in the sidebar with that token.")
    st.stop()

rows = [r for r in all_runs(manager, limit=5000) if topic_of(r)]
titles = {f"lesson:{l.key}": l.title for l in LESSONS} | {"experiment": "Experiment page"}
topics = [t for t in titles if any(topic_of(r) == t for r in rows)]
if not topics:
    st.info("No student has run a lesson or an experiment yet.")
    st.stop()
topic = st.selectbox("Lesson or experiment", topics, format_func=titles.get, key="class-topic")
chosen = sorted((r for r in rows if topic_of(r) == topic), key=lambda r: r.get("created") or 0)
names = student_names(chosen)
metric = st.segmented_control("Metric", ["target_acc", "val_acc", "train_loss", "domain_confusion_acc"],
                              default="target_acc", key="class-metric",
                              format_func=lambda m: charts.METRIC_LABELS.get(m, m)) or "target_acc"
views = {r["run_id"]: manager.view(r["run_id"]) for r in chosen}


def history(row: dict) -> list[dict]:
    view = views.get(row["run_id"])
    return view.history if view is not None else []


def who(row: dict) -> str:
    return f"{names[row.get('owner') or '']} · seed {row['config'].get('seed')}"


def without(row: dict) -> bool:
    return roles.is_without(RunConfig.from_dict(row["config"]))


def lesson_section(key: str) -> None:
    """The lesson's pictures over every student's runs, then each student's press with its own verdict."""
    lesson = lessons.lesson(key)
    arms = {r["config"].get("arm") or r["strategy"] for r in chosen}
    st.caption(headline(len(chosen), len(names), len(arms), "arm")
               + " Identical submissions were computed once and shared.")
    pooled = lessons.collect([r["run_id"] for r in chosen], manager.store)
    figures = lv.lesson_figures(lesson.picture, pooled)
    st.markdown("**The lesson's picture, every student's runs pooled** (each arm over all its seeds and students)")
    for i, (column, fig) in enumerate(zip(st.columns(len(figures)) if len(figures) > 1 else [st.container()],
                                          figures)):
        with column:
            chart(fig, key=f"class-picture-{i}")
    group_of = lambda r: r["config"].get("name") or r["strategy"]  # noqa: E731
    styles = {group_of(r): lv.run_style(RunConfig.from_dict(r["config"])) for r in chosen}
    distinct = len(set(styles.values())) == len(styles)  # else arms of one role would share a colour: a palette
    chart(overlay_figure([(group_of(r), who(r), history(r), without(r)) for r in chosen], metric,
                         uirevision=f"class-{topic}-{metric}", styles=styles if distinct else None),
          key="class-overlay")
    presses: dict[str, list[dict]] = {}
    for row in chosen:
        presses.setdefault(row["experiment"], []).append(row)
    table = []
    for experiment, group in presses.items():
        finished = sum(1 for r in group if r["status"] == Status.FINISHED)
        ended = all(Status.of(r["status"]).terminal for r in group)
        if ended and finished == len(group):
            judged = lessons.verdict(key, lessons.collect([r["run_id"] for r in group], manager.store))
            verdict = f"{judged.outcome} — {judged.text}"
        else:
            verdict = "no verdict yet: " + ("some runs did not finish" if ended else "runs still going")
        table.append({"student": names[group[0].get("owner") or ""], "started": fmt.when(group[0].get("created")),
                      "runs finished": f"{finished} of {len(group)}", "verdict": verdict})
    st.markdown("**The lesson's verdict for each student's run of it**")
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")


def experiment_section() -> None:
    """Every Experiment-page run in one chart, coloured by configuration, and one table."""
    groups = group_by_configuration(chosen)
    st.caption(headline(len(chosen), len(names), len(groups), "configuration")
               + " Identical submissions were computed once and shared.")
    label = {r["run_id"]: f"{i + 1}. {describe_configuration(g[0]['config'])}" for i, g in enumerate(groups)
             for r in g}
    chart(overlay_figure([(label[r["run_id"]], who(r), history(r), without(r)) for g in groups for r in g], metric,
                         height=480, uirevision=f"class-{topic}-{metric}"), key="class-overlay")
    st.dataframe(pd.DataFrame([{
        "configuration": label[r["run_id"]],
        "student": names[r.get("owner") or ""],
        "status": views[r["run_id"]].status.label if views.get(r["run_id"]) else r["status"],
        "target acc": fmt.pct(views[r["run_id"]].target_acc if views.get(r["run_id"]) else r["target_acc"]),
        "shared": "yes" if (r.get("summary") or {}).get("shared_from") else "",
    } for g in groups for r in g]), hide_index=True, width="stretch")


if topic.startswith("lesson:"):
    lesson_section(topic.split(":", 1)[1])
else:
    experiment_section()
