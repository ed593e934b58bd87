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
