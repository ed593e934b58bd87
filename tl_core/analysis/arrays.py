"""Boundary checks (feature matrices are finite 2-D float32 arrays) and the one-thread rule for heavy numerics."""
import numpy as np
from threadpoolctl import threadpool_limits


def as_features(x: np.ndarray, name: str = "features") -> np.ndarray:
    """C-contiguous float32 (rows, features) copy or view of ``x``; raises ValueError on other shapes or NaN/inf."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, features), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def one_thread() -> threadpool_limits:
    """Context that runs BLAS and OpenMP work on one thread.

    Measured on 2 shared cores with training running alongside: OpenMP and OpenBLAS pools spin-wait for
    their busy partner thread, so 2 threads are 10-30 times slower than 1 (domain confusion at
    2,000 × 512: 15 s vs 1.4 s; a 150-point t-SNE: 23 s vs 0.8 s). OpenBLAS's limit is process-wide
    while the context is open; OpenMP's applies to the calling thread.
    """
    return threadpool_limits(limits=1)
