"""The Lessons page's pure parts: which runs belong to a lesson, what its next stage is, and its picture.

No Streamlit here. A run is the `RunView` record `tl_core.lessons.collect` returns (its config, summary, metrics and
evaluation.json where recorded). Runs of one lesson share one experiment id
(`tl_core.runs.identity.new_lesson`), so the Runs page shows them together and any tab finds a lesson's latest runs
again; each run's arm says what it is in the picture. Names are only drawn, never matched.

Every figure builder takes whatever runs exist — queued, half-trained, finished — and draws what they have:
curves grow epoch by epoch, bars appear as runs finish.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tl_core.analysis.intervals import seed_interval
from tl_core.lessons.claims import finished
from tl_core.records.run_view import RunView
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status
from tl_core.strategies import strategy_class, transfers
from tl_view import charts, fmt, roles, theme
from tl_view.confusion_null import null_band_for, recorded_band_snapshots
from tl_view.start_point import from_the_start

TEACHER_COLOR = "#4b5563"
WAITING_TEXT = "The picture fills in as the runs finish."


# ---------------------------------------------------------------------------------------------- words


VERDICT_MARKS = {"met": ":green-badge[✓ met]", "not met": ":red-badge[✗ not met]",
                 "undecided": ":orange-badge[? undecided]"}


def display_formula(formula: str) -> str:
    """A lesson's LaTeX for `st.latex` (KaTeX display mode): lines broken with \\\\ go inside a `gathered`
    environment, since a bare line break in display mode makes KaTeX warn (newLineInDisplayMode) in the browser."""
    return rf"\begin{{gathered}}{formula}\end{{gathered}}" if "\\\\" in formula else formula


def verdict_mark(outcome: str) -> str:
    """A coloured badge for Streamlit markdown, for a decided verdict only (met, not met, undecided: the rule is
    in `tl_core.analysis.intervals`); while seeds are still running the page shows progress, never a badge."""
    return VERDICT_MARKS[outcome]


def status_text(run: RunView, live: RunView | None = None) -> str:
    """'queued — position 3', 'epoch 4 of 8', 'finished — 83.1%', 'failed — why'."""
    status = live.status if live is not None else Status.of(run.summary.get("status", Status.QUEUED))
    if status is Status.QUEUED:
        position = live.queue_position if live is not None else None
        return f"waiting — position {position} in the queue" if position else "waiting in the queue"
    if status is Status.RUNNING:
        epochs = run.config.epochs or 1
        if live is not None and live.stage == "pretrain":
            return "pretraining on task A (cached for later runs)"
        done = len(live.history) if live is not None else len(run.history or [])
        return f"training — epoch {min(done + 1, epochs)} of {epochs}"
    if status is Status.FINISHED:
        return f"finished — {fmt.pct(run.summary.get('target_acc'))}"
    reason = run.summary.get("reason") or (live.summary.get("reason") if live is not None else "") or ""
    return f"{status.value} — {reason}".rstrip(" —")


def status_rows(runs: Sequence[RunView], live: dict[str, RunView | None] | None = None) -> list[dict]:
    live = live or {}
    rows = []
    for run in runs:
        rows.append({"run": run.label,
                     "status": status_text(run, live.get(run.summary.get("run_id", ""))),
                     "target accuracy": run.summary.get("target_acc"),
                     "time": fmt.seconds(run.summary.get("seconds"))})
    return rows


# ---------------------------------------------------------------------------------------------- pictures


@dataclass(frozen=True)
class Point:
    """One arm's target accuracy over its seeds: the mean and its 95% t-interval over seeds (the mean alone, as a
    zero-width interval, with one seed)."""
    label: str  # the first run's name: drawn, never matched
    runs: tuple[RunView, ...]
    mean: float
    low: float
    high: float


def _points(runs: Sequence[RunView], key=lambda config: config.arm) -> dict[Any, Point]:
    """Finished runs grouped by `key(config)` (the arm, or the arm and a config value), in first-seen order."""
    groups: dict[Any, list[RunView]] = {}
    for run in finished(runs):
        groups.setdefault(key(run.config), []).append(run)
    points = {}
    for k, group in groups.items():
        interval = seed_interval([r.summary["target_acc"] for r in group])
        mean = interval.effect
        low, high = (interval.low, interval.high) if interval.bounded else (mean, mean)
        points[k] = Point(group[0].label, tuple(group), mean, low, high)
    return points


def _errors(points: Sequence[Point]) -> dict:
    return dict(type="data", symmetric=False, array=[p.high - p.mean for p in points],
                arrayminus=[p.mean - p.low for p in points], thickness=1.5, width=5)


def _waiting(fig: go.Figure, text: str = WAITING_TEXT) -> None:
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font=dict(size=15, color=theme.CHANCE_COLOR))


def _title(fig: go.Figure, text: str) -> None:
    fig.update_layout(title=dict(text=text, x=0, xanchor="left", font=dict(size=16)))


def run_style(config: RunConfig) -> tuple[str, str]:
    """(colour, dash): without transfer orange dashed, a linear probe (only the head trains) green, with
    transfer blue — the colours of the Experiment page."""
    if not transfers(config):
        return theme.WITHOUT_COLOR, "dash"
    if not strategy_class(config.strategy).trains_backbone:
        return theme.HEAD_COLOR, "solid"
    return theme.WITH_COLOR, "solid"


def _mean_history(histories: Sequence[Sequence[dict]]) -> list[dict]:
    """Per-epoch rows averaged over an arm's seeds' histories (each epoch over the seeds that have reached it)."""
    by_epoch: dict[int, dict[str, list[float]]] = {}
    for history in histories:
        for row in history:
            cell = by_epoch.setdefault(int(row["epoch"]), {})
            for metric in ("target_acc", "domain_confusion_acc"):
                if row.get(metric) is not None:
                    cell.setdefault(metric, []).append(float(row[metric]))
    return [{"epoch": e, **{m: float(np.mean(v)) for m, v in cell.items()}} for e, cell in sorted(by_epoch.items())]


def _arms(runs: Sequence[RunView]) -> dict[str, list[RunView]]:
    """Every run (finished or not) by arm, in submission order."""
    groups: dict[str, list[RunView]] = {}
    for run in runs:
        groups.setdefault(run.arm, []).append(run)
    return groups


def curves_figure(runs: Sequence[RunView], *, height: int = 400) -> go.Figure:
    """Why transfer: target accuracy per epoch, one line per arm averaged over its seeds (they grow while the
    runs train)."""
    curves = []
    for group in _arms(runs).values():
        color, dash = run_style(group[0].config)
        curves.append(charts.Curve(group[0].label, _mean_history([r.history for r in group]), color, dash=dash))
    epochs = max([r.config.epochs or 1 for r in runs] or [1])
    fig = charts.metric_chart(curves, "target_acc", epochs=epochs, height=height, uirevision="lesson-curves",
                              title="Target accuracy per epoch (mean over seeds)", y_range=[0, 1.02])
    fig.update_layout(showlegend=True)  # named from the first point on, so the colours are never a riddle
    return fig


def _labels_per_class(run: RunView) -> float | None:
    budget = run.config.labels_per_class
    if budget is not None:
        return float(budget)
    classes = (run.evaluation or {}).get("classes")
    labelled = run.summary.get("labelled_examples")
    return labelled / len(classes) if labelled and classes else None


def labels_figure(runs: Sequence[RunView], *, height: int = 400) -> go.Figure:
    """How many labels: target accuracy against labelled images per class (log x), with and without transfer,
    each point the mean over seeds with its 95% interval."""
    fig = go.Figure()
    ticks: dict[float, str] = {}
    for arm, label, color, dash in (("with", "with transfer", theme.WITH_COLOR, "solid"),
                                    ("without", "without transfer", theme.WITHOUT_COLOR, "dash")):
        placed = []
        for point in _points([r for r in runs if r.arm == arm],
                             key=lambda config: config.labels_per_class).values():
            x = _labels_per_class(point.runs[0])
            if x is None:
                continue
            placed.append((x, point))
            all_labels = point.runs[0].config.labels_per_class is None
            ticks[x] = f"all ({x:.0f})" if all_labels else f"{x:g}"
        placed.sort(key=lambda item: item[0])
        fig.add_trace(go.Scatter(
            x=[x for x, _ in placed], y=[p.mean for _, p in placed], name=label, mode="lines+markers",
            error_y=_errors([p for _, p in placed]), line=dict(color=color, width=3, dash=dash),
            marker=dict(size=9),
            hovertemplate=f"{label}<br>%{{x:.0f}} labels per class<br>target accuracy %{{y:.1%}}<extra></extra>"))
    charts.base_layout(fig, height, "lesson-labels")
    _title(fig, "Target accuracy against labels per class (mean over seeds, 95% interval)")
    fig.update_xaxes(type="log", title_text="labelled images per class (log scale)",
                     tickvals=sorted(ticks) or None, ticktext=[ticks[k] for k in sorted(ticks)] or None)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", title_text="target test accuracy")
    if not ticks:
        _waiting(fig)
    return fig


FREEZE_LINES = (("freeze", "close task A (font digits)", theme.WITH_COLOR),
                ("freeze-distant", "distant task A (shapes)", theme.HEAD_COLOR))


def freeze_figure(runs: Sequence[RunView], *, height: int = 400) -> go.Figure:
    """Which layers: target accuracy against the number of frozen layer groups, one line per source (mean over
    seeds, 95% interval); scratch as a dashed line."""
    fig = go.Figure()
    for arm, label, color in FREEZE_LINES:
        points = sorted(_points([r for r in runs if r.arm == arm], key=lambda c: c.freeze).items())
        fig.add_trace(go.Scatter(
            x=[k for k, _ in points], y=[p.mean for _, p in points], name=label, mode="lines+markers",
            error_y=_errors([p for _, p in points]), line=dict(color=color, width=3), marker=dict(size=10),
            hovertemplate=f"{label}<br>K = %{{x}} frozen groups<br>target accuracy %{{y:.1%}}<extra></extra>"))
    scratch = _points(runs).get("scratch")
    if scratch is not None:
        fig.add_hline(y=scratch.mean, line=dict(color=theme.WITHOUT_COLOR, width=2.5, dash="dash"),
                      annotation_text=f"scratch {fmt.pct(scratch.mean)}", annotation_position="bottom right",
                      annotation_font=dict(color=theme.WITHOUT_COLOR, size=13))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="scratch (no transfer)",
                                 line=dict(color=theme.WITHOUT_COLOR, width=2.5, dash="dash")))
    depths = sorted({r.config.freeze for r in runs if r.arm.startswith("freeze")}) or [0, 4]
    charts.base_layout(fig, height, "lesson-freeze")
    _title(fig, "Target accuracy against frozen layer groups (mean over seeds, 95% interval)")
    fig.update_xaxes(title_text="layer groups frozen (K) — the rest is fine-tuned", dtick=1,
                     range=[min(depths) - 0.3, max(depths) + 0.3])
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", title_text="target test accuracy")
    if not finished(runs):
        _waiting(fig)
    return fig


def _bars(runs: Sequence[RunView], title: str, uirevision: str, height: int, colors: dict[str, str] | None = None,
          reference: str | None = None, label=lambda point: point.label, order: Sequence[str] = ()) -> go.Figure:
    """One bar per arm: the mean over its seeds with the 95% interval as an error bar."""
    points = _points(runs)
    arms = sorted(points, key=lambda a: list(order).index(a) if a in order else len(order))
    shown = [points[a] for a in arms]
    colors = colors or {}
    fig = go.Figure(go.Bar(
        x=[label(p) for p in shown], y=[p.mean for p in shown], error_y=_errors(shown),
        marker_color=[colors.get(a) or run_style(points[a].runs[0].config)[0] for a in arms],
        text=[fmt.pct(p.mean) for p in shown], textposition="inside", showlegend=False,
        customdata=[[p.low, p.high, len(p.runs)] for p in shown],
        hovertemplate="%{x}<br>target accuracy %{y:.1%} (95% interval %{customdata[0]:.1%}–%{customdata[1]:.1%}, "
                      "%{customdata[2]} seeds)<extra></extra>"))
    if reference in points:
        fig.add_hline(y=points[reference].mean, line=dict(color=theme.WITHOUT_COLOR, width=2, dash="dash"))
    charts.base_layout(fig, height, uirevision)
    _title(fig, title)
    fig.update_yaxes(range=[0, 1.12], tickformat=".0%", title_text="target test accuracy")
    fig.update_xaxes(type="category")
    if not shown:
        _waiting(fig)
    return fig


def domain_figures(runs: Sequence[RunView], *, height: int = 380) -> list[go.Figure]:
    """Domain shift: target accuracy of DANN and its weight-0 twin (bars, mean over seeds with 95% intervals), and
    domain-confusion accuracy per epoch (mean over seeds) with the 0.5 line (a separate linear classifier that
    tells source features from target features)."""
    arms = _arms(runs)
    without = {arm for arm, group in arms.items() if roles.is_without(group[0].config)}
    colors = {arm: theme.WITHOUT_COLOR if arm in without else theme.WITH_COLOR for arm in arms}
    bars = _bars(runs, "Target accuracy (target labels never seen)", "lesson-domain-acc", height, colors,
                 order=sorted(arms, key=lambda arm: arm not in without))
    # from epoch 0: the pretrained network both arms start from
    curves = [charts.Curve(group[0].label, _mean_history([from_the_start(r.history, r.snapshots) for r in group]),
                           colors[arm], dash="dash" if arm in without else "solid") for arm, group in arms.items()]
    epochs = max([r.config.epochs or 1 for r in runs] or [1])
    band = null_band_for([path for group in arms.values() for run in group[:1]
                          for path in recorded_band_snapshots(run.summary)])
    confusion = charts.domain_confusion_chart(curves, epochs=epochs, height=height, uirevision="lesson-domain-dc",
                                              title="Domain-confusion accuracy per epoch", null_band=band)
    return [bars, confusion]


DISTILL_ORDER = ("teacher", "distilled", "pseudo-labels", "labels-only")
DISTILL_COLORS = {"teacher": TEACHER_COLOR, "distilled": theme.WITH_COLOR, "pseudo-labels": theme.HEAD_COLOR,
                  "labels-only": theme.WITHOUT_COLOR}


def distill_figure(runs: Sequence[RunView], *, height: int = 400) -> go.Figure:
    """Distillation: accuracy (mean over seeds, 95% interval) and parameter count side by side for the teacher
    and the students. Parameters on a linear axis from 0, so a student a quarter of the teacher's size is drawn a
    quarter as tall: the compression is what the panel shows."""
    points = _points(runs)
    arms = [a for a in DISTILL_ORDER if a in points] + [a for a in points if a not in DISTILL_ORDER]
    shown = [points[a] for a in arms]
    colors = [DISTILL_COLORS.get(a, TEACHER_COLOR) for a in arms]
    names = [p.label for p in shown]
    params = [p.runs[0].summary.get("model_params") for p in shown]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Target accuracy", "Parameters"), horizontal_spacing=0.12)
    fig.add_trace(go.Bar(x=names, y=[p.mean for p in shown], error_y=_errors(shown), marker_color=colors,
                         showlegend=False, text=[fmt.pct(p.mean) for p in shown], textposition="inside",
                         textangle=0, insidetextanchor="end",
                         hovertemplate="%{x}<br>target accuracy %{y:.1%}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=[p or None for p in params], marker_color=colors, showlegend=False,
                         text=[fmt.count(p) for p in params], textposition="outside",
                         hovertemplate="%{x}<br>%{y:,.0f} parameters<extra></extra>"), row=1, col=2)
    charts.base_layout(fig, height, "lesson-distill")
    fig.update_yaxes(range=[0, 1.12], tickformat=".0%", row=1, col=1)
    known = [p for p in params if p]
    if known:
        fig.update_yaxes(range=[0, 1.18 * max(known)], tickformat="~s", row=1, col=2)
    fig.update_xaxes(type="category")
    if not shown:
        _waiting(fig)
    return fig


NEGATIVE_ORDER = ("fine-tuned", "related-fine-tuned", "frozen", "scratch")


def negative_figure(runs: Sequence[RunView], *, height: int = 400) -> go.Figure:
    """Negative transfer: each arm's target accuracy as a bar (mean over seeds, 95% interval), scratch also as
    a dashed line to compare with."""
    colors = {"fine-tuned": theme.WITH_COLOR, "related-fine-tuned": theme.HEAD_COLOR, "frozen": theme.WITH["val_acc"]}
    fig = _bars(runs, "Target accuracy: transfer from an unrelated task against scratch", "lesson-negative", height,
                colors, reference="scratch", label=lambda p: p.label.replace(", ", ",<br>", 1),  # two lines a bar
                order=NEGATIVE_ORDER)
    fig.update_xaxes(tickangle=0)
    return fig


# ---------------------------------------------------------------------------------------------- lessons 7–10
# Their arms repeat over seeds: a line is the mean over the seeds that reached each epoch, a bar the mean of the
# finished seeds with each seed as a dot.

ARM_STYLE = {  # arm → (legend label, colour, dash)
    "scratch": ("scratch", theme.WITHOUT_COLOR, "dash"),
    "rotation": ("rotation-pretrained (no labels)", theme.HEAD_COLOR, "solid"),
    "supervised": ("supervised on task A", theme.WITH_COLOR, "solid"),
    "alone": ("target task alone", theme.WITHOUT_COLOR, "dash"),
    "fine-tuned": ("fine-tuned, every layer", theme.WITH_COLOR, "solid"),
    "joint": ("both tasks jointly (multitask)", theme.HEAD_COLOR, "solid"),
    "all-attributes": ("shape, fill and colour", theme.WITH_COLOR, "solid"),
    "fewer-attributes": ("shape and fill only", theme.WITHOUT_COLOR, "solid"),
    "progressive": ("progressive network", theme.HEAD_COLOR, "solid"),
}


def _by_arm(runs: Sequence[RunView], arms: Sequence[str]) -> dict[str, list[RunView]]:
    return {arm: [r for r in runs if r.arm == arm] for arm in arms}


def mean_curve(runs: Sequence[RunView], metric: str) -> tuple[list[int], list[float]]:
    """Per epoch, the mean of `metric` over the runs that have reached that epoch."""
    values: dict[int, list[float]] = {}
    for run in runs:
        for row in run.history or []:
            if row.get(metric) is not None:
                values.setdefault(int(row["epoch"]), []).append(float(row[metric]))
    epochs = sorted(values)
    return epochs, [sum(values[e]) / len(values[e]) for e in epochs]


def _seeds_text(runs: Sequence[RunView]) -> str:
    return f"{len(runs)} seed{'s' if len(runs) != 1 else ''}"


def arm_curves_figure(runs: Sequence[RunView], arms: Sequence[str], title: str, uirevision: str, *,
                      height: int = 400) -> go.Figure:
    """Target accuracy per epoch, one line per arm (mean over its seeds)."""
    fig = go.Figure()
    for arm, group in _by_arm(runs, arms).items():
        label, color, dash = ARM_STYLE[arm]
        x, y = mean_curve(group, "target_acc")
        fig.add_trace(go.Scatter(x=x, y=y, name=f"{label} ({_seeds_text(group)})", mode="lines+markers",
                                 line=dict(color=color, width=3, dash=dash), marker=dict(size=8),
                                 hovertemplate=f"{label}<br>epoch %{{x}}<br>target accuracy %{{y:.1%}}<extra></extra>"))
    epochs = max([r.config.epochs or 1 for r in runs] or [1])
    charts.base_layout(fig, height, uirevision)
    _title(fig, title)
    fig.update_xaxes(title_text="epoch on the target task", range=[0.7, epochs + 0.3], dtick=1)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", title_text="target test accuracy (mean over seeds)")
    if not any(r.history for r in runs):
        _waiting(fig)
    return fig


def self_supervised_figures(runs: Sequence[RunView]) -> list[go.Figure]:
    budget = next((r.config.labels_per_class for r in runs), None)
    title = "Target accuracy per epoch" + (f": {budget} labels per class" if budget else "")
    return [arm_curves_figure(runs, ("scratch", "rotation", "supervised"), title, "lesson-ssl")]


def multitask_figures(runs: Sequence[RunView]) -> list[go.Figure]:
    return [arm_curves_figure(runs, ("alone", "fine-tuned", "joint"),
                              "Label-poor task: target accuracy per epoch", "lesson-multitask")]


def _arm_bars(fig: go.Figure, groups: dict[str, list[RunView]], key: str = "target_acc", **cell) -> None:
    """One bar per arm (mean of its finished seeds, labelled) and one dot per seed."""
    for arm, group in groups.items():
        label, color, _ = ARM_STYLE[arm]
        values = [float(r.summary[key]) for r in finished(group) if r.summary.get(key) is not None]
        if not values:
            continue
        mean = sum(values) / len(values)
        fig.add_trace(go.Bar(x=[label], y=[mean], marker_color=color, showlegend=False, text=[fmt.pct(mean)],
                             textposition="outside", hovertemplate=f"{label}<br>mean %{{y:.1%}}<extra></extra>"),
                      **cell)
        fig.add_trace(go.Scatter(x=[label] * len(values), y=values, mode="markers", showlegend=False,
                                 marker=dict(color="#111827", size=7, symbol="circle-open"),
                                 hovertemplate="one seed: %{y:.1%}<extra></extra>"), **cell)


def zero_shot_figures(runs: Sequence[RunView], *, height: int = 400) -> list[go.Figure]:
    """Accuracy on the held-out classes per attribute set, against chance and the collision cap."""
    from tl_core.lessons.verdicts import collision_cap, zero_shot_setting

    groups = _by_arm(runs, ("all-attributes", "fewer-attributes"))
    fig = go.Figure()
    _arm_bars(fig, groups)
    charts.base_layout(fig, height, "lesson-zero-shot")
    _title(fig, "Accuracy on classes never seen in training")
    some = next((r for r in runs if r.config.target), None)
    if some is not None:
        unseen, _ = zero_shot_setting(some)
        fig.add_hline(y=1 / len(unseen), line=dict(color=theme.CHANCE_COLOR, width=2, dash="dot"),
                      annotation_text=f"chance {fmt.pct(1 / len(unseen))}", annotation_position="top left")
        partial = next((r for r in groups["fewer-attributes"]), None)
        if partial is not None:
            cap = collision_cap(partial.config.target, *zero_shot_setting(partial))
            # Named in the legend, not on the line: a bar's own label sits right there when it reaches the cap.
            fig.add_hline(y=cap, line=dict(color=theme.WITHOUT_COLOR, width=2, dash="dash"))
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=theme.WITHOUT_COLOR, width=2,
                                                                                 dash="dash"),
                                     name=f"best possible without colour {fmt.pct(cap)} (signatures collide)"))
            fig.update_layout(showlegend=True)
    fig.update_yaxes(range=[0, 1.12], tickformat=".0%", title_text="unseen-class test accuracy")
    fig.update_xaxes(type="category", title_text="attributes the classes are described by")
    if not finished(runs):
        _waiting(fig)
    return [fig]


def forgetting_figures(runs: Sequence[RunView], *, height: int = 400) -> list[go.Figure]:
    """Task A's accuracy over task B's epochs (epoch 0: before B), and task B's accuracy with parameter counts."""
    groups = _by_arm(runs, ("fine-tuned", "progressive"))
    curves = go.Figure()
    for arm, group in groups.items():
        label, color, dash = ARM_STYLE[arm]
        x, y = mean_curve(group, "source_acc")
        starts = [float(r.summary["source_acc_start"]) for r in group
                  if r.summary.get("source_acc_start") is not None]
        if starts:
            x, y = [0, *x], [sum(starts) / len(starts), *y]
        curves.add_trace(go.Scatter(x=x, y=y, name=f"{label} ({_seeds_text(group)})", mode="lines+markers",
                                    line=dict(color=color, width=3, dash=dash), marker=dict(size=8),
                                    hovertemplate=f"{label}<br>after epoch %{{x}} on B<br>task A accuracy "
                                                  f"%{{y:.1%}}<extra></extra>"))
    epochs = max([r.config.epochs or 1 for r in runs] or [1])
    first = True
    for arm, group in groups.items():  # the end of B, measured again with A's own BatchNorm statistics
        label, color, _ = ARM_STYLE[arm]
        restored = [float(r.summary["source_acc_own_bn"]) for r in finished(group)
                    if r.summary.get("source_acc_own_bn") is not None]
        if restored:
            curves.add_trace(go.Scatter(
                x=[epochs + 0.4], y=[sum(restored) / len(restored)], mode="markers", showlegend=first,
                name="after B, A's BatchNorm statistics restored", legendgroup="restored",
                marker=dict(size=14, symbol="diamond-open", color=color, line=dict(width=3)),
                hovertemplate=f"{label}<br>after B, A's BatchNorm statistics restored<br>task A accuracy "
                              f"%{{y:.1%}}<extra></extra>"))
            first = False
    charts.base_layout(curves, height, "lesson-forgetting-a")
    _title(curves, "Task A accuracy while learning task B")
    curves.update_xaxes(title_text="epochs trained on task B (0: before)", range=[-0.3, epochs + 0.7], dtick=1)
    curves.update_yaxes(range=[0, 1.02], tickformat=".0%", title_text="task A test accuracy (mean over seeds)")
    bars = go.Figure()
    _arm_bars(bars, groups)
    params = {arm: next((r.summary.get("model_params") for r in group if r.summary.get("model_params")), None)
              for arm, group in groups.items()}
    bars.update_xaxes(type="category", ticktext=[f"{ARM_STYLE[a][0]}<br>{fmt.count(p)} parameters" if p else
                                                 ARM_STYLE[a][0] for a, p in params.items()],
                      tickvals=[ARM_STYLE[a][0] for a in params])
    charts.base_layout(bars, height, "lesson-forgetting-b")
    _title(bars, "Task B accuracy, and the network's size")
    bars.update_yaxes(range=[0, 1.12], tickformat=".0%", title_text="task B test accuracy")
    if not any(r.history for r in runs):
        _waiting(curves)
        _waiting(bars)
    return [curves, bars]


PICTURES: dict[str, Callable[[Sequence[RunView]], list[go.Figure]]] = {  # a Lesson's `picture` → its figures
    "curves": lambda runs: [curves_figure(runs)],
    "labels": lambda runs: [labels_figure(runs)],
    "freeze": lambda runs: [freeze_figure(runs)],
    "domain": domain_figures,
    "distill": lambda runs: [distill_figure(runs)],
    "negative": lambda runs: [negative_figure(runs)],
    "self-supervised": self_supervised_figures,
    "zero-shot": zero_shot_figures,
    "multitask": multitask_figures,
    "forgetting": forgetting_figures,
}


def lesson_figures(picture: str, runs: Sequence[RunView]) -> list[go.Figure]:
    """The lesson's picture from whatever runs exist (one or two figures)."""
    if picture not in PICTURES:
        raise KeyError(f"No picture kind {picture!r}: choose one of {', '.join(PICTURES)}")
    return PICTURES[picture](runs)
