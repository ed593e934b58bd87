"""How many labels do I need? Target accuracy against labels per class, with and without transfer, and what
more labels would buy.

Learning curves of classifiers flatten like a power law, so the transfer arm is fitted with

    acc(n) = a − b · n^(−c),   0 ≤ a ≤ 1,  b ≥ 0,  0 < c ≤ 2

(a: the accuracy more labels approach; c: how fast). With fewer than four distinct budgets, or when the fit
fails, a straight line in log n is used instead (acc = α + β ln n, which says "each doubling adds β ln 2").
Predictions are clipped to [0, 1].

The band: the folds are resampled with replacement (BOOTSTRAP_RESAMPLES times, seeded) and the curve refitted to
each resample; the 2.5–97.5 percentiles of the predictions at every budget are the band, and those of the gain
of one more doubling decide the verdict. More labels are "still paying off" only when the band's lower edge of
that gain reaches PAYING_OFF_GAIN, "add little" when its upper edge stays below it, and otherwise — and always
with one fold, which has no spread to resample — "undecided".
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from tl_core.feasibility.results import RunResult, Score, score
from tl_core.feasibility.sweep import CURVE, Candidate, SweepSettings, base_config, stage_of
from tl_core.runs.config import RunConfig
from tl_core.strategies import strategy_class

DEFAULT_BUDGETS = (1, 2, 5, 10, 20, None)  # labels per class; None: every training image
PAYING_OFF_GAIN = 0.01  # one accuracy point per doubling of the labels
BOOTSTRAP_RESAMPLES = 100
BAND_POINTS = 24  # budgets (log-spaced, smallest measured to 4× the largest) at which the band is drawn
PAYING_OFF, LITTLE, UNDECIDED = "still paying off", "add little", "undecided"


# ---------------------------------------------------------------- the pure part: fit and extrapolate


@dataclass(frozen=True)
class Extrapolation:
    method: str  # "power law" | "log-linear" | "none"
    params: tuple[float, ...]  # (a, b, c) or (alpha, beta)
    current_labels: float  # labels per class of the largest measured budget
    current_acc: float  # the fitted accuracy there
    predicted_2x: float
    predicted_4x: float
    gain_per_doubling: float  # predicted_2x − current_acc
    verdict: str = UNDECIDED  # PAYING_OFF | LITTLE | UNDECIDED, from the band of the gain
    gain_low: float = float("nan")  # 2.5th percentile of the gain per doubling over fold resamples
    gain_high: float = float("nan")  # 97.5th percentile
    band_n: tuple[float, ...] = ()  # labels per class where the band is drawn
    band_low: tuple[float, ...] = ()
    band_high: tuple[float, ...] = ()

    @property
    def still_paying_off(self) -> bool:
        return self.verdict == PAYING_OFF

    def predict(self, n) -> np.ndarray:
        return predict(self.method, self.params, n)

    def to_dict(self) -> dict:
        return asdict(self)


def power_law(n, a, b, c):
    return a - b * np.power(n, -c)


def predict(method: str, params: Sequence[float], n) -> np.ndarray:
    n = np.asarray(n, dtype=np.float64)
    if method == "power law":
        values = power_law(n, *params)
    elif method == "log-linear":
        values = params[0] + params[1] * np.log(n)
    else:
        values = np.full_like(n, np.nan)
    return np.clip(values, 0.0, 1.0)


def _fit_power_law(n: np.ndarray, acc: np.ndarray) -> tuple[float, float, float] | None:
    from scipy.optimize import OptimizeWarning, curve_fit  # scipy.optimize loads only when a curve is fitted

    top = float(acc.max())
    p0 = (min(1.0, top + 0.05), max(top - float(acc.min()), 0.05), 0.5)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            params, _ = curve_fit(power_law, n, acc, p0=p0, bounds=([0.0, 0.0, 1e-3], [1.0, 10.0, 2.0]),
                                  maxfev=20_000)
    except (RuntimeError, ValueError):
        return None
    if not np.all(np.isfinite(params)):
        return None
    return tuple(float(p) for p in params)


def _fit_points(n: np.ndarray, y: np.ndarray) -> tuple[str, tuple[float, ...]]:
    """(method, params) for the points, or ("none", ()) with a single budget."""
    distinct = np.unique(n)
    if distinct.size >= 4:
        fitted = _fit_power_law(n, y)
        if fitted is not None:
            return "power law", fitted
    if distinct.size >= 2:
        beta, alpha = np.polyfit(np.log(n), y, 1)
        return "log-linear", (float(alpha), float(beta))
    return "none", ()


def _band(n: np.ndarray, y: np.ndarray, folds: np.ndarray, current: float, seed: int, resamples: int):
    """(gain percentiles, band budgets, band low, band high) from refitting the curve to folds resampled with
    replacement; None with fewer than two folds."""
    ids = np.unique(folds)
    if ids.size < 2:
        return None
    rng = np.random.default_rng(seed)
    grid = np.geomspace(float(n.min()), 4 * current, BAND_POINTS)
    gains, curves = [], []
    for _ in range(resamples):
        rows = np.concatenate([np.flatnonzero(folds == f) for f in rng.choice(ids, size=ids.size)])
        method, params = _fit_points(n[rows], y[rows])
        if method == "none":
            continue
        now, twice = predict(method, params, [current, 2 * current])
        gains.append(twice - now)
        curves.append(predict(method, params, grid))
    if len(gains) < 2:
        return None
    low, high = np.percentile(curves, [2.5, 97.5], axis=0)
    gain_low, gain_high = np.percentile(gains, [2.5, 97.5])
    return (float(gain_low), float(gain_high)), tuple(map(float, grid)), tuple(map(float, low)), \
        tuple(map(float, high))


def extrapolate(labels_per_class: Sequence[float], acc: Sequence[float],
                paying_off_gain: float = PAYING_OFF_GAIN, folds: Sequence | None = None, seed: int = 0,
                resamples: int = BOOTSTRAP_RESAMPLES) -> Extrapolation:
    """Fit accuracy (fractions) against labels per class and predict 2× and 4× the largest budget.

    Points may repeat a budget (folds); `folds` names each point's fold (without it, or with one fold, there is
    no band and the verdict is "undecided"). NaNs are dropped. Deterministic for a seed.
    """
    n = np.asarray(labels_per_class, dtype=np.float64)
    y = np.asarray(acc, dtype=np.float64)
    fold_ids = np.asarray(folds if folds is not None else [0] * len(n))
    keep = np.isfinite(n) & np.isfinite(y) & (n > 0)
    n, y, fold_ids = n[keep], np.clip(y[keep], 0.0, 1.0), fold_ids[keep]
    if n.size == 0:
        return Extrapolation("none", (), float("nan"), float("nan"), float("nan"), float("nan"), float("nan"))
    current = float(n.max())
    method, params = _fit_points(n, y)
    if method == "none":  # one budget only: nothing to extrapolate from
        return Extrapolation("none", (), current, float(y.mean()), float("nan"), float("nan"), float("nan"))
    now, twice, four = (float(v) for v in predict(method, params, [current, 2 * current, 4 * current]))
    band = _band(n, y, fold_ids, current, seed, resamples)
    if band is None:
        return Extrapolation(method, params, current, now, twice, four, twice - now)
    (gain_low, gain_high), grid, low, high = band
    verdict = PAYING_OFF if gain_low >= paying_off_gain else LITTLE if gain_high < paying_off_gain else UNDECIDED
    return Extrapolation(method, params, current, now, twice, four, twice - now, verdict, gain_low, gain_high,
                         grid, low, high)


# ---------------------------------------------------------------- planning the runs


def budgets_for(train_per_class: int, budgets: Sequence[int | None] = DEFAULT_BUDGETS) -> list[int | None]:
    """The budgets the data allows: those below the smallest class's training images, then None (all)."""
    allowed = sorted({b for b in budgets if b is not None and 1 <= b < train_per_class})
    return [*allowed, None]


def train_images_per_class(images_per_class: int) -> int:
    """Training images of a class with `images_per_class` images under the engine's fixed 70/10/20 split."""
    fractions = np.cumsum((0.7, 0.1, 0.2))
    return int(np.round(fractions[0] * images_per_class))


def plan_label_curve(views: Sequence[str], transfer: Candidate, settings: SweepSettings,
                     budgets: Sequence[int | None], transfer_strategy: str = "linear-probe",
                     transfer_freeze: int | None = None, folds: int | None = None) -> list[RunConfig]:
    """For each budget and fold (the first `folds` of `views`): the transfer arm (by default a linear probe of
    `transfer`) and the scratch arm (the same backbone from random weights, trained whole)."""
    configs = []
    for k, view in enumerate(list(views)[: folds or len(views)]):
        for budget in budgets:
            label = "all" if budget is None else f"{budget}"
            arm = base_config(settings, view, transfer, transfer_strategy, stage=CURVE,
                              freeze=transfer_freeze, fold=k)
            configs.append(arm.replace(labels_per_class=budget, name=f"{arm.name} · {label}/class"))
            scratch = base_config(settings, view, Candidate(transfer.backbone, "random"), "scratch", stage=CURVE,
                                  freeze=0, fold=k)
            configs.append(scratch.replace(labels_per_class=budget, epochs=settings.scratch_epochs,
                                           name=f"{scratch.name} · {label}/class"))
    return configs


# ---------------------------------------------------------------- aggregating the runs


@dataclass(frozen=True)
class CurvePoint:
    budget: int | None  # requested labels per class (None: all)
    labels_per_class: float | None  # what the runs really had, on average
    score: Score


@dataclass(frozen=True)
class LabelCurve:
    transfer: tuple[CurvePoint, ...]
    scratch: tuple[CurvePoint, ...]
    extrapolation: Extrapolation  # of the transfer arm
    scratch_extrapolation: Extrapolation
    transfer_label: str = "with transfer"
    scratch_label: str = "without transfer (scratch)"

    def to_dict(self) -> dict:
        return asdict(self)


def _from_scratch(result: RunResult) -> bool:
    return not strategy_class(result.config.strategy).uses_weights


def _points(results: list[RunResult]) -> tuple[CurvePoint, ...]:
    by_budget: dict[int | None, list[RunResult]] = {}
    for r in results:
        by_budget.setdefault(r.config.labels_per_class, []).append(r)
    order = sorted(by_budget, key=lambda b: math.inf if b is None else b)
    return tuple(CurvePoint(b, score(by_budget[b]).labels_per_class, score(by_budget[b])) for b in order)


def _fit(runs: list[RunResult], paying_off_gain: float) -> Extrapolation:
    """The arm's curve from every finished run, each point tagged with its fold (its target view)."""
    points = [(r.labels_per_class_used, r.target_acc, r.config.target) for r in runs
              if r.ok and r.labels_per_class_used is not None]
    n, y, folds = zip(*points) if points else ((), (), ())
    return extrapolate(n, y, paying_off_gain, folds=folds)


def summarise_label_curve(results: Sequence[RunResult], paying_off_gain: float = PAYING_OFF_GAIN) -> LabelCurve:
    """Mean ± sd per budget and arm, and the extrapolations; any subset of the planned runs will do."""
    curve = [r for r in results if stage_of(r.config) == CURVE] or list(results)  # untagged: take them all
    transfer_runs = [r for r in curve if not _from_scratch(r)]
    scratch_runs = [r for r in curve if _from_scratch(r)]
    transfer, scratch = _points(transfer_runs), _points(scratch_runs)
    labels = {}
    if transfer_runs:
        c = transfer_runs[0].config
        labels["transfer_label"] = f"with transfer ({strategy_class(c.strategy).label}, {Candidate.of(c).label})"
    if scratch_runs:
        labels["scratch_label"] = f"without transfer ({scratch_runs[0].config.backbone} from scratch)"
    return LabelCurve(transfer, scratch, _fit(transfer_runs, paying_off_gain), _fit(scratch_runs, paying_off_gain),
                      **labels)
