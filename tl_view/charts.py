"""Pure plotly figure builders: plain data in (per-epoch rows, coordinates, matrices), a `go.Figure` out.

No Streamlit and no tl_core here, so every chart is unit-tested on its own. Each builder sets a fixed height
and a `uirevision`, so a live page that redraws the figure every few seconds keeps the user's zoom and legend
choices and does not jump.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tl_view import theme

METRIC_LABELS = {
    "target_acc": "target test accuracy",
    "val_acc": "validation accuracy",
    "train_acc": "training accuracy",
    "train_loss": "training loss",
    "domain_confusion_acc": "domain-confusion accuracy",
    "a_distance": "proxy A-distance",
    "domain_head_acc": "DANN domain-head accuracy",
    "source_acc": "task A test accuracy",
    "dann_lambda": "DANN λ",
    "lr": "learning rate",
    "images_per_s": "images per second",
    "seconds": "seconds per epoch",
}
SHORT = {"target_acc": "target", "val_acc": "validation", "train_acc": "training"}
FRACTION_METRICS = {"target_acc", "val_acc", "train_acc", "domain_confusion_acc", "domain_head_acc", "source_acc"}
ACCURACY_METRICS = ("target_acc", "val_acc", "train_acc")
NULL_BAND_LABEL = "no shift (95% of shuffled domain labels)"
_WIDTH = {"target_acc": 3.2, "val_acc": 2.0, "train_acc": 1.6}
_MARKER = {"target_acc": 7, "val_acc": 5, "train_acc": 0}


@dataclass(frozen=True)
class Curve:
    """One run's per-epoch rows drawn as lines: one colour per run, or one shade per metric (with/without)."""

    label: str
    history: Sequence[Mapping]
    color: str = theme.WITH_COLOR
    shades: Mapping[str, str] = field(default_factory=dict)
    dash: str = "solid"

    def color_of(self, metric: str) -> str:
        return self.shades.get(metric, self.color)

    def series(self, metric: str) -> tuple[list[int], list[float]]:
        """(epochs, values) of the rows that have `metric` (missing and None values are left out)."""
        rows = [r for r in self.history if r.get(metric) is not None]
        return [int(r["epoch"]) for r in rows], [float(r[metric]) for r in rows]


def with_transfer(history: Sequence[Mapping], label: str = "with transfer") -> Curve:
    return Curve(label, history, theme.WITH_COLOR, theme.WITH, "solid")


def without_transfer(history: Sequence[Mapping], label: str = "without transfer") -> Curve:
    return Curve(label, history, theme.WITHOUT_COLOR, theme.WITHOUT, "dash")


def base_layout(fig: go.Figure, height: int, uirevision: str, *, legend_below: bool = True) -> go.Figure:
    """The look every chart shares: white, readable fonts, fixed height, legend under the plot."""
    fig.update_layout(
        height=height,
        uirevision=uirevision,
        template="plotly_white",
        font=theme.FONT,
        margin=dict(l=10, r=10, t=40, b=10),
        hovermode="closest",
        legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0) if legend_below else dict(),
        hoverlabel=dict(font_size=13),
    )
    fig.update_xaxes(gridcolor=theme.GRID, zeroline=False)
    fig.update_yaxes(gridcolor=theme.GRID, zeroline=False)
    return fig


def _epoch_range(curves: Sequence[Curve], epochs: int | None, metric: str = "epoch") -> list[float]:
    """From the first epoch `metric` is drawn at (0 where a curve starts before training, tl_view.start_point) to
    the last."""
    drawn = [e for c in curves for e in c.series(metric)[0]]
    first, last = min([1] + drawn), max([epochs or 1] + drawn)
    return [first - 0.3, last + 0.3]


def _waiting(fig: go.Figure, text: str) -> None:
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font=dict(size=15, color=theme.CHANCE_COLOR))


def learning_curves(curves: Sequence[Curve], *, epochs: int | None = None, height: int = 380,
                    uirevision: str = "learning-curves", metrics: Sequence[str] = ACCURACY_METRICS) -> go.Figure:
    """Training loss (left) and accuracy (right: target test, validation, training) per epoch for each run.

    The x axis spans `epochs` from the start, so a live chart fills in instead of rescaling every epoch.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Training loss", "Accuracy"), horizontal_spacing=0.09)
    for curve in curves:
        x, y = curve.series("train_loss")
        fig.add_trace(go.Scatter(
            x=x, y=y, name=f"{curve.label} · loss", legendgroup=curve.label, showlegend=False, mode="lines+markers",
            line=dict(color=curve.color_of("train_loss"), width=2.6, dash=curve.dash), marker=dict(size=6),
            hovertemplate=f"{curve.label}<br>epoch %{{x}}<br>training loss %{{y:.3f}}<extra></extra>"), row=1, col=1)
        for metric in metrics:
            x, y = curve.series(metric)
            fig.add_trace(go.Scatter(
                x=x, y=y, name=f"{curve.label} · {SHORT.get(metric, metric)}", legendgroup=curve.label,
                mode="lines+markers" if _MARKER.get(metric) else "lines",
                line=dict(color=curve.color_of(metric), width=_WIDTH.get(metric, 2), dash=curve.dash),
                marker=dict(size=_MARKER.get(metric, 5)),
                hovertemplate=(f"{curve.label}<br>epoch %{{x}}<br>{METRIC_LABELS.get(metric, metric)} "
                               "%{y:.1%}<extra></extra>")), row=1, col=2)
    base_layout(fig, height, uirevision)
    fig.update_layout(margin=dict(t=58),  # room for the subplot titles under plotly's toolbar
                      legend=dict(x=0.5, xanchor="center"))  # the legend belongs to both panels: centred under them
    xrange = _epoch_range(curves, epochs)
    fig.update_xaxes(title_text="epoch", range=xrange, dtick=1 if xrange[1] <= 15 else None)
    fig.update_yaxes(title_text="loss", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", range=[0, 1.02], tickformat=".0%", row=1, col=2)
    if not any(c.history for c in curves):
        _waiting(fig, "The curves appear after the first epoch.")
    return fig


def metric_chart(curves: Sequence[Curve], metric: str, *, epochs: int | None = None, height: int = 320,
                 uirevision: str | None = None, chance: float | None = None, chance_text: str = "",
                 title: str | None = None, y_range: Sequence[float] | None = None) -> go.Figure:
    """One metric per epoch, one line per run, with an optional horizontal reference line (e.g. chance 0.5)."""
    fig = go.Figure()
    label = METRIC_LABELS.get(metric, metric)
    fraction = metric in FRACTION_METRICS
    for curve in curves:
        x, y = curve.series(metric)
        fig.add_trace(go.Scatter(
            x=x, y=y, name=curve.label, mode="lines+markers",
            line=dict(color=curve.color_of(metric), width=2.8, dash=curve.dash), marker=dict(size=7),
            hovertemplate=f"{curve.label}<br>epoch %{{x}}<br>{label} "
                          f"%{{y:{'.1%' if fraction else '.3g'}}}<extra></extra>"))
    if chance is not None:
        fig.add_hline(y=chance, line=dict(color=theme.CHANCE_COLOR, width=1.5, dash="dot"),
                      annotation_text=chance_text, annotation_position="bottom right",
                      annotation_font=dict(color=theme.CHANCE_COLOR, size=12))
    base_layout(fig, height, uirevision or f"metric-{metric}")
    fig.update_layout(title=dict(text=title or label.capitalize(), x=0, xanchor="left", font=dict(size=16)))
    xrange = _epoch_range(curves, epochs, metric)
    fig.update_xaxes(title_text="epoch", range=xrange, dtick=1 if xrange[1] <= 15 else None)
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    fig.update_yaxes(title_text=label, tickformat=".0%" if fraction else None)
    if not any(c.series(metric)[0] for c in curves):
        _waiting(fig, "Appears after the first epoch.")
    return fig


def domain_confusion_chart(curves: Sequence[Curve], *, epochs: int | None = None, height: int = 320,
                           uirevision: str = "domain-confusion", metric: str = "domain_confusion_acc",
                           title: str | None = None, null_band: tuple[float, float] | None = None) -> go.Figure:
    """How well a linear classifier tells source from target features, per epoch. `null_band` (low, high): the
    range the same probe reaches with no shift at all (drawn as a band; without it, the bare 0.5 line)."""
    values = [v for c in curves for v in c.series(metric)[1]]
    low = min([0.45] + [v - 0.03 for v in values] + ([null_band[0] - 0.02] if null_band else []))
    if null_band is None:
        return metric_chart(curves, metric, epochs=epochs, height=height, uirevision=uirevision, chance=0.5,
                            chance_text="0.5 = domains look the same", title=title, y_range=[low, 1.02])
    fig = metric_chart(curves, metric, epochs=epochs, height=height, uirevision=uirevision, title=title,
                       y_range=[low, 1.02])
    x0, x1 = _epoch_range(curves, epochs, metric)
    fig.add_trace(go.Scatter(x=[x0, x1, x1, x0], y=[null_band[0], null_band[0], null_band[1], null_band[1]],
                             fill="toself", mode="none", fillcolor="rgba(107, 114, 128, 0.22)",
                             name=NULL_BAND_LABEL, hovertemplate=f"{NULL_BAND_LABEL}: {null_band[0]:.1%}–"
                                                                  f"{null_band[1]:.1%}<extra></extra>"))
    return fig


def target_accuracy_chart(curves: Sequence[Curve], *, epochs: int | None = None, height: int = 320,
                          uirevision: str = "target-accuracy", epochs_like: str | None = None) -> go.Figure:
    """Target-test accuracy per epoch, one line per run. Drawn beside domain confusion, it tells adaptation (the
    confusion falls and the target accuracy rises) from collapse (the confusion falls because every image looks
    alike). `epochs_like`: a metric whose epochs this chart's x axis spans, so the two charts line up."""
    fig = metric_chart(curves, "target_acc", epochs=epochs, height=height, uirevision=uirevision,
                       y_range=[0, 1.02], title="Target test accuracy")
    if epochs_like is not None:
        fig.update_xaxes(range=_epoch_range(curves, epochs, epochs_like))
    return fig


def a_distance_chart(curves: Sequence[Curve], *, epochs: int | None = None, height: int = 320,
                     uirevision: str = "a-distance") -> go.Figure:
    return metric_chart(curves, "a_distance", epochs=epochs, height=height, uirevision=uirevision,
                        chance=0.0, chance_text="0: indistinguishable", y_range=[-0.05, 2.05],
                        title="Proxy A-distance (0 alike, 2 separable)")


# ---------------------------------------------------------------------------------------------- embeddings


def empty_panel(title: str) -> "MapPanel":
    """A panel that holds no points yet (keeps a side-by-side layout stable while a run waits)."""
    none = np.zeros((0, 2), dtype=np.float32)
    return MapPanel(title, none, none, np.zeros(0, int), np.zeros(0, int))


@dataclass(frozen=True)
class MapPanel:
    """One 2-D map: coordinates of the source and target samples with their class ids and test-split indices."""

    title: str
    source_xy: np.ndarray  # (N, 2)
    target_xy: np.ndarray  # (M, 2)
    source_labels: np.ndarray
    target_labels: np.ndarray
    source_index: np.ndarray | None = None
    target_index: np.ndarray | None = None


def _domain_trace(panel: MapPanel, domain: str, classes: Sequence[str], max_points: int | None) -> dict:
    xy = np.asarray(getattr(panel, f"{domain}_xy"), dtype=np.float32)
    labels = np.asarray(getattr(panel, f"{domain}_labels")).astype(int)
    index = getattr(panel, f"{domain}_index")
    index = np.arange(len(labels)) if index is None else np.asarray(index).astype(int)
    keep = slice(None) if not max_points or len(xy) <= max_points else slice(0, max_points)
    xy, labels, index = xy[keep], labels[keep], index[keep]
    colors = [theme.class_color(c, len(classes)) for c in labels]
    names = [classes[c] if 0 <= c < len(classes) else str(c) for c in labels]
    return dict(
        x=np.round(xy[:, 0], 4).tolist(), y=np.round(xy[:, 1], 4).tolist(),
        customdata=[[domain, int(i), n] for i, n in zip(index, names)],
        marker=dict(color=colors, symbol=theme.DOMAIN_SYMBOL[domain], size=6 if domain == "source" else 7,
                    opacity=0.7 if domain == "source" else 0.85, line=dict(width=1.2 if domain == "target" else 0)),
    )


def embedding_figure(panels: Sequence[MapPanel], classes: Sequence[str], *, height: int = 470,
                     uirevision: str = "embeddings", frames: Sequence[tuple[str, Sequence[MapPanel]]] = (),
                     max_points: int | None = None, axis_range: float | None = None,
                     legend: str = "right") -> go.Figure:
    """Maps side by side: colour = class, marker = domain (● source, ◇ target). Hover names class, domain, index.

    With `frames` (label, panels) — e.g. one per epoch — the figure gets plotly's own play button and slider,
    so walking through the snapshots happens in the browser without a round trip. `panels` is what shows first.
    `axis_range` fixes both axes to [-r, r] (for maps normalised to [-1, 1]): frames then never rescale.
    """
    fig = make_subplots(rows=1, cols=max(1, len(panels)), subplot_titles=[p.title for p in panels] or [""],
                        horizontal_spacing=0.04)
    for col, panel in enumerate(panels, start=1):
        for domain in ("source", "target"):
            fig.add_trace(go.Scatter(
                mode="markers", name=f"{panel.title} · {domain}", showlegend=False,
                hovertemplate="%{customdata[2]} · %{customdata[0]} image #%{customdata[1]}<extra></extra>",
                **_domain_trace(panel, domain, classes, max_points)), row=1, col=col)
    compact = legend == "bottom"  # one row of classes; the title names the domain markers
    for i, name in enumerate(classes):  # legend: classes by colour, domains by marker
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 legendgroup=None if compact else "classes",
                                 legendgrouptitle_text="class" if i == 0 and not compact else None,
                                 marker=dict(color=theme.class_color(i, len(classes)), size=10, symbol="square")))
    for domain in () if compact else ("source", "target"):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=theme.DOMAIN_LABEL[domain],
                                 legendgroup="domains", legendgrouptitle_text="domain" if domain == "source" else None,
                                 marker=dict(color="#374151", size=10, symbol=theme.DOMAIN_SYMBOL[domain],
                                             line=dict(width=1.5))))
    base_layout(fig, height, uirevision, legend_below=False)
    where = (dict(orientation="v", x=1.01, y=1) if legend == "right"
             else dict(orientation="h", x=0.5, xanchor="center", y=-0.02, yanchor="top", title_text="class "))
    fig.update_layout(legend=dict(**where, groupclick="toggleitem"), dragmode="lasso", clickmode="event+select",
                      margin=dict(l=10, r=10, t=40, b=10))
    if axis_range and frames:  # a frame that reaches further than the shown one must not be clipped in playback
        axis_range = max(axis_range, 1.05 * _reach([p for _, frame_panels in frames for p in frame_panels]))
    fixed = dict(range=[-axis_range, axis_range], autorange=False) if axis_range else {}
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, title=None, **fixed)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, title=None, **fixed)
    for col in range(1, len(panels) + 1):
        suffix = "" if col == 1 else str(col)
        fig.update_layout({f"yaxis{suffix}": dict(scaleanchor=f"x{suffix}", scaleratio=1)})
    if not panels:
        _waiting(fig, "No feature snapshot yet.")
    for col, panel in enumerate(panels, start=1):
        if len(panel.source_xy) + len(panel.target_xy) == 0:
            suffix = "" if col == 1 else str(col)
            fig.add_annotation(text="waiting for the first feature snapshot", showarrow=False, x=0.5, y=0.5,
                               xref=f"x{suffix} domain", yref=f"y{suffix} domain",
                               font=dict(size=14, color=theme.CHANCE_COLOR))
    if frames:
        _add_frames(fig, panels, classes, frames, max_points)
    return fig


def _reach(panels: Sequence[MapPanel]) -> float:
    """The largest |coordinate| of any point in `panels` (0 for none)."""
    values = [np.abs(np.asarray(xy)).max() for p in panels for xy in (p.source_xy, p.target_xy) if len(xy)]
    return float(max(values, default=0.0))


def _add_frames(fig: go.Figure, panels, classes, frames, max_points) -> None:
    n_data = 2 * len(panels)
    fig.frames = [
        go.Frame(name=label, traces=list(range(n_data)),
                 layout=dict(annotations=[{**a.to_plotly_json(), "text": p.title}
                                         for a, p in zip(fig.layout.annotations, frame_panels)]),
                 data=[go.Scatter(**_domain_trace(p, d, classes, max_points)) for p in frame_panels
                       for d in ("source", "target")])
        for label, frame_panels in frames
    ]
    steps = [dict(label=label, method="animate",
                  args=[[label], dict(mode="immediate", frame=dict(duration=0, redraw=True),
                                      transition=dict(duration=0))]) for label, _ in frames]
    # Play sits above the maps, where it is seen without scrolling; the slider under them.
    fig.update_layout(
        height=fig.layout.height + 130,
        margin=dict(l=10, r=10, t=80, b=90),
        sliders=[dict(active=len(frames) - 1, steps=steps, x=0.0, len=1.0, y=-0.04, yanchor="top",
                      currentvalue=dict(prefix="epoch ", font=dict(size=14)), pad=dict(t=10, b=0))],
        updatemenus=[dict(type="buttons", showactive=False, x=0.0, y=1.0, xanchor="left", yanchor="bottom",
                          pad=dict(b=34, r=10), direction="left",
                          # every frame named, the first ("before training") included, and no transition:
                          # with `None` and a 300 ms transition the first press showed nothing of the first frame
                          buttons=[dict(label="▶ Play", method="animate",
                                        args=[[label for label, _ in frames],
                                              dict(frame=dict(duration=900, redraw=True), fromcurrent=False,
                                                   transition=dict(duration=0), mode="immediate")])])],
    )


# ---------------------------------------------------------------------------------- per class, confusion


def per_class_figure(classes: Sequence[str], acc: Sequence[float | None], count: Sequence[int], *,
                     height: int = 320, uirevision: str = "per-class", title: str = "Per-class target accuracy",
                     color: str = theme.WITH_COLOR) -> go.Figure:
    values = [np.nan if a is None else float(a) for a in acc]
    fig = go.Figure(go.Bar(
        x=list(classes), y=values, marker_color=color, customdata=list(count),
        text=[("–" if np.isnan(v) else f"{v:.0%}") for v in values], textposition="outside",
        hovertemplate="class %{x}<br>accuracy %{y:.1%}<br>%{customdata} test images<extra></extra>"))
    base_layout(fig, height, uirevision)
    fig.update_layout(title=dict(text=title, x=0, font=dict(size=16)), showlegend=False)
    fig.update_yaxes(range=[0, 1.12], tickformat=".0%", title_text="accuracy")
    fig.update_xaxes(type="category", title_text="true class")
    return fig


def confusion_figure(classes: Sequence[str], matrix: Sequence[Sequence[int]], *, height: int = 460,
                     uirevision: str = "confusion", title: str = "Confusion matrix (target test set)") -> go.Figure:
    """Rows: true class, columns: predicted. Colour is the share of the row; the text is the count.

    Trace 0 is the heatmap; trace 1 puts one clickable marker on every non-empty wrong cell, whose
    customdata is [true id, predicted id, count] — what a page needs to show that cell's images.
    """
    counts = np.asarray(matrix, dtype=np.int64)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
    names = [str(c) for c in classes]
    fig = go.Figure(go.Heatmap(
        z=share, x=names, y=names, text=counts, texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
        colorbar=dict(title=dict(text="of row", side="top"), tickformat=".0%", thickness=12),
        hovertemplate="true %{y} → predicted %{x}<br>%{text} images (%{z:.0%} of the row)<extra></extra>"))
    wrong = [(t, p) for t in range(len(names)) for p in range(len(names)) if t != p and counts[t, p] > 0]
    fig.add_trace(go.Scatter(
        x=[names[p] for _, p in wrong], y=[names[t] for t, _ in wrong], mode="markers", showlegend=False,
        customdata=[[t, p, int(counts[t, p])] for t, p in wrong],
        marker=dict(symbol="square", size=max(8, min(40, 300 // max(1, len(names)))), color="rgba(0,0,0,0)",
                    line=dict(width=0)),
        hovertemplate="true %{y} → predicted %{x}<br>%{customdata[2]} misclassified: click to see them<extra></extra>"))
    base_layout(fig, height, uirevision)
    fig.update_layout(title=dict(text=title, x=0, font=dict(size=16)), clickmode="event+select", dragmode=False)
    fig.update_xaxes(title_text="predicted class", type="category", side="bottom", showgrid=False)
    fig.update_yaxes(title_text="true class", type="category", autorange="reversed", showgrid=False,
                     scaleanchor="x", scaleratio=1)
    return fig


def overlay_curves(curves: Sequence[Curve], metric: str, *, height: int = 360, uirevision: str = "overlay") -> go.Figure:
    """One metric for several runs (the Runs page)."""
    fig = metric_chart(curves, metric, height=height, uirevision=uirevision,
                       y_range=[0, 1.02] if metric in FRACTION_METRICS else None)
    return fig


def figure_html(fig: go.Figure, title: str = "Transfer Lab chart") -> str:
    """A standalone HTML page of the chart that works offline (plotly.js is embedded)."""
    return fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False},
                       default_width="100%", default_height=fig.layout.height or 450,
                       div_id="chart").replace("<head>", f"<head><title>{title}</title>", 1)
