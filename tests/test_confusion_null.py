"""The no-shift band of the domain-confusion probe, and the chart that draws it instead of a bare 0.5 line."""
import os
from pathlib import Path

import numpy as np
import pytest

from tl_core.analysis import domain_confusion, permutation_null_band
from tl_view import charts, confusion_null
from tl_view.confusion_null import band_snapshots, null_band_for

HISTORY = [{"epoch": 1, "domain_confusion_acc": 0.9, "domain_confusion_n": 200},
           {"epoch": 2, "domain_confusion_acc": 0.8, "domain_confusion_n": 200}]


def _features(shift: float, n: int = 120, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scale = np.linspace(0.2, 3.0, 32)  # features with their own spread, unlike a unit Gaussian
    return ((rng.standard_normal((n, 32)) * scale).astype(np.float32),
            (rng.standard_normal((n, 32)) * scale + shift).astype(np.float32))


def test_the_permutation_band_brackets_chance_is_seeded_and_a_real_shift_lands_above_it():
    source, target = _features(0.0)
    band = permutation_null_band(source, target, draws=40, seed=3, folds=3)
    assert band.low < 0.5 < band.high and band.high - band.low < 0.25
    assert permutation_null_band(source, target, draws=40, seed=3, folds=3) == band
    assert (band.n_per_domain, band.repeats) == (120, 40)
    shifted = _features(0.8)
    assert domain_confusion(*shifted, folds=3).acc > band.high


def test_band_refuses_too_few_rows():
    source, target = _features(0.0, n=1)
    with pytest.raises(ValueError, match="rows per domain"):
        permutation_null_band(source, target)


def test_chart_draws_the_band_instead_of_the_line():
    fig = charts.domain_confusion_chart([charts.with_transfer(HISTORY)], epochs=2, null_band=(0.46, 0.54))
    band = next(t for t in fig.data if t.name == charts.NULL_BAND_LABEL)
    assert (min(band.y), max(band.y)) == (0.46, 0.54)
    assert not fig.layout.shapes  # no bare 0.5 line
    assert charts.NULL_BAND_LABEL == "no shift (95% of shuffled domain labels)"


def test_the_page_band_comes_from_the_runs_own_features_and_is_never_computed_in_the_page(monkeypatch, tmp_path,
                                                                                          data_dir):
    """The page gets None while the band is unknown (its computation starts in the background, once), then the
    band of that very snapshot, stored in the data folder, so the next server process does not compute it again;
    while a finished run's final band is computed, the band of the features it started from stays drawn. A run
    filled from an identical one holds the same snapshot (a hard link): its band is the same, not computed again."""
    import time

    from tl_core.analysis import null_band_store

    asked = []

    def fake_band(source, target, draws=200, seed=0, folds=5):
        asked.append(len(source))
        return permutation_null_band(source, target, draws=8, seed=seed, folds=3)

    monkeypatch.setattr(null_band_store, "permutation_null_band", fake_band)
    first, last = tmp_path / "epoch_000.npz", tmp_path / "epoch_002.npz"
    np.savez(first, **dict(zip(("source_feats", "target_feats"), _features(0.0, n=40))))
    np.savez(last, **dict(zip(("source_feats", "target_feats"), _features(0.0, n=50))))
    snapshots = [(0, str(first)), (2, str(last))]
    assert band_snapshots(snapshots, finished=False) == [str(first)]
    before = confusion_null.bands_version()
    assert null_band_for(band_snapshots(snapshots, finished=False)) is None
    deadline = time.time() + 60
    while (band := null_band_for(band_snapshots(snapshots, finished=False))) is None:
        assert time.time() < deadline
        time.sleep(0.05)
    assert asked == [40] and band[0] < 0.5 < band[1]
    while confusion_null.computing():
        assert time.time() < deadline
        time.sleep(0.05)
    assert confusion_null.bands_version() > before  # a figure cached without the band is built again
    finished = band_snapshots(snapshots, finished=True)
    assert finished == [str(last), str(first)] and null_band_for(finished) == band  # the start's, meanwhile
    while null_band_for(finished) == band:
        assert time.time() < deadline
        time.sleep(0.05)
    assert asked == [40, 50]
    assert null_band_store.known_features_band(last).n_per_domain == 50  # stored for the next process
    follower = tmp_path / "follower"
    follower.mkdir()
    os.link(last, follower / last.name)
    assert null_band_for([follower / last.name]) == null_band_for([last]) and asked == [40, 50]


def test_a_curve_starts_at_epoch_0_where_the_starting_snapshot_kept_its_confusion(tmp_path):
    """The network a run starts from is measured before training (its epoch-0 snapshot keeps the figure), so a
    run and its twin from the same network share their first point; snapshots saved before that get none."""
    from tl_view.start_point import from_the_start

    kept, older = tmp_path / "epoch_000.npz", tmp_path / "old" / "epoch_000.npz"
    older.parent.mkdir()
    np.savez(kept, source_feats=np.zeros((2, 2)), domain_confusion_acc=np.asarray(0.93), a_distance=np.asarray(1.72))
    np.savez(older, source_feats=np.zeros((2, 2)))
    history = from_the_start(HISTORY, [(0, str(kept)), (2, "epoch_002.npz")])
    assert history[0] == {"epoch": 0, "domain_confusion_acc": pytest.approx(0.93), "a_distance": pytest.approx(1.72)}
    assert history[1:] == HISTORY
    assert from_the_start(HISTORY, [(0, str(older))]) == HISTORY
    assert from_the_start(HISTORY, [(2, str(kept))]) == HISTORY  # no epoch-0 snapshot: no point at 0
    assert from_the_start(HISTORY, []) == HISTORY
    fig = charts.domain_confusion_chart([charts.with_transfer(history)], epochs=2)
    assert list(fig.data[0].x) == [0, 1, 2] and fig.layout.xaxis.range[0] < 0


@pytest.mark.slow
def test_a_run_s_starting_snapshot_keeps_the_confusion_it_measured(runs_dir):
    from tl_core.records.run_dir import RunDir
    from tl_core.records.run_view import snapshots_on_disk
    from tl_core.runs.config import RunConfig
    from tl_core.runs.runner import run_config
    from tl_core.train.snapshots import measured_metrics
    from tl_view.start_point import from_the_start

    summary = run_config(RunConfig(source="digits", target="digits-m", weights="random", strategy="dann", freeze=0,
                                   epochs=1, img_size=16, snapshot_size=60, device="cpu"), runs_dir)
    assert summary["status"] == "finished", summary.get("reason")
    run = RunDir(Path(summary["run_dir"]))
    snapshots = snapshots_on_disk(run.snapshots_dir)
    assert [epoch for epoch, _ in snapshots] == [0, 1]
    final = measured_metrics(snapshots[1][1])
    assert final["domain_confusion_acc"] == pytest.approx(summary["domain_confusion_acc"])
    start = from_the_start(run.read_metrics(), snapshots)[0]
    assert start["epoch"] == 0 and 0.0 <= start["domain_confusion_acc"] <= 1.0 and 0.0 <= start["a_distance"] <= 2.0
