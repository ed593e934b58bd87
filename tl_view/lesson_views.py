"""The Lessons page's pure parts: which runs belong to a lesson, what its next stage is, and its picture.

No Streamlit here. A run is the dict `tl_core.lessons.collect` returns ({"config", "summary", "metrics"}), plus
"evaluation" (evaluation.json) where the page could read it. Runs of one lesson share one experiment id
(`tl_core.identity.new_lesson`), so the Runs page shows them together and any tab finds a lesson's latest runs
again; each run's arm says what it is in the picture. Names are only drawn, never matched.

Every figure builder takes whatever runs exist — queued, half-trained, finished — and draws what they have:
curves grow epoch by epoch, bars appear as runs finish.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tl_core.config import RunConfig
from tl_core.records.run_view import RunView
from tl_core.status import Status
from tl_view import charts, fmt, theme
from tl_view.confusion_null import null_band_for

Run = dict[str, Any]
TEACHER_COLOR = "#4b5563"
WAITING_TEXT = "The picture fills in as the runs finish."


# ---------------------------------------------------------------------------------------------- words


def minutes_text(minutes: float) -> str:
    return f"about {minutes:g} minute{'s' if minutes != 1 else ''} on a CPU"


def verdict_mark(met: bool | None) -> str:
    """A coloured badge for Streamlit markdown: the claim showed, did not show, or the runs are not in yet."""
    return {True: ":green-badge[✓ as predicted]", False: ":red-badge[✗ not this time]",
            None: ":gray-badge[… waiting]"}[met]


def status_text(run: Run, live: RunView | None = None) -> str:
    """'queued — position 3', 'epoch 4 of 8', 'finished — 83.1%', 'failed — why'."""
    status = live.status if live is not None else Status.of(run["summary"].get("status", "queued"))
    if status is Status.QUEUED:
        position = live.queue_position if live is not None else None
        return f"waiting — position {position} in the queue" if position else "waiting in the queue"
    if status is Status.RUNNING:
        epochs = run["config"].get("epochs") or 1
        if live is not None and live.stage == "pretrain":
            return "pretraining on task A (cached for later runs)"
        done = len(live.history) if live is not None else len(run.get("metrics") or [])
        return f"training — epoch {min(done + 1, epochs)} of {epochs}"
    if status is Status.FINISHED:
        return f"finished — {fmt.pct(run['summary'].get('target_acc'))}"
    reason = run["summary"].get("reason") or (live.summary.get("reason") if live is not None else "") or ""
    return f"{status.value} — {reason}".rstrip(" —")


def status_rows(runs: Sequence[Run], live: dict[str, RunView | None] | None = None) -> list[dict]:
    live = live or {}
    rows = []
    for run in runs:
        rows.append({"run": run["config"].get("name") or run["config"].get("strategy"),
                     "status": status_text(run, live.get(run["summary"].get("run_id", ""))),
                     "target accuracy": run["summary"].get("target_acc"),
                     "time": fmt.seconds(run["summary"].get("seconds"))})
    return rows


# ---------------------------------------------------------------------------------------------- pictures


def _finished(runs: Sequence[Run]) -> list[Run]:
    return [r for r in runs if r["summary"].get("status") == "finished" and r["summary"].get("target_acc") is not None]


def _name(run: Run) -> str:
    """The label drawn for a run (never used to tell runs apart: that is `_arm`)."""
    return run["config"].get("name") or run["config"].get("strategy", "")


def _arm(run: Run) -> str:
    return run["config"].get("arm", "")


def _acc(run: Run) -> float:
    return float(run["summary"]["target_acc"])


def _waiting(fig: go.Figure, text: str = WAITING_TEXT) -> None:
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font=dict(size=15, color=theme.CHANCE_COLOR))


def _title(fig: go.Figure, text: str) -> None:
    fig.update_layout(title=dict(text=text, x=0, xanchor="left", font=dict(size=16)))


def _run_color(run: Run) -> tuple[str, str]:
    """(colour, dash): without transfer orange dashed, a linear probe (only the head trains) green, with
    transfer blue — the colours of the Experiment page."""
    config = RunConfig.from_dict(run["config"])
    if not config.transfers:
        return theme.WITHOUT_COLOR, "dash"
    if config.strategy == "linear-probe":
        return theme.HEAD_COLOR, "solid"
    return theme.WITH_COLOR, "solid"


def curves_figure(runs: Sequence[Run], *, height: int = 400) -> go.Figure:
    """Why transfer: target accuracy per epoch, one line per run (they grow while the runs train)."""
    curves = []
    for run in runs:
        color, dash = _run_color(run)
        curves.append(charts.Curve(_name(run), run.get("metrics") or [], color, dash=dash))
    epochs = max([r["config"].get("epochs") or 1 for r in runs] or [1])
    fig = charts.metric_chart(curves, "target_acc", epochs=epochs, height=height, uirevision="lesson-curves",
                              title="Target accuracy per epoch", y_range=[0, 1.02])
    fig.update_layout(showlegend=True)  # named from the first point on, so the colours are never a riddle
    return fig


def _labels_per_class(run: Run) -> float | None:
    budget = run["config"].get("labels_per_class")
    if budget is not None:
        return float(budget)
    classes = (run.get("evaluation") or {}).get("classes")
    labelled = run["summary"].get("labelled_examples")
    return labelled / len(classes) if labelled and classes else None


def labels_figure(runs: Sequence[Run], *, height: int = 400) -> go.Figure:
    """How many labels: target accuracy against labelled images per class (log x), with and without transfer."""
    fig = go.Figure()
    ticks: dict[float, str] = {}
    for arm, label, color, dash in (("with", "with transfer", theme.WITH_COLOR, "solid"),
                                    ("without", "without transfer", theme.WITHOUT_COLOR, "dash")):
        points = []
        for run in _finished(runs):
            if _arm(run) != arm:
                continue
            x = _labels_per_class(run)
            if x is None:
                continue
            points.append((x, _acc(run)))
            all_labels = run["config"].get("labels_per_class") is None
            ticks[x] = f"all ({x:.0f})" if all_labels else f"{x:g}"
        points.sort()
        fig.add_trace(go.Scatter(
            x=[p[0] for p in points], y=[p[1] for p in points], name=label, mode="lines+markers",
            line=dict(color=color, width=3, dash=dash), marker=dict(size=9),
            hovertemplate=f"{label}<br>%{{x:.0f}} labels per class<br>target accuracy %{{y:.1%}}<extra></extra>"))
    charts.base_layout(fig, height, "lesson-labels")
    _title(fig, "Target accuracy against labels per class")
    fig.update_xaxes(type="log", title_text="labelled images per class (log scale)",
                     tickvals=sorted(ticks) or None, ticktext=[ticks[k] for k in sorted(ticks)] or None)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", title_text="target test accuracy")
    if not ticks:
        _waiting(fig)
    return fig


def freeze_figure(runs: Sequence[Run], *, height: int = 400) -> go.Figure:
    """Which layers: target accuracy against the number of frozen layer groups; scratch as a dashed line."""
    done = _finished(runs)
    frozen = sorted((int(r["config"].get("freeze", 0)), _acc(r)) for r in done if _arm(r) == "freeze")
    fig = go.Figure(go.Scatter(
        x=[k for k, _ in frozen], y=[a for _, a in frozen], name="transferred, first K groups frozen",
        mode="lines+markers", line=dict(color=theme.WITH_COLOR, width=3), marker=dict(size=10),
        hovertemplate="K = %{x} frozen groups<br>target accuracy %{y:.1%}<extra></extra>"))
    scratch = next((r for r in done if _arm(r) == "scratch"), None)
    if scratch is not None:
        fig.add_hline(y=_acc(scratch), line=dict(color=theme.WITHOUT_COLOR, width=2.5, dash="dash"),
                      annotation_text=f"scratch {fmt.pct(_acc(scratch))}", annotation_position="bottom right",
                      annotation_font=dict(color=theme.WITHOUT_COLOR, size=13))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="scratch (no transfer)",
                                 line=dict(color=theme.WITHOUT_COLOR, width=2.5, dash="dash")))
    depths = sorted({int(r["config"].get("freeze", 0)) for r in runs if _arm(r) == "freeze"}) or [0, 4]
    charts.base_layout(fig, height, "lesson-freeze")
    _title(fig, "Target accuracy against frozen layer groups")
    fig.update_xaxes(title_text="layer groups frozen (K) — the rest is fine-tuned", dtick=1,
                     range=[min(depths) - 0.3, max(depths) + 0.3])
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", title_text="target test accuracy")
    if not done:
        _waiting(fig)
    return fig


def _bars(runs: Sequence[Run], title: str, uirevision: str, height: int, colors: dict[str, str] | None = None,
          reference: str | None = None, label=_name) -> go.Figure:
    done = _finished(runs)
    colors = colors or {}
    fig = go.Figure(go.Bar(
        x=[label(r) for r in done], y=[_acc(r) for r in done],
        marker_color=[colors.get(_arm(r)) or _run_color(r)[0] for r in done],
        text=[fmt.pct(_acc(r)) for r in done], textposition="outside", showlegend=False,
        hovertemplate="%{x}<br>target accuracy %{y:.1%}<extra></extra>"))
    ref = next((r for r in done if _arm(r) == reference), None)
    if ref is not None:
        fig.add_hline(y=_acc(ref), line=dict(color=theme.WITHOUT_COLOR, width=2, dash="dash"))
    charts.base_layout(fig, height, uirevision)
    _title(fig, title)
    fig.update_yaxes(range=[0, 1.12], tickformat=".0%", title_text="target test accuracy")
    fig.update_xaxes(type="category")
    if not done:
        _waiting(fig)
    return fig


def domain_figures(runs: Sequence[Run], *, height: int = 380) -> list[go.Figure]:
    """Domain shift: target accuracy of source-only and DANN (bars), and domain-confusion accuracy per epoch
    with the 0.5 line (a separate linear classifier that tells source features from target features)."""
    colors = {"source-only": theme.WITHOUT_COLOR, "dann": theme.WITH_COLOR}
    bars = _bars(runs, "Target accuracy (target labels never seen)", "lesson-domain-acc", height, colors)
    curves = [charts.Curve(_name(r), r.get("metrics") or [], colors.get(_arm(r), theme.run_color(i)),
                           dash="dash" if _arm(r) == "source-only" else "solid") for i, r in enumerate(runs)]
    epochs = max([r["config"].get("epochs") or 1 for r in runs] or [1])
    confusion = charts.domain_confusion_chart(curves, epochs=epochs, height=height, uirevision="lesson-domain-dc",
                                              title="Domain-confusion accuracy per epoch",
                                              null_band=null_band_for([c.history for c in curves]))
    return [bars, confusion]


def distill_figure(runs: Sequence[Run], *, height: int = 400) -> go.Figure:
    """Distillation: accuracy and parameter count side by side for the teacher and the two students."""
    done = _finished(runs)
    order = {"teacher": 0, "distilled": 1, "labels-only": 2}
    done.sort(key=lambda r: order.get(_arm(r), 9))
    colors = [TEACHER_COLOR if _arm(r) == "teacher" else
              theme.WITH_COLOR if _arm(r) == "distilled" else theme.WITHOUT_COLOR for r in done]
    names = [_name(r) for r in done]
    params = [r["summary"].get("model_params") for r in done]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Target accuracy", "Parameters (log scale)"),
                        horizontal_spacing=0.12)
    fig.add_trace(go.Bar(x=names, y=[_acc(r) for r in done], marker_color=colors, showlegend=False,
                         text=[fmt.pct(_acc(r)) for r in done], textposition="outside",
                         hovertemplate="%{x}<br>target accuracy %{y:.1%}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=[p or None for p in params], marker_color=colors, showlegend=False,
                         text=[fmt.count(p) for p in params], textposition="outside",
                         hovertemplate="%{x}<br>%{y:,.0f} parameters<extra></extra>"), row=1, col=2)
    charts.base_layout(fig, height, "lesson-distill")
    fig.update_yaxes(range=[0, 1.12], tickformat=".0%", row=1, col=1)
    known = [p for p in params if p]
    if known:
        fig.update_yaxes(type="log", range=[math.log10(min(known)) - 0.5, math.log10(max(known)) + 0.6], row=1, col=2)
    fig.update_xaxes(type="category")
    if not done:
        _waiting(fig)
    return fig


def negative_figure(runs: Sequence[Run], *, height: int = 400) -> go.Figure:
    """Negative transfer: each run's target accuracy as a bar, scratch also as a dashed line to compare with."""
    done = _finished(runs)
    colors = {_arm(r): (theme.WITH["val_acc"] if _arm(r) == "fine-tuned" else theme.WITH_COLOR) for r in done}
    fig = _bars(runs, "Target accuracy: transfer from an unrelated task against scratch", "lesson-negative", height,
                colors, reference="scratch", label=lambda r: _name(r).replace(", ", ",<br>", 1))  # two lines a bar
    fig.update_xaxes(tickangle=0)
    return fig


def lesson_figures(picture: str, runs: Sequence[Run]) -> list[go.Figure]:
    """The lesson's picture from whatever runs exist (one or two figures)."""
    if picture == "curves":
        return [curves_figure(runs)]
    if picture == "labels":
        return [labels_figure(runs)]
    if picture == "freeze":
        return [freeze_figure(runs)]
    if picture == "domain":
        return domain_figures(runs)
    if picture == "distill":
        return [distill_figure(runs)]
    if picture == "negative":
        return [negative_figure(runs)]
    raise KeyError(f"No picture kind {picture!r}")
