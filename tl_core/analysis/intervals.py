"""The one statistic behind every verdict in the lab: a 95% Student t-interval over per-seed paired differences.

The experimental unit is the seed. Each arm of a contrast runs once per seed, and runs of one seed are paired
(same labelled subset, same data order). A contrast is one number per seed — e.g. fine-tune's minus scratch's
target accuracy, each accuracy computed on the full test set — and its interval is the Student t-interval of
the mean of those numbers (n − 1 degrees of freedom). Test images are not resampled: each seed's accuracy
already averages over them, and its test-set noise is part of the seed-to-seed spread the interval measures
(resampling them as well counts that noise twice). `bench/verdict_calibration.py` checks by simulation that
this procedure covers the true effect 95% of the time and calls "met" at most 5% of the time without an effect.

A claim states, before any run, its side of the line ("above": the contrast is positive; "below": negative)
and its minimum effect worth teaching (≥ 0, in the contrast's units). With the effect and the interval
oriented to the claimed side:

- **met** when the interval excludes 0 on the claimed side (low > 0) and the effect is at least the minimum;
- **not met** when the interval lies wholly below the minimum effect (high < minimum: an effect worth
  teaching is ruled out — this includes an interval wholly on the wrong side of 0);
- **undecided** otherwise. One seed gives no interval (it is infinitely wide): undecided.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

Outcome = Literal["met", "not met", "undecided"]
Side = Literal["above", "below"]
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    effect: float  # the mean per-seed value (difference) as measured
    low: float  # −inf with fewer than two seeds
    high: float  # +inf with fewer than two seeds
    seeds: int = 1  # paired seeds it rests on
    level: float = LEVEL

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)


def seed_interval(per_seed: Sequence[float], level: float = LEVEL) -> Interval:
    """The t-interval of the mean of one value per seed (a paired difference, or one arm's accuracy).

    This is the function every verdict and bench calls (`bench/domain_adaptation.py` and `bench/demo.py` too).
    """
    values = np.asarray(per_seed, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("need at least one seed")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"every seed's value must be a finite number, got {values.tolist()}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    mean, n = float(values.mean()), int(values.size)
    if n < 2:
        return Interval(mean, -math.inf, math.inf, n, level)
    half = float(stats.t.ppf((1 + level) / 2, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n, level)


def paired_interval(treated: Sequence[float], control: Sequence[float], level: float = LEVEL) -> Interval:
    """The interval of treated − control, paired by position (seed)."""
    a, b = np.asarray(treated, dtype=np.float64), np.asarray(control, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"arms must be paired seed by seed, got {a.size} and {b.size} values")
    return seed_interval(a - b, level)


def contrast(arms: Sequence[Sequence[float]], weights: Sequence[float]) -> np.ndarray:
    """Per seed, Σ weights[k] · arms[k][seed]: (1, −1) a difference, (1, −1, −1, 1) a difference of differences."""
    arrays = [np.asarray(a, dtype=np.float64).ravel() for a in arms]
    if len(weights) != len(arrays):
        raise ValueError(f"{len(weights)} weights for {len(arrays)} arms")
    if not arrays or len({a.size for a in arrays}) != 1:
        raise ValueError(f"arms must be paired seed by seed, got sizes {[a.size for a in arrays]}")
    return sum(w * a for w, a in zip(weights, arrays))


def oriented(interval: Interval, side: Side) -> Interval:
    """The interval as seen from the claimed side: "below" flips the sign, so the claim is always "above 0"."""
    if side == "above":
        return interval
    if side == "below":
        return Interval(-interval.effect, -interval.high, -interval.low, interval.seeds, interval.level)
    raise ValueError(f"side must be 'above' or 'below', got {side!r}")


def decide(interval: Interval, min_effect: float = 0.0, side: Side = "above") -> Outcome:
    """met / not met / undecided by the rule in this module's docstring."""
    if min_effect < 0:
        raise ValueError(f"the minimum effect is a size (≥ 0), got {min_effect}")
    iv = oriented(interval, side)
    if iv.low > 0 and iv.effect >= min_effect:
        return "met"
    if iv.high < min_effect:
        return "not met"
    return "undecided"


def all_of(outcomes: Sequence[Outcome]) -> Outcome:
    """A claim made of parts: met when every part is, not met when any part is not, else undecided."""
    if "not met" in outcomes:
        return "not met"
    return "met" if outcomes and all(o == "met" for o in outcomes) else "undecided"
