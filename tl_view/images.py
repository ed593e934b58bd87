"""Thumbnails: uint8 3×H×W images tiled into one grid image (numpy only)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def to_hwc(image) -> np.ndarray:
    """A uint8 3×H×W tensor or array → H×W×3 numpy."""
    array = image.numpy() if hasattr(image, "numpy") else np.asarray(image)
    return np.ascontiguousarray(np.transpose(array, (1, 2, 0))) if array.shape[0] == 3 else array


def thumbnail_grid(images: Sequence, *, columns: int = 10, scale: int = 2, gap: int = 2,
                   background: int = 255) -> np.ndarray:
    """Images (each 3×H×W uint8, all the same size) tiled row by row, enlarged `scale`× without smoothing."""
    if len(images) == 0:
        return np.full((8, 8, 3), background, dtype=np.uint8)
    tiles = [np.kron(to_hwc(im), np.ones((scale, scale, 1), dtype=np.uint8)) for im in images]
    h, w = tiles[0].shape[:2]
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    grid = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), background, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        grid[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tile
    return grid


def predicted_by_index(evaluation: dict | None) -> dict[int, int]:
    """Target test image index → the class the finished network predicted, for its misclassified images (every
    other image of the evaluation was predicted as its own class)."""
    return {int(i): int(m["pred"]) for m in (evaluation or {}).get("misclassified", []) for i in m["indices"]}


def thumbnail_caption(class_name: str, predicted: str | None) -> str:
    """'7' for an image with no prediction (a source image, or a run not yet evaluated); '7 ✓' or '7 → 1 ✗'."""
    if predicted is None:
        return class_name
    return f"{class_name} ✓" if predicted == class_name else f"{class_name} → {predicted} ✗"
