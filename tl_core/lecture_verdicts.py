"""Verdicts of the lessons on self-supervised, zero-shot and multitask learning and on forgetting.

Each arm runs over several seeds; a claim is judged by a 90% bootstrap interval of the mean paired difference
(seed by seed) — "met" when the interval lies wholly on the predicted side, "not met" when wholly on the other,
"undecided" when it straddles the line. One seed gives no interval: it is reported as undecided.
Runs are told apart by arm and seed, never by name.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.stats import bootstrap

from tl_core.data.attributes import class_attributes
from tl_core.verdicts import Verdict, waiting

Run = dict[str, Any]
LEVEL = 0.9


def _finished(runs: Sequence[Run], arm: str) -> dict[int, Run]:
    """Finished runs of `arm` by seed."""
    return {r["config"]["seed"]: r for r in runs
            if r["config"].get("arm") == arm and r["summary"].get("status") == "finished"}


def _acc(run: Run, key: str = "target_acc") -> float:
    return float(run["summary"][key])


def mean_interval(values: Sequence[float], seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): a percentile bootstrap interval of the mean; one value gives (v, v, v)."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2 or np.all(values == values[0]):
        return mean, mean, mean
    ci = bootstrap((values,), np.mean, confidence_level=LEVEL, n_resamples=2000, method="percentile",
                   random_state=np.random.default_rng(seed)).confidence_interval
    return mean, float(ci.low), float(ci.high)


def call(low: float, high: float, line: float, n: int, above: bool = True) -> str:
    """'met', 'not met' or 'undecided': where the interval [low, high] of n seeds lies against `line`."""
    if n < 2:
        return "undecided"
    if (low > line) if above else (high < line):
        return "met"
    if (high < line) if above else (low > line):
        return "not met"
    return "undecided"


def _paired(runs: Sequence[Run], arm: str, baseline: str, key: str = "target_acc") -> tuple[list[float], int]:
    """Per-seed differences arm − baseline over the seeds both have."""
    a, b = _finished(runs, arm), _finished(runs, baseline)
    seeds = sorted(set(a) & set(b))
    return [_acc(a[s], key) - _acc(b[s], key) for s in seeds], len(seeds)


def _mean_of(runs: Sequence[Run], arm: str, key: str = "target_acc") -> float:
    return float(np.mean([_acc(r, key) for r in _finished(runs, arm).values()]))


def _diff_text(diffs: list[float]) -> str:
    mean, low, high = mean_interval(diffs)
    seeds = f"{len(diffs)} seed{'s' if len(diffs) != 1 else ''}"
    if len(diffs) < 2:
        return f"{mean:+.3f} ({seeds}: no interval)"
    return f"{mean:+.3f} (90% interval {low:+.3f} to {high:+.3f}, {seeds})"


def _gain_over(runs: Sequence[Run], arm: str, baseline: str, waiting_text: str, lead: str, other_arm: str,
               other_lead: str) -> Verdict:
    """`arm` against `baseline` seed by seed (the verdict), with `other_arm` against the same baseline alongside."""
    diffs, n = _paired(runs, arm, baseline)
    if not n:
        return waiting(waiting_text)
    _, low, high = mean_interval(diffs)
    other, m = _paired(runs, other_arm, baseline)
    other_text = f"; {other_lead}: {_diff_text(other)}" if m else ""
    return Verdict(call(low, high, 0.0, n), (
        f"{lead} {_diff_text(diffs)} in target accuracy "
        f"({_mean_of(runs, arm):.3f} vs {_mean_of(runs, baseline):.3f}){other_text}."),
                   float(np.mean(diffs)), low, high, n)


def self_supervised(runs: Sequence[Run]) -> Verdict:
    return _gain_over(runs, "rotation", "scratch", "Waiting for the scratch and rotation-pretrained runs.",
                      "Rotation pretraining against scratch", "supervised", "supervised pretraining on task A")


def collision_cap(target: str, unseen: Sequence[str], attributes: Sequence[str]) -> float:
    """The best accuracy possible on equally many test images per unseen class: distinct signatures ÷ classes."""
    table = class_attributes(target)
    positions = [list(table.groups).index(a) for a in attributes]
    signatures = {tuple(table.signatures[c][p] for p in positions) for c in unseen}
    return len(signatures) / len(unseen)


def zero_shot_setting(run: Run) -> tuple[list[str], list[str]]:
    table = class_attributes(run["config"]["target"])
    settings = run["config"].get("settings") or {}
    unseen = [c.strip() for c in settings.get("unseen", "").split(",") if c.strip()] or list(table.unseen)
    used = [a.strip() for a in settings.get("attributes", "").split(",") if a.strip()] or list(table.groups)
    return unseen, used


def zero_shot(runs: Sequence[Run]) -> Verdict:
    full, partial = _finished(runs, "all-attributes"), _finished(runs, "without-colour")
    if not full:
        return waiting("Waiting for the runs with all attributes.")
    unseen, _ = zero_shot_setting(next(iter(full.values())))
    chance = 1 / len(unseen)
    mean, low, high = mean_interval([_acc(r) for r in full.values()])
    word = call(low, high, chance, len(full))
    interval = f" (90% interval {low:.3f}–{high:.3f})" if len(full) > 1 else " (one seed: no interval)"
    text = (f"Unseen-class accuracy with shape, fill and colour {mean:.3f}{interval} against "
            f"chance {chance:.3f}")
    capped = True
    if partial:
        run = next(iter(partial.values()))
        unseen_p, used = zero_shot_setting(run)
        cap = collision_cap(run["config"]["target"], unseen_p, used)
        worst = max(_acc(r) for r in partial.values())
        capped = worst <= cap + 0.01
        text += (f"; without colour {_mean_of(runs, 'without-colour'):.3f}, at most {cap:.2f} possible because "
                 f"the held-out classes share {round(cap * len(unseen_p))} signatures among {len(unseen_p)} classes")
    outcome = "not met" if word == "met" and not capped else word
    return Verdict(outcome, text + ".", mean - chance, low - chance, high - chance, len(full))


def multitask(runs: Sequence[Run]) -> Verdict:
    return _gain_over(runs, "joint", "alone", "Waiting for the target-alone and joint runs.",
                      "Joint training against the target task alone", "fine-tuned",
                      "fine-tuning after the source task")


def _forgot(run: Run) -> float:
    """How much task-A accuracy the run lost: accuracy before task B minus after."""
    return float(run["summary"]["source_acc_start"]) - float(run["summary"]["source_acc"])


def forgetting(runs: Sequence[Run]) -> Verdict:
    tuned, progressive = _finished(runs, "fine-tuned"), _finished(runs, "progressive")
    if not tuned or not progressive:
        return waiting("Waiting for the fine-tuned and progressive runs.")
    seeds = sorted(set(tuned) & set(progressive))
    diffs = [_forgot(tuned[s]) - _forgot(progressive[s]) for s in seeds]
    mean, low, high = mean_interval(diffs)
    word = call(low, high, 0.0, len(seeds))
    kept = max(abs(_forgot(r)) for r in progressive.values())
    start = np.mean([float(r["summary"]["source_acc_start"]) for r in tuned.values()])
    params = {arm: next(iter(group.values()))["summary"].get("model_params", 0)
              for arm, group in (("fine-tuned", tuned), ("progressive", progressive))}
    outcome = "not met" if word == "met" and kept >= 0.005 else word
    return Verdict(outcome, (
        f"Task A accuracy {start:.3f} before task B; after it, fine-tuning "
        f"{_mean_of(runs, 'fine-tuned', 'source_acc'):.3f}, the progressive network "
        f"{_mean_of(runs, 'progressive', 'source_acc'):.3f} (forgetting difference {_diff_text(diffs)}). "
        f"Task B: {_mean_of(runs, 'fine-tuned'):.3f} fine-tuned vs {_mean_of(runs, 'progressive'):.3f} progressive, "
        f"with {params['fine-tuned']:,} vs {params['progressive']:,} parameters."), mean, low, high, len(seeds))


VERDICTS: dict[str, Callable[[Sequence[Run]], Verdict]] = {
    "self-supervised": self_supervised, "zero-shot": zero_shot, "multitask": multitask, "forgetting": forgetting}
