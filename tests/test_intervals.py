"""The lab's one statistic — a 95% t-interval over per-seed paired differences — the rule that turns it into
met / not met / undecided, and a small run of its calibration by simulation."""
import math

import numpy as np
import pytest
from scipy import stats

from tl_core.analysis.intervals import Interval, all_of, contrast, decide, oriented, paired_interval, seed_interval
from tl_core.analysis.verdict_calibration import Scenario, simulate


def test_the_interval_is_students_t_over_seeds():
    diffs = [0.04, 0.07, 0.02, 0.05, 0.06]
    interval = seed_interval(diffs)
    half = stats.t.ppf(0.975, 4) * np.std(diffs, ddof=1) / math.sqrt(5)
    assert interval.effect == pytest.approx(0.048)
    assert (interval.low, interval.high) == pytest.approx((0.048 - half, 0.048 + half))
    assert interval.seeds == 5 and interval.bounded


def test_three_seeds_all_positive_are_not_enough_when_they_spread():
    """The old seed-only percentile interval called this "met" ([min, max] of three seeds lies above 0)."""
    assert decide(seed_interval([-0.02, 0.05, 0.06])) == "undecided"
    assert decide(seed_interval([0.01, 0.09, 0.12])) == "undecided"


def test_one_seed_gives_no_interval_and_no_decision():
    interval = seed_interval([0.3])
    assert not interval.bounded and interval.low == -math.inf and decide(interval) == "undecided"


def test_paired_by_seed():
    treated, control = [0.90, 0.80, 0.85, 0.95, 0.70], [0.85, 0.74, 0.80, 0.91, 0.64]
    interval = paired_interval(treated, control)
    assert interval.effect == pytest.approx(0.052) and interval.low > 0.04  # the seeds move together
    with pytest.raises(ValueError, match="paired"):
        paired_interval(treated, control[:4])


def test_met_needs_the_interval_above_zero_and_the_minimum_effect():
    assert decide(Interval(0.08, 0.02, 0.14, 5), min_effect=0.05) == "met"
    assert decide(Interval(0.03, 0.01, 0.05, 5), min_effect=0.05) == "undecided"  # real, but too small to teach
    assert decide(Interval(0.01, -0.01, 0.03, 5), min_effect=0.05) == "not met"  # rules a worthwhile effect out
    assert decide(Interval(-0.1, -0.15, -0.05, 5)) == "not met"  # wrong side
    assert decide(Interval(0.06, -0.01, 0.13, 5), min_effect=0.05) == "undecided"
    assert decide(Interval(0.0, 0.0, 0.0, 5), min_effect=0.03) == "not met"  # identical arms
    with pytest.raises(ValueError, match="≥ 0"):
        decide(Interval(0.1, 0.05, 0.15, 5), min_effect=-0.01)


def test_a_claim_below_the_line_is_judged_from_its_side():
    loss = Interval(-0.08, -0.12, -0.04, 5)
    assert decide(loss, 0.03, side="below") == "met" and decide(loss, 0.03, side="above") == "not met"
    assert oriented(loss, "below") == Interval(0.08, 0.04, 0.12, 5)


def test_contrasts_combine_arms_seed_by_seed():
    k0_far, k4_far, k0_near, k4_near = [0.9, 0.8], [0.4, 0.3], [0.9, 0.85], [0.8, 0.8]
    assert contrast([k0_far, k4_far, k0_near, k4_near], [1, -1, -1, 1]) == pytest.approx([0.4, 0.45])
    with pytest.raises(ValueError, match="weights"):
        contrast([k0_far], [1, -1])


def test_parts_of_a_claim_combine():
    assert all_of(["met", "met"]) == "met"
    assert all_of(["met", "undecided"]) == "undecided"
    assert all_of(["undecided", "not met"]) == "not met"


def test_the_procedure_is_calibrated_in_simulation():
    """A small, seeded version of bench/verdict_calibration.py: at effect 0, "met" is rare; the interval covers
    the true effect about 95% of the time."""
    scenario = Scenario(seeds=5, images=200, min_effect=0.03)
    null = simulate(scenario, 0.0, trials=400, seed=0)
    assert null.met <= 0.07, null
    assert 0.90 <= null.coverage <= 0.99, null
    assert simulate(scenario, 0.0, trials=400, seed=0) == null  # seeded: the same numbers every time
    strong = simulate(scenario, 0.12, trials=200, seed=1)
    assert strong.met > 0.8 and 0.88 <= strong.coverage <= 1.0, strong


def test_one_seed_is_never_written_as_an_interval():
    from tl_core.lessons.claims import interval_text

    assert interval_text(seed_interval([0.42])) == "+0.42 (one seed: no interval)"
    assert interval_text(Interval(0.05, 0.02, 0.08, 5)) == "+0.05 (95% interval +0.02 to +0.08)"


def test_a_figure_just_short_of_its_bar_never_prints_as_the_bar():
    from tl_core.lessons.claims import Claim, claim_text, interval_text

    assert interval_text(Interval(0.0996, 0.04, 0.15, 5), bar=0.10) == "+0.0996 (95% interval +0.04 to +0.15)"
    assert interval_text(Interval(0.104, 0.04, 0.15, 5), bar=0.10) == "+0.104 (95% interval +0.04 to +0.15)"
    assert interval_text(Interval(0.12, 0.003, 0.24, 5), bar=0.10) == "+0.12 (95% interval +0.003 to +0.24)"
    assert interval_text(Interval(0.10, 0.05, 0.15, 5), bar=0.10) == "+0.10 (95% interval +0.05 to +0.15)"
    short = claim_text(Claim("a − b", "above", 0.03, ("a", "b")), Interval(0.0296, 0.01, 0.05, 5))
    assert "(+0.0296 on the claimed side) falls short of the 0.03" in short, short
