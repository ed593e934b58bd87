"""One palette for every page, so "with transfer" is always blue and "source" is always a filled circle."""
from __future__ import annotations

# With transfer (blue, solid) and without (red, dashed) on every page; three shades each: target, validation,
# training.
WITH = {"target_acc": "#1d4ed8", "val_acc": "#3b82f6", "train_acc": "#93c5fd", "train_loss": "#1d4ed8"}
WITHOUT = {"target_acc": "#dc2626", "val_acc": "#ef4444", "train_acc": "#fca5a5", "train_loss": "#dc2626"}
WITH_COLOR, WITHOUT_COLOR = WITH["target_acc"], WITHOUT["target_acc"]

# Source is a filled circle, target an open diamond, whatever the colour (colour is the class).
DOMAIN_SYMBOL = {"source": "circle", "target": "diamond-open"}
DOMAIN_LABEL = {"source": "source", "target": "target"}

# Ten distinguishable class colours (Tableau 10), then a longer cycle for folders with many classes.
CLASS_COLORS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
EXTRA_CLASS_COLORS = ("#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896",
                      "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7",
                      "#bcbd22", "#dbdb8d", "#17becf", "#9edae5")

# Further runs overlaid beside a with/without pair (tl_view.roles), or runs of no side (the Class view's students).
RUN_COLORS = ("#059669", "#9333ea", "#d97706", "#0891b2", "#db2777", "#4b5563",
              "#65a30d", "#7c3aed")

CHANCE_COLOR = "#6b7280"
YOUR_IMAGE_COLOR = "#111827"  # the star of "Try your own image": dark, unlike any class colour
FROZEN_COLOR, TRAINABLE_COLOR, HEAD_COLOR = "#d1d5db", "#2563eb", "#059669"

FONT = dict(family="Inter, 'Source Sans Pro', 'Segoe UI', sans-serif", size=14, color="#111827")
GRID = "#e5e7eb"


def class_color(i: int, num_classes: int = 10) -> str:
    palette = CLASS_COLORS if num_classes <= len(CLASS_COLORS) else EXTRA_CLASS_COLORS
    return palette[i % len(palette)]


def run_color(i: int) -> str:
    return RUN_COLORS[i % len(RUN_COLORS)]
