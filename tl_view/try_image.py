"""'Try your own image': the class probabilities of the run and of its without-transfer twin, side by side, and
where the image lands on each run's map."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from tl_view import theme
from tl_view.charts import MapPanel, base_layout, embedding_figure


def probability_figure(columns: Sequence[tuple[str, Mapping[str, float]]], height: int = 320) -> go.Figure:
    """One bar group per class: each (label, class → probability) is one colour, in the order given."""
    colors = (theme.WITH_COLOR, theme.WITHOUT_COLOR)
    fig = go.Figure()
    for i, (label, probabilities) in enumerate(columns):
        fig.add_bar(x=list(probabilities), y=list(probabilities.values()), name=label,
                    marker_color=colors[i % len(colors)], hovertemplate="%{x}: %{y:.1%}<extra>" + label + "</extra>")
    fig.update_layout(barmode="group", yaxis=dict(range=[0, 1], tickformat=".0%", title="probability"),
                      xaxis=dict(title="class", type="category"))
    return base_layout(fig, height, "try-image").update_layout(legend_y=-0.3)  # below the axis title


def verdict_text(columns: Sequence[tuple[str, Mapping[str, float]]]) -> str:
    """'with transfer: **7** (83%) · without transfer: **1** (41%)'."""
    parts = []
    for label, probabilities in columns:
        top = max(probabilities, key=probabilities.get)
        parts.append(f"{label}: **{top}** ({probabilities[top]:.0%})")
    return " · ".join(parts)


def landing_figure(panels: Sequence[MapPanel], points: Sequence[np.ndarray], classes: Sequence[str],
                   height: int = 440) -> go.Figure:
    """Each run's map (its test images as context) with the user's image as a labelled star; `points[i]` is the
    image's (x, y) on `panels[i]`, in the same normalised frame."""
    reach = max([1.1, *(1.1 * float(np.abs(point).max()) for point in points)])  # the star may land off the map
    fig = embedding_figure(panels, classes, height=height, uirevision="try-image-maps", axis_range=reach,
                           legend="bottom")
    for col, point in enumerate(points, start=1):
        fig.add_trace(go.Scatter(
            x=[float(point[0])], y=[float(point[1])], mode="markers+text", text=["<b>your image</b>"],
            textposition="top center", textfont=dict(size=15, color=theme.YOUR_IMAGE_COLOR),
            name="your image", showlegend=False, hovertemplate="your image<extra></extra>", cliponaxis=False,
            marker=dict(symbol="star", size=26, color=theme.YOUR_IMAGE_COLOR, line=dict(width=2, color="white"))),
            row=1, col=col)
    return fig


def landing_caption(columns: Sequence[tuple[str, Mapping[str, float]]]) -> str:
    """Under the maps: what they are, and what each network called the image."""
    called = " · ".join(f"{label}: predicted **{max(p, key=p.get)}**" for label, p in columns)
    return (f"★ where your image lands among the test images (colour: class, ● source, ◇ target) on the PCA "
            f"map of each network's last feature snapshot — {called}.")
