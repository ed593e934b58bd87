"""Checks at the package boundary: feature matrices are finite 2-D float32 arrays."""
import numpy as np


def as_features(x: np.ndarray, name: str = "features") -> np.ndarray:
    """C-contiguous float32 (rows, features) copy or view of ``x``; raises ValueError on other shapes or NaN/inf."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, features), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x
