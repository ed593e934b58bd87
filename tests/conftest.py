"""Shared fixtures: every test writes runs and built datasets into temporary folders, never the network."""
import os
import socket

import pytest

os.environ["TL_OFFLINE"] = "1"  # tests never touch the network
os.environ["TL_QUIET_WAIT_S"] = "0"  # a test times batches at once, busy machine or not (tests of the wait set it)
os.environ["TL_TIME_AHEAD"] = "0"  # no server started by a test times the lessons' networks behind its back


def pytest_collection_modifyitems(items):
    """A test that opens Chromium is a browser test wherever it lives, so `make test-fast` never starts one."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """One dataset cache for the whole session, so each built-in domain is built once."""
    path = tmp_path_factory.mktemp("data")
    os.environ["TL_DATA_DIR"] = str(path)
    return path


@pytest.fixture
def network_attempts(monkeypatch):
    """Every name lookup or connection a test makes, refused and recorded: "fails at once offline" is asserted as
    "never tried the network" (an empty list), not by timing a test on a machine that may be busy."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("this test refuses the network")

    for owner, name in ((socket, "getaddrinfo"), (socket, "create_connection"), (socket.socket, "connect")):
        monkeypatch.setattr(owner, name, refuse)
    return attempts


@pytest.fixture
def runs_dir(tmp_path, data_dir, monkeypatch):
    path = tmp_path / "runs"
    monkeypatch.setenv("TL_RUNS_DIR", str(path))
    return path


@pytest.fixture
def tiny(runs_dir):
    """A run config small enough to train in a few seconds on 2 CPU cores."""
    from tl_core.runs.config import RunConfig

    return RunConfig(source="digits", target="digits-m", backbone="small_cnn", weights="random",
                     strategy="fine-tune", freeze=0, labels_per_class=20, epochs=2, batch_size=64, lr=3e-3,
                     pretrain_epochs=1, snapshot_size=100, device="cpu")


@pytest.fixture
def dashboard(runs_dir, monkeypatch):
    """A fresh job manager and chain runner per test (st.cache_resource is process-wide), runs in a temporary
    folder, no UMAP warm-up; whatever the test left running is stopped before the next one starts. Runs execute
    on threads: a fresh manager per test would otherwise spawn (and leave behind) a worker importing torch."""
    import streamlit as st

    from tl_core.serving.owners import Actor
    from tl_ui import state

    monkeypatch.setenv("TL_WARM_UMAP", "0")
    monkeypatch.setenv("TL_EXECUTOR", "threads")
    st.cache_resource.clear()
    yield runs_dir
    state.runner().stop_all()
    manager = state.manager()
    for run_id in manager.active_ids():
        manager.stop(run_id, by=Actor("", teacher=True))
        manager.wait(run_id, timeout_s=120)
    st.cache_resource.clear()


@pytest.fixture
def app_env(runs_dir, monkeypatch):
    """For AppTest pages: a fresh job manager per test (st.cache_resource is process-wide), runs in a temporary
    folder, no UMAP warm-up. Files that need more (cleared data caches) define their own."""
    import streamlit as st

    monkeypatch.setenv("TL_WARM_UMAP", "0")
    st.cache_resource.clear()
    yield runs_dir
    st.cache_resource.clear()


@pytest.fixture
def scramble_test_labels(monkeypatch):
    """A function that, once called, makes every run built from then on see the target-test labels permuted
    (images untouched): whatever must not read them gives the same answer after the call."""
    def scramble() -> None:
        import torch

        from tl_core.runs import runner

        build = runner.build_task

        def scrambled(*args, **kwargs):
            task = build(*args, **kwargs)
            task.test.y = task.test.y[torch.randperm(len(task.test.y), generator=torch.Generator().manual_seed(1))]
            return task

        monkeypatch.setattr(runner, "build_task", scrambled)

    return scramble


@pytest.fixture
def dann_step():
    """A function: one DANN training step (`Strategy.loss`, progress 0.5) of a fresh small_cnn at 16 px (seed 0) with
    these settings, on uint8 source images, their labels and uint8 target images; returns its StepOutput."""
    def step(settings: dict, source, labels, target):
        import torch

        from tl_core.backbones import create_backbone
        from tl_core.networks.model import TransferModel
        from tl_core.strategies import build_strategy
        from tl_core.train.task import Batch

        torch.manual_seed(0)
        model = TransferModel(create_backbone("small_cnn", "random", 16), 10)
        strategy = build_strategy("dann", settings)
        strategy.prepare(model, None, type("C", (), {"freeze": 0})())
        model.train()
        return strategy.loss(model, Batch(source, labels, target), 0.5)

    return step
