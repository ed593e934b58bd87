"""The Class view's words and grouping: every student's runs of one lesson or experiment, grouped by what they
computed, students named by number (never by id)."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from tl_core.runs import identity
from tl_core.runs.fingerprint import LABELS
from tl_view import charts, theme

KEYS = ("source", "target", "backbone", "weights", "strategy", "freeze", "labels_per_class", "epochs", "lr", "seed")


def topic_of(row: dict) -> str:
    """'lesson:<key>' for a lesson's runs, 'experiment' for the Experiment page's, '' for the rest."""
    key = identity.lesson_key(row.get("experiment") or "")
    if key:
        return f"lesson:{key}"
    parsed = identity.parse(row.get("experiment") or "")
    if parsed is None:
        return "experiment" if row.get("role") == identity.Role.MAIN else ""
    return "experiment" if parsed.kind in (identity.Kind.PAIR, identity.Kind.VERSUS) else ""


def student_names(rows: list[dict]) -> dict[str, str]:
    """Owner id → 'student 1', 'student 2', … in the order they first ran something (oldest first)."""
    names: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r.get("created") or 0):
        owner = row.get("owner") or ""
        if owner not in names:
            names[owner] = "command line" if not owner else f"student {sum(1 for o in names if o) + 1}"
    return names


def configuration(row: dict) -> tuple:
    config = {k: v for k, v in row["config"].items() if k not in LABELS}
    return tuple((k, repr(config.get(k))) for k in sorted(config))


def describe_configuration(config: dict) -> str:
    labels = config.get("labels_per_class")
    return (f"{config.get('strategy')} · {config.get('backbone')} ({config.get('weights')} weights, freeze "
            f"{config.get('freeze')}) · {config.get('source')} → {config.get('target')} · "
            f"{'all' if labels is None else labels} labels/class · {config.get('epochs')} epochs · lr "
            f"{config.get('lr'):g} · seed {config.get('seed')}")


def group_by_configuration(rows: list[dict]) -> list[list[dict]]:
    """Runs that computed the same thing together; the largest group first."""
    groups: OrderedDict[tuple, list[dict]] = OrderedDict()
    for row in sorted(rows, key=lambda r: r.get("created") or 0):
        groups.setdefault(configuration(row), []).append(row)
    return sorted(groups.values(), key=len, reverse=True)


def plural(n: int, word: str) -> str:
    """'1 student', '2 students'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def headline(runs: int, students: int, groups: int, grouped_by: str) -> str:
    """'9 runs by 1 student, in 3 arms.'"""
    return f"{plural(runs, 'run')} by {plural(students, 'student')}, in {plural(groups, grouped_by)}."


def overlay_figure(entries: Sequence[tuple[str, str, Sequence[Mapping], bool]], metric: str, *, height: int = 420,
                   uirevision: str = "class-overlay", styles: Mapping[str, tuple[str, str]] | None = None
                   ) -> go.Figure:
    """Every run in one chart: (group, who, history, without) per run, one colour per group (an arm, a
    configuration), dashed for runs without transfer, one legend entry per group; hovering a line says whose run
    it is. `styles` gives groups their (colour, dash) — a lesson's arms in the colours of its own picture."""
    fig = go.Figure()
    label = charts.METRIC_LABELS.get(metric, metric)
    fraction = metric in charts.FRACTION_METRICS
    colors: dict[str, str] = {}
    for group, who, history, without in entries:
        first = group not in colors
        colors.setdefault(group, styles[group][0] if styles else theme.run_color(len(colors)))
        dash = styles[group][1] if styles else "dash" if without else "solid"
        curve = charts.Curve(group, history, colors[group])
        x, y = curve.series(metric)
        fig.add_trace(go.Scatter(
            x=x, y=y, name=group, legendgroup=group, showlegend=first, mode="lines+markers",
            line=dict(color=colors[group], width=1.8, dash=dash), marker=dict(size=5),
            opacity=0.85,
            hovertemplate=f"{group}<br>{who}<br>epoch %{{x}}<br>{label} "
                          f"%{{y:{'.1%' if fraction else '.3g'}}}<extra></extra>"))
    charts.base_layout(fig, height, uirevision)
    fig.update_layout(title=dict(text=f"{label.capitalize()} per epoch — every run", x=0, font=dict(size=16)))
    fig.update_xaxes(title_text="epoch", dtick=1)
    fig.update_yaxes(title_text=label, tickformat=".0%" if fraction else None,
                     range=[0, 1.02] if fraction else None)
    return fig
