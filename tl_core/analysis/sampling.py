"""Fixed, class-stratified samples: the same images in every feature snapshot of a run."""
import numpy as np

SNAPSHOT_SAMPLES_PER_DOMAIN = 1000


def stratified_sample_indices(labels: np.ndarray, n: int = SNAPSHOT_SAMPLES_PER_DOMAIN, seed: int = 0) -> np.ndarray:
    """Sorted int64 indices of ``n`` rows whose class proportions match ``labels``.

    Class c gets n · count_c / N rows, rounded by largest remainder (ties go to the lower class id),
    drawn without replacement with ``numpy.random.default_rng(seed)``. ``n ≥ N`` returns every index.
    The same (labels, n, seed) always gives the same indices.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    total = labels.size
    if n >= total:
        return np.arange(total, dtype=np.int64)
    classes, counts = np.unique(labels, return_counts=True)
    take, remainder = np.divmod(n * counts.astype(np.int64), total)
    by_remainder = np.argsort(-remainder, kind="stable")
    take[by_remainder[: n - take.sum()]] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(chosen)).astype(np.int64)
