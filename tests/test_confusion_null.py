"""The no-shift band of the domain-confusion probe, and the chart that draws it instead of a bare 0.5 line."""
import numpy as np
import pytest

from tl_core.analysis import confusion_null_band, domain_confusion
from tl_view import charts
from tl_view.confusion_null import null_band_for

HISTORY = [{"epoch": 1, "domain_confusion_acc": 0.9, "domain_confusion_n": 200},
           {"epoch": 2, "domain_confusion_acc": 0.8, "domain_confusion_n": 200}]


def test_band_brackets_chance_and_is_seeded():
    band = confusion_null_band(200, seed=3, repeats=12)
    assert band.low < 0.5 < band.high
    assert band.high - band.low < 0.2
    assert confusion_null_band(200, seed=3, repeats=12) == band
    assert (band.n_per_domain, band.repeats) == (200, 12)


def test_band_narrows_with_more_samples():
    small, large = confusion_null_band(60, seed=0, repeats=12), confusion_null_band(600, seed=0, repeats=12)
    assert large.high - large.low < small.high - small.low


def test_a_real_shift_lands_above_the_band():
    rng = np.random.default_rng(7)
    source = rng.standard_normal((200, 64)).astype(np.float32)
    target = rng.standard_normal((200, 64)).astype(np.float32) + 0.4
    assert domain_confusion(source, target).acc > confusion_null_band(200, seed=0, repeats=12).high


def test_band_refuses_too_few_rows():
    with pytest.raises(ValueError, match="n_per_domain"):
        confusion_null_band(1, seed=0, repeats=10)


def test_chart_draws_the_band_instead_of_the_line():
    fig = charts.domain_confusion_chart([charts.with_transfer(HISTORY)], epochs=2, null_band=(0.46, 0.54))
    band = next(t for t in fig.data if t.name == charts.NULL_BAND_LABEL)
    assert (min(band.y), max(band.y)) == (0.46, 0.54)
    assert not fig.layout.shapes  # no bare 0.5 line
    assert charts.NULL_BAND_LABEL == "no shift (95% of chance results)"


def test_band_is_sized_by_the_smallest_probe_sample_and_never_computed_in_the_page(monkeypatch, data_dir):
    """The page gets None while the band is unknown (its computation starts in the background, once), then the
    band itself; the band is stored in the data folder, so the next server process does not compute it again."""
    import time

    from tl_core.analysis import null_band_store

    asked = []

    def fake_band(n, seed=0, repeats=40):
        asked.append(n)
        return confusion_null_band.__wrapped__(n, seed, 3)

    monkeypatch.setattr(null_band_store, "confusion_null_band", fake_band)
    histories = [HISTORY, [{"epoch": 1, "domain_confusion_n": 81}]]
    assert null_band_for(histories) is None
    deadline = time.time() + 60
    while (band := null_band_for(histories)) is None:
        assert time.time() < deadline
        time.sleep(0.05)
    assert asked == [81] and band[0] < band[1]
    monkeypatch.setattr(null_band_store, "_bands", {})  # a new process: memory is empty, the file remains
    assert null_band_for(histories) == band and asked == [81]
