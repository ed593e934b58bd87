"""Shared fixtures: every test writes runs and built datasets into temporary folders, never the network."""
import os

import pytest

os.environ["TL_OFFLINE"] = "1"  # tests never touch the network


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """One dataset cache for the whole session, so each built-in domain is built once."""
    path = tmp_path_factory.mktemp("data")
    os.environ["TL_DATA_DIR"] = str(path)
    return path


@pytest.fixture
def runs_dir(tmp_path, data_dir, monkeypatch):
    path = tmp_path / "runs"
    monkeypatch.setenv("TL_RUNS_DIR", str(path))
    return path


@pytest.fixture
def tiny(runs_dir):
    """A run config small enough to train in a few seconds on 2 CPU cores."""
    from tl_core.config import RunConfig

    return RunConfig(source="digits", target="digits-m", backbone="small_cnn", weights="random",
                     strategy="fine-tune", freeze=0, labels_per_class=20, epochs=2, batch_size=64, lr=3e-3,
                     pretrain_epochs=1, snapshot_size=100, device="cpu")
