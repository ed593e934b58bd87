"""Runs in worker processes: they finish, stop within a batch, and a killed worker fails one run, not the server."""
import os
import signal
import subprocess
import sys
import time

import pytest

from tl_core.records.store import RunStore
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status
from tl_core.serving.executors import default_executor
from tl_core.serving.executors.worker import StepThrottle
from tl_core.serving.jobs import JobManager
from tl_core.train.events import EpochEnd, Step

TINY = RunConfig(source="digits", target="digits-m", backbone="small_cnn", weights="random", strategy="fine-tune",
                 freeze=0, labels_per_class=20, epochs=2, batch_size=64, lr=3e-3, img_size=16, snapshot_size=0,
                 device="cpu")
LONG = TINY.replace(epochs=200)  # long enough to be caught mid-run


@pytest.fixture(scope="module")
def manager(tmp_path_factory, data_dir):
    """One worker process for the module: spawning one imports torch, which takes seconds."""
    manager = JobManager(tmp_path_factory.mktemp("runs"), slots=1, executor="processes")
    yield manager
    manager.close()


def wait_until(predicate, timeout_s=120.0):
    deadline = time.time() + timeout_s
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_run_in_a_worker_process_finishes_with_its_history(manager):
    run_id = manager.submit(TINY, owner="test")
    view = manager.wait(run_id, timeout_s=180)
    assert view.status is Status.FINISHED, view.summary
    assert [row["epoch"] for row in view.history] == [1, 2]
    assert view.summary["pid"] != os.getpid()
    assert manager.store.get(run_id)["status"] == "finished"


@pytest.mark.slow
def test_stop_reaches_the_worker(manager):
    run_id = manager.submit(LONG, owner="test")
    wait_until(lambda: manager.view(run_id).step > 0)
    manager.stop(run_id, by="test")
    view = manager.wait(run_id, timeout_s=60)
    assert view.status is Status.STOPPED
    assert len(view.history) < LONG.epochs


@pytest.mark.slow
def test_the_worker_trains_at_a_lower_priority_than_the_server(manager):
    from tl_core.serving.executors.worker import NICENESS

    run_id = manager.submit(LONG.replace(seed=LONG.seed + 7), owner="test")
    wait_until(lambda: manager.view(run_id).step > 0)
    pid = manager.worker_pid(run_id)
    try:
        assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + NICENESS
    finally:
        manager.stop(run_id, by="test")
        manager.wait(run_id, timeout_s=60)


@pytest.mark.slow
def test_the_server_leaves_what_it_loads_at_start_out_of_garbage_collection():
    """A full collection scanned the 600,000 objects of torch, plotly and pandas, about 0.3 s with every page
    script waiting: the Runs page's slow loads while a class's runs trained."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    # the preload runs in the app's lifespan hook, once Streamlit's runtime exists (as `streamlit run serve.py` runs it)
    script = ("import asyncio, gc, serve\n"
              "async def started():\n"
              "    async with serve.preload(serve.app):\n"
              "        print(gc.get_freeze_count())\n"
              "asyncio.run(started())")
    out = subprocess.run([sys.executable, "-c", script], cwd=root,
                         capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(root)})
    assert int(out.stdout.split()[-1]) > 100_000, out.stdout + out.stderr


@pytest.mark.slow
def test_killing_the_worker_fails_that_run_and_the_next_one_runs(manager):
    doomed = manager.submit(LONG, owner="test")
    following = manager.submit(TINY.replace(seed=TINY.seed + 1), owner="test")  # not identical: really computed
    wait_until(lambda: manager.view(doomed).step > 0)
    pid = manager.worker_pid(doomed)
    assert pid is not None and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    view = manager.wait(doomed, timeout_s=60)
    assert view.status is Status.FAILED
    assert "worker process running this run died (signal 9" in view.summary["reason"]
    assert manager.store.run_dir(doomed).read_summary()["status"] == "failed"
    assert RunStore(manager.store.runs_dir).get(doomed)["status"] == "failed"
    assert manager.wait(following, timeout_s=180).status is Status.FINISHED
    assert manager.worker_pid(following) is None and manager.view(following).summary["pid"] != pid


@pytest.mark.slow
def test_the_threads_executor_runs_in_the_server_process(runs_dir):
    manager = JobManager(runs_dir, slots=1, executor="threads")
    try:
        run_id = manager.submit(TINY, owner="test")
        view = manager.wait(run_id, timeout_s=120)
        assert view.status is Status.FINISHED and len(view.history) == 2 and view.summary["pid"] == os.getpid()
    finally:
        manager.close()


def test_the_executor_defaults_to_processes_unless_told(monkeypatch):
    monkeypatch.delenv("TL_EXECUTOR", raising=False)
    assert default_executor() == "processes"
    monkeypatch.setenv("TL_EXECUTOR", "threads")
    assert default_executor() == "threads"


def test_steps_are_throttled_but_epoch_ends_and_last_steps_pass():
    now = [0.0]
    throttle = StepThrottle(interval_s=0.2, clock=lambda: now[0])
    step = lambda i: Step("r", "train", 1, i, 10, 0.5)  # noqa: E731
    assert throttle.passes(step(1))
    now[0] = 0.1
    assert not throttle.passes(step(2))
    assert throttle.passes(EpochEnd("r", "train", 1, 2, {}))
    assert throttle.passes(step(10))
    now[0] = 0.35
    assert throttle.passes(step(3))


@pytest.mark.slow
def test_ray_is_imported_only_when_asked_for(runs_dir):
    """Ray is optional: the server, the CLI and the other executors never import it."""
    code = ("import sys; import tl_core.cli, tl_ui.state; from tl_core.serving.jobs import JobManager; "
            f"JobManager({str(runs_dir)!r}, slots=1, executor='threads').close(); print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr[-2000:]
