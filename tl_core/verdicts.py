"""What a lesson's verdict is made of: the Verdict itself, and its runs turned into paired score arrays.

A lesson's arm is picked out by a predicate on a run's config (its `arm` and config values, never its name);
runs of different arms are paired by `seed`. A run's scores are its per-test-image correctness
(evaluation.json's `test_correct`), or its target accuracy alone where that was not recorded.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tl_core.analysis.intervals import Interval, Outcome, contrast_interval

Run = dict[str, Any]
Pick = Callable[[dict], bool]  # on a run's config dict: is it this arm?
VerdictOutcome = Literal["met", "not met", "undecided", "waiting"]


@dataclass(frozen=True)
class Verdict:
    outcome: VerdictOutcome
    text: str  # the effect and its interval in words
    effect: float | None = None  # the headline effect (a difference of accuracies), None while waiting
    low: float | None = None
    high: float | None = None
    seeds: int = 0  # paired seeds the headline interval rests on


def waiting(text: str) -> Verdict:
    return Verdict("waiting", text)


def judged(outcome: Outcome, text: str, headline: Interval) -> Verdict:
    return Verdict(outcome, text, headline.effect, headline.low, headline.high, headline.seeds)


def arm(name: str, **values) -> Pick:
    """Runs whose `arm` is `name` and whose config has these values."""
    return lambda config: config.get("arm") == name and all(config.get(k) == v for k, v in values.items())


def finished(runs: Sequence[Run]) -> list[Run]:
    return [r for r in runs if r["summary"].get("status") == "finished" and r["summary"].get("target_acc") is not None]


def seeds_of(runs: Sequence[Run]) -> list[int]:
    """The seeds among the finished runs, sorted."""
    return sorted({int(r["config"].get("seed", 0)) for r in finished(runs)})


def run_scores(run: Run) -> np.ndarray:
    correct = (run.get("evaluation") or {}).get("test_correct")
    return np.asarray(correct if correct else [run["summary"]["target_acc"]], dtype=np.float64)


def _by_seed(runs: Sequence[Run], pick: Pick) -> dict[int, Run]:
    return {int(r["config"].get("seed", 0)): r for r in finished(runs) if pick(r["config"])}


def paired(runs: Sequence[Run], picks: Sequence[Pick],
           value: Callable[[Run], float | None] | None = None) -> list[np.ndarray] | None:
    """One (seeds × items) array per arm over the seeds every arm has finished (None when there are none).

    Items are test images (per-image correctness), or one item per run: `value(run)` when given, the target
    accuracy where some run lacks per-image correctness."""
    arms = [_by_seed(runs, pick) for pick in picks]
    seeds = sorted(set.intersection(*(set(a) for a in arms))) if arms else []
    if value is not None:
        values = [[value(a[s]) for s in seeds] for a in arms]
        if not seeds or any(v is None for row in values for v in row):
            return None
        return [np.asarray(row, dtype=np.float64)[:, None] for row in values]
    if not seeds:
        return None
    scores = [[run_scores(a[s]) for s in seeds] for a in arms]
    if len({len(s) for row in scores for s in row}) > 1:
        scores = [[np.asarray([a[s]["summary"]["target_acc"]]) for s in seeds] for a in arms]
    return [np.stack(row) for row in scores]


def difference(runs: Sequence[Run], treated: Pick, control: Pick,
               value: Callable[[Run], float | None] | None = None) -> Interval | None:
    """The paired interval of treated − control (None until both arms share a finished seed)."""
    arms = paired(runs, [treated, control], value)
    return None if arms is None else contrast_interval(arms, [1.0, -1.0])


def mean_of(runs: Sequence[Run], pick: Pick, value: Callable[[Run], float | None] | None = None) -> float | None:
    values = [value(r) if value else r["summary"]["target_acc"] for r in finished(runs) if pick(r["config"])]
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def signed(x: float) -> str:
    return f"{x:+.2f}".replace("-", "−")


def interval_text(interval: Interval) -> str:
    """'+0.05 (95% interval +0.02 to +0.08)'; one number per arm has no interval, and says so."""
    if interval.seeds * interval.items <= 1:
        return f"{signed(interval.effect)} (one run per arm so far: no interval yet)"
    return (f"{signed(interval.effect)} (95% interval {signed(interval.low)} to {signed(interval.high)})")


def seeds_text(count: int) -> str:
    return f"{count} seed{'s' if count != 1 else ''}"
