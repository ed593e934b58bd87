"""Does the verdict procedure keep its promises? Lessons simulated with a known effect, judged as the app judges.

Each simulated lesson has `seeds` seeds and `images` test images. Per seed, each arm's true accuracy is its
level (the treated arm's raised by the effect) plus seed-to-seed noise (normal, `seed_sd`); each test image is
then right or wrong, and a seed's arms tend to get the same images right (`image_coupling`: the share of images
whose difficulty the arms share), so pairing by seed matters as it does in real runs. Every simulated lesson is
then judged exactly as a lesson is: one value per seed (the contrast of the arms' test accuracies),
`intervals.seed_interval` and `intervals.decide` with the lesson's minimum effect and side.

Reports, over many simulated lessons: how often "met" is called, and how often the 95% interval covers the true
effect. At effect 0 the "met" rate is the false-met rate (at most 2.5% by construction of the rule: met needs
the interval's low end above 0); at the minimum effect it is the power (about one half by construction: met
also needs the measured effect to reach the minimum).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tl_core.analysis.intervals import Side, contrast, decide, seed_interval

WEIGHTS = {1: (1.0,), 2: (1.0, -1.0), 4: (1.0, -1.0, -1.0, 1.0)}  # one arm against a constant; a difference;
# a difference of differences (the first arm carries the effect in each)


@dataclass(frozen=True)
class Scenario:
    seeds: int
    images: int  # test images each seed's accuracy is computed on
    min_effect: float
    side: Side = "above"
    arms: int = 2  # 1, 2 or 4 (see WEIGHTS)
    base_acc: float = 0.8  # every arm's true accuracy without the effect
    seed_sd: float = 0.03  # seed-to-seed standard deviation of an arm's true accuracy
    image_coupling: float = 0.7  # share of test images whose difficulty a seed's arms share

    def __post_init__(self):
        if self.arms not in WEIGHTS:
            raise ValueError(f"arms must be one of {sorted(WEIGHTS)}, got {self.arms}")
        if self.seeds < 2 or self.images < 1:
            raise ValueError("need at least two seeds and one test image")


@dataclass(frozen=True)
class Rates:
    """Fractions of simulated lessons (in [0, 1])."""
    met: float
    not_met: float
    undecided: float
    coverage: float  # the 95% interval held the true effect
    trials: int


def _seed_accuracies(scenario: Scenario, effect: float, trials: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Per arm, a (trials × seeds) array of test accuracies measured on `images` right-or-wrong test images."""
    shape = (trials, scenario.seeds)
    shared = rng.random((*shape, scenario.images))  # each image's difficulty for this seed, shared by the arms
    signed = effect if scenario.side == "above" else -effect
    accuracies = []
    for k in range(scenario.arms):
        true = scenario.base_acc + (signed if k == 0 else 0.0) + rng.normal(0.0, scenario.seed_sd, shape)
        true = np.clip(true, 0.0, 1.0)
        coupled = rng.random(shared.shape) < scenario.image_coupling
        draw = np.where(coupled, shared, rng.random(shared.shape))
        accuracies.append((draw < true[..., None]).mean(axis=-1))
    return accuracies


def simulate(scenario: Scenario, effect: float, trials: int = 4000, seed: int = 0, chunk: int = 500) -> Rates:
    """Judge `trials` simulated lessons whose true effect (on the claimed side, ≥ 0) is `effect`."""
    if effect < 0:
        raise ValueError("the effect is measured on the claimed side: give a size ≥ 0")
    rng = np.random.default_rng(seed)
    weights = WEIGHTS[scenario.arms]
    true = effect if scenario.side == "above" else -effect
    counts = {"met": 0, "not met": 0, "undecided": 0}
    covered = 0
    for start in range(0, trials, chunk):
        size = min(chunk, trials - start)
        arms = _seed_accuracies(scenario, effect, size, rng)
        if scenario.arms == 1:
            arms = [arms[0] - scenario.base_acc]  # one arm against the constant it is claimed to beat (chance)
        for t in range(size):
            interval = seed_interval(contrast([a[t] for a in arms], weights))
            counts[decide(interval, scenario.min_effect, scenario.side)] += 1
            covered += interval.low <= true <= interval.high
    return Rates(counts["met"] / trials, counts["not met"] / trials, counts["undecided"] / trials,
                 covered / trials, trials)
