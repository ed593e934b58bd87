"""bench/source_subset.py: a dataset cut to given per-class counts, written as an image folder the lab loads."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tl_core.data import load_domain

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture
def source_subset(data_dir, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setenv("TL_DATA_DIR", str(data_dir))  # `common` only fills in variables that are unset
    import source_subset

    return source_subset


def test_the_folder_holds_the_counts_asked_as_the_sources_own_training_images(source_subset, tmp_path):
    counts = np.array([3, 4, 5, 6, 7, 3, 4, 5, 6, 7])
    assert source_subset.write_subset("digits-m", counts, tmp_path / "a", seed=1) == counts.sum()
    folder = load_domain(f"folder:{tmp_path / 'a'}", 32)
    source = load_domain("digits-m", 32)
    assert folder.classes == source.classes
    images = torch.cat([folder.train.images, folder.val.images, folder.test.images])
    labels = torch.cat([folder.train.labels, folder.val.labels, folder.test.labels])
    assert np.bincount(labels.numpy(), minlength=10).tolist() == counts.tolist()
    pool = source.train.images.reshape(len(source.train.labels), -1)
    for image, label in zip(images.reshape(len(labels), -1), labels):  # byte-identical, same class
        matches = (pool == image).all(1).nonzero().flatten()
        assert len(matches) and (source.train.labels[matches] == label).all()


def test_the_draw_follows_the_seed(source_subset, tmp_path):
    counts = np.full(10, 3)
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        source_subset.write_subset("digits", counts, tmp_path / name, seed=seed)
    names = {n: sorted(p.name for p in (tmp_path / n).rglob("*.png")) for n in "abc"}
    assert names["a"] == names["b"] != names["c"]


def test_a_full_folder_or_a_count_past_the_split_is_refused(source_subset, tmp_path):
    source_subset.write_subset("digits", np.full(10, 2), tmp_path / "a")
    with pytest.raises(ValueError, match="not empty"):
        source_subset.write_subset("digits", np.full(10, 2), tmp_path / "a")
    with pytest.raises(ValueError, match="fewer than the 1000 asked"):
        source_subset.write_subset("digits", np.array([2] * 9 + [1000]), tmp_path / "b")  # the last class
    assert not (tmp_path / "b").exists()
