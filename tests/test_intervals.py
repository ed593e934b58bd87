"""Paired bootstrap intervals and the verdicts they support, on synthetic data with a known answer."""
import numpy as np
import pytest

from tl_core.analysis.domain_confusion import confusion_null_band
from tl_core.analysis.intervals import Interval, all_of, contrast_interval, decide, difference_interval


def correctness(rate: float, seeds: int = 3, images: int = 400, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((seeds, images)) < rate).astype(float)


def test_a_clear_gain_is_met_a_clear_loss_not_met():
    better, worse = correctness(0.9, seed=1), correctness(0.6, seed=2)
    gain = difference_interval(better, worse)
    assert gain.effect == pytest.approx(better.mean() - worse.mean())
    assert 0 < gain.low < gain.effect < gain.high and decide(gain) == "met"
    assert decide(difference_interval(worse, better)) == "not met"
    assert (gain.seeds, gain.items) == (3, 400)


def test_a_gain_the_size_of_the_noise_is_undecided():
    a, b = correctness(0.86, images=359, seed=3), correctness(0.86, images=359, seed=4)
    interval = difference_interval(a, b)
    assert interval.low < 0 < interval.high and decide(interval) == "undecided"


def test_pairing_by_image_narrows_the_interval():
    """Two arms that disagree on only a few images: paired, the interval is tight around their small gap."""
    base = correctness(0.8, seed=5)
    improved = base.copy()
    improved[:, :12] = 1.0  # a dozen more right per seed
    interval = difference_interval(improved, base)
    assert decide(interval) == "met" and interval.high - interval.low < 0.05


def test_seed_to_seed_spread_widens_the_interval():
    """One number per seed: a gain that flips sign across seeds is undecided, a consistent one is met."""
    consistent = difference_interval(np.array([[0.9], [0.91], [0.92]]), np.array([[0.8], [0.82], [0.81]]))
    flipping = difference_interval(np.array([[0.9], [0.7], [0.92]]), np.array([[0.8], [0.85], [0.81]]))
    assert decide(consistent) == "met" and decide(flipping) == "undecided"
    assert consistent.items == 1


def test_a_difference_of_differences_and_a_threshold():
    steep_k0, steep_k4 = correctness(0.95, seed=6), correctness(0.4, seed=7)
    flat_k0, flat_k4 = correctness(0.95, seed=8), correctness(0.85, seed=9)
    steeper = contrast_interval([steep_k0, steep_k4, flat_k0, flat_k4], [1, -1, -1, 1])
    assert steeper.effect == pytest.approx(0.45, abs=0.05) and decide(steeper) == "met"
    assert decide(steeper, threshold=0.6) == "not met"


def test_intervals_are_seeded_and_check_their_input():
    a, b = correctness(0.7, seed=10), correctness(0.6, seed=11)
    assert difference_interval(a, b, seed=3) == difference_interval(a, b, seed=3)
    with pytest.raises(ValueError, match="paired"):
        difference_interval(a, b[:2])
    with pytest.raises(ValueError, match="weights"):
        contrast_interval([a, b], [1.0])


def test_parts_of_a_claim_combine():
    assert all_of(["met", "met"]) == "met"
    assert all_of(["met", "undecided"]) == "undecided"
    assert all_of(["undecided", "not met"]) == "not met"
    assert decide(Interval(0.0, -0.01, 0.02)) == "undecided"
    assert decide(Interval(0.0, 0.0, 0.0)) == "not met"  # two identical arms: no effect at all


def test_the_confusion_null_band_sits_around_one_half():
    band = confusion_null_band(200, seed=0, repeats=8)
    assert 0.35 < band.low < 0.5 < band.high < 0.65


def test_one_number_per_arm_is_never_written_as_an_interval():
    from tl_core.analysis.intervals import Interval
    from tl_core.verdicts import interval_text

    assert interval_text(Interval(0.42, 0.42, 0.42)) == "+0.42 (one run per arm so far: no interval yet)"
    assert interval_text(Interval(0.05, 0.02, 0.08, seeds=3)) == "+0.05 (95% interval +0.02 to +0.08)"
    assert "95% interval" in interval_text(Interval(0.05, 0.01, 0.09, seeds=1, items=500))  # over test images
