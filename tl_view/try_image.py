"""'Try your own image': the class probabilities of the run and of its without-transfer twin, side by side."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from tl_view import theme
from tl_view.charts import base_layout


def probability_figure(columns: Sequence[tuple[str, Mapping[str, float]]], height: int = 320) -> go.Figure:
    """One bar group per class: each (label, class → probability) is one colour, in the order given."""
    colors = (theme.WITH_COLOR, theme.WITHOUT_COLOR)
    fig = go.Figure()
    for i, (label, probabilities) in enumerate(columns):
        fig.add_bar(x=list(probabilities), y=list(probabilities.values()), name=label,
                    marker_color=colors[i % len(colors)], hovertemplate="%{x}: %{y:.1%}<extra>" + label + "</extra>")
    fig.update_layout(barmode="group", yaxis=dict(range=[0, 1], tickformat=".0%", title="probability"),
                      xaxis=dict(title="class", type="category"))
    return base_layout(fig, height, "try-image")


def verdict_text(columns: Sequence[tuple[str, Mapping[str, float]]]) -> str:
    """'with transfer: **7** (83%) · without transfer: **1** (41%)'."""
    parts = []
    for label, probabilities in columns:
        top = max(probabilities, key=probabilities.get)
        parts.append(f"{label}: **{top}** ({probabilities[top]:.0%})")
    return " · ".join(parts)
