"""What a lesson's verdict is made of: its claim (stated before any run), the Verdict, and a lesson's runs
(`RunView` records) as per-seed values paired by seed.

A lesson's arm is picked out by a predicate on a run's config (its `arm` and config values, never its name);
runs of different arms are paired by `seed`. A run's value is its target accuracy on the full test set (or
another number read from it, `value(run)`). Intervals and outcomes come from `tl_core.analysis.intervals`,
the one statistic of the lab.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tl_core.analysis.intervals import Interval, Outcome, Side, all_of, contrast, decide, oriented, seed_interval
from tl_core.records.run_view import RunView
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status


Pick = Callable[[RunConfig], bool]  # on a run's config: is it this arm?
Value = Callable[[RunView], float | None]
VerdictOutcome = Literal["met", "not met", "undecided", "waiting", "incomplete"]
ContrastKind = Literal["difference", "difference of differences", "against a constant"]  # 2, 4 or 1 arms
BADGED = ("met", "not met", "undecided")  # outcomes the page draws a badge for; the others are progress


@dataclass(frozen=True)
class Claim:
    """A lesson's primary contrast, its side of the line and the smallest effect worth teaching."""
    contrast: str  # the per-seed number the badge is decided on, in words
    side: Side  # "above": the claim is that the contrast is positive; "below": negative
    min_effect: float  # in the contrast's units (accuracy: a fraction), ≥ 0
    arms: tuple[str, ...]  # the arms the primary contrast reads: a seed counts once all of them have finished
    kind: ContrastKind = "difference"  # how many arms the per-seed number combines (see ContrastKind)

    def decide(self, interval: Interval) -> Outcome:
        return decide(interval, self.min_effect, self.side)

    def describe(self) -> str:
        return (f"{self.contrast}, {self.side} 0 by at least {self.min_effect:.2f}")


@dataclass(frozen=True)
class Verdict:
    outcome: VerdictOutcome
    text: str  # the effect and its interval in words, or the progress while there is no verdict
    effect: float | None = None  # the headline effect, oriented as measured; None without a verdict
    low: float | None = None
    high: float | None = None
    seeds: int = 0  # paired seeds the headline interval rests on

    @property
    def badged(self) -> bool:
        return self.outcome in BADGED


def judged(outcome: Outcome, text: str, headline: Interval) -> Verdict:
    return Verdict(outcome, text, headline.effect, headline.low, headline.high, headline.seeds)


def judged_with_controls(claim: Claim, headline: Interval, controls: Sequence[tuple[Outcome, str]],
                         text: str) -> Verdict:
    """A claim met only when its controls hold too (`all_of`). The text ends on the main comparison
    (`claim_text`); when a control, not the main comparison, sets the badge, a last sentence says which one, so
    the badge and the words never disagree (a "not met" over a sentence that says "Undecided")."""
    primary = claim.decide(headline)
    outcome = all_of([primary, *(o for o, _ in controls)])
    text = f"{text} {claim_text(claim, headline)}"
    if outcome != primary:
        deciding = [words for o, words in controls if o == outcome]
        if deciding:
            text += (f" So the claim is {outcome}: " + "; ".join(deciding)
                     + (", and it does not." if outcome == "not met" else ", and that is undecided."))
    return judged(outcome, text, headline)


def arm(name: str, **values) -> Pick:
    """Runs whose `arm` is `name` and whose config has these values."""
    return lambda config: config.arm == name and all(getattr(config, k) == v for k, v in values.items())


def is_finished(run: RunView) -> bool:
    return run.summary.get("status") == Status.FINISHED and run.summary.get("target_acc") is not None


def finished(runs: Sequence[RunView]) -> list[RunView]:
    return [r for r in runs if is_finished(r)]


def seed_of(run: RunView) -> int:
    return run.seed


def target_acc(run: RunView) -> float:
    return float(run.summary["target_acc"])


@dataclass(frozen=True)
class Progress:
    finished_seeds: int  # seeds whose every run of the lesson finished, the claim's arms among them
    planned_seeds: int
    active: bool  # some run of the lesson is still queued or training
    failed: tuple[str, ...]  # "fine-tune, seed 2 (failed: why)" for each run that ended without finishing


def progress(runs: Sequence[RunView], claim: Claim, planned_seeds: int) -> Progress:
    """How far the lesson's own runs are: only finished runs count, a run still waiting or training never does."""
    by_seed: dict[int, list[RunView]] = {}
    for run in runs:
        by_seed.setdefault(seed_of(run), []).append(run)
    done = sum(1 for group in by_seed.values()
               if all(is_finished(r) for r in group)
               and set(claim.arms) <= {r.arm for r in group})
    active = any(r.status.active for r in runs)
    failed = tuple(
        f"{r.config.name or r.arm}, seed {seed_of(r)} ({r.summary.get('status')}"
        + (f": {r.summary['reason']}" if r.summary.get("reason") else "") + ")"
        for r in runs if r.status.terminal and not is_finished(r))
    return Progress(done, planned_seeds, active, failed)


def by_seed(runs: Sequence[RunView], pick: Pick, value: Value = target_acc) -> dict[int, float]:
    """One value per seed from the arm's finished runs (runs whose value is unknown left out)."""
    values = {seed_of(r): value(r) for r in finished(runs) if pick(r.config)}
    return {s: float(v) for s, v in values.items() if v is not None}


def paired(runs: Sequence[RunView], picks: Sequence[Pick], value: Value = target_acc) -> list[np.ndarray] | None:
    """One array per arm over the seeds every arm has (None when there are none), in seed order."""
    arms = [by_seed(runs, pick, value) for pick in picks]
    seeds = sorted(set.intersection(*(set(a) for a in arms))) if arms else []
    if not seeds:
        return None
    return [np.asarray([a[s] for s in seeds]) for a in arms]


def contrast_interval(runs: Sequence[RunView], picks: Sequence[Pick], weights: Sequence[float],
                      value: Value = target_acc) -> Interval | None:
    """The t-interval of Σ weights[k] · arm k, seed by seed (None until the arms share a finished seed)."""
    arms = paired(runs, picks, value)
    return None if arms is None else seed_interval(contrast(arms, weights))


def difference(runs: Sequence[RunView], treated: Pick, control: Pick, value: Value = target_acc) -> Interval | None:
    """The paired interval of treated − control (None until both arms share a finished seed)."""
    return contrast_interval(runs, [treated, control], [1.0, -1.0], value)


def mean_of(runs: Sequence[RunView], pick: Pick, value: Value = target_acc) -> float | None:
    values = list(by_seed(runs, pick, value).values())
    return float(np.mean(values)) if values else None


def decimals_apart(x: float, mark: float, fewest: int = 2, most: int = 4) -> int:
    """The fewest decimals (from `fewest`, at most `most`) at which `x` does not round to `mark`: a fall of 0.0996
    against a bar of 0.10 must not print as "0.10", nor an interval's end at 0.003 as "0.00"."""
    digits = fewest
    while digits < most and x != mark and round(x, digits) == round(mark, digits):
        digits += 1
    return digits


def signed(x: float, mark: float = 0.0) -> str:
    """`x` with its sign, to two decimals, or more where two would round it onto `mark`."""
    return f"{x:+.{decimals_apart(x, mark)}f}".replace("-", "−")


def interval_text(interval: Interval, bar: float = 0.0) -> str:
    """'+0.05 (95% interval +0.02 to +0.08)'; one seed has no interval, and says so. The effect shows as many
    decimals as keep it apart from `bar` (the least effect that counts), the ends as keep them apart from 0."""
    if not interval.bounded:
        return f"{signed(interval.effect, bar)} (one seed: no interval)"
    return f"{signed(interval.effect, bar)} (95% interval {signed(interval.low)} to {signed(interval.high)})"


def claim_text(claim: Claim, interval: Interval) -> str:
    """Why the badge reads as it does: the claimed side and the minimum effect against the interval."""
    iv = oriented(interval, claim.side)
    outcome = claim.decide(interval)
    if outcome == "met":
        return f"The interval excludes 0 and the effect is at least the {claim.min_effect:.2f} worth teaching."
    if outcome == "not met":
        return f"The interval rules out an effect of {claim.min_effect:.2f} or more {claim.side} 0."
    if not iv.bounded:
        return "One seed gives no interval."
    return (f"Undecided: the interval {'includes 0' if iv.low <= 0 else 'excludes 0'} and the effect "
            f"({iv.effect:+.{decimals_apart(iv.effect, claim.min_effect, fewest=3)}f} on the claimed side) "
            f"{'reaches' if iv.effect >= claim.min_effect else 'falls short of'} the {claim.min_effect:.2f} worth "
            "teaching.")


def seeds_text(count: int) -> str:
    return f"{count} seed{'s' if count != 1 else ''}"
