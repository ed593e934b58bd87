"""Paired bootstrap intervals for a difference of accuracies, and the verdict an interval supports.

Each arm is a (seeds × items) array of scores, e.g. per-test-image correctness (0/1) of one run per seed.
Rows are paired across arms by seed (the same seed drew the same labelled subset and data order) and columns
by test item (every arm is scored on the same test images), so one resample draws seeds and items once and
applies them to every arm: a two-level paired bootstrap that carries both the seed-to-seed and the
finite-test-set uncertainty. An arm known only as one number per seed is a (seeds × 1) array: then only the
seeds are resampled. The interval is the percentile interval of the resampled statistic.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Outcome = Literal["met", "not met", "undecided"]
RESAMPLES = 4000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    effect: float  # the statistic on the data as measured
    low: float
    high: float
    level: float = LEVEL
    seeds: int = 1  # paired seeds it rests on
    items: int = 1  # paired test items per seed


def _as_arms(arms: Sequence[np.ndarray]) -> list[np.ndarray]:
    arrays = [np.atleast_2d(np.asarray(a, dtype=np.float64)) for a in arms]
    if not arrays:
        raise ValueError("need at least one arm")
    shape = arrays[0].shape
    if any(a.shape != shape for a in arrays):
        raise ValueError(f"arms must be paired (same seeds × items), got shapes {[a.shape for a in arrays]}")
    if 0 in shape:
        raise ValueError("every arm needs at least one seed and one item")
    return arrays


def contrast_interval(arms: Sequence[np.ndarray], weights: Sequence[float], seed: int = 0,
                      resamples: int = RESAMPLES, level: float = LEVEL) -> Interval:
    """Interval of Σ weights[k] · mean(arms[k]), resampling seeds and items together across the arms.

    `weights` (1, −1) gives a difference of two arms; (1, −1, −1, 1) a difference of two differences.
    Seeded (`numpy.random.default_rng(seed)`), so the same data give the same interval.
    """
    arrays = _as_arms(arms)
    if len(weights) != len(arrays):
        raise ValueError(f"{len(weights)} weights for {len(arrays)} arms")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    combined = sum(w * a for w, a in zip(weights, arrays))  # linear: resampling the sum is resampling each arm
    seeds, items = combined.shape
    rng = np.random.default_rng(seed)
    seed_counts = rng.multinomial(seeds, np.full(seeds, 1 / seeds), size=resamples) / seeds
    item_counts = rng.multinomial(items, np.full(items, 1 / items), size=resamples) / items
    replicates = np.einsum("bs,si,bi->b", seed_counts, combined, item_counts)
    tail = (1 - level) / 2
    low, high = np.quantile(replicates, [tail, 1 - tail])
    return Interval(float(combined.mean()), float(low), float(high), level, seeds, items)


def difference_interval(treated: np.ndarray, control: np.ndarray, **kwargs) -> Interval:
    """Interval of mean(treated) − mean(control), paired by seed and item."""
    return contrast_interval([treated, control], [1.0, -1.0], **kwargs)


def decide(interval: Interval, threshold: float = 0.0) -> Outcome:
    """For the claim "the effect exceeds `threshold`": "met" when the whole interval lies above it, "not met"
    when none of it does (an interval pinned at the threshold, as two identical arms give, refutes it too), else
    "undecided" (the interval straddles it)."""
    if interval.low > threshold:
        return "met"
    if interval.high <= threshold:
        return "not met"
    return "undecided"


def all_of(outcomes: Sequence[Outcome]) -> Outcome:
    """A claim made of parts: met when every part is, not met when any part is not, else undecided."""
    if "not met" in outcomes:
        return "not met"
    return "met" if outcomes and all(o == "met" for o in outcomes) else "undecided"
