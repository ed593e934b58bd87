"""Runs on a real local Ray cluster started here (not mocked): epoch events stream back while the run trains, the
server's run directory ends up with the complete record although the actor trained in a store of its own, stop
reaches the actor, and a killed actor fails its run, not the server.

Skipped when Ray is not installed, unless CI=true (then it fails: CI must run it; `make test` installs it)."""
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tl_core.records.run_dir import RunDir
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status

pytestmark = pytest.mark.ray

if importlib.util.find_spec("ray") is None:
    if os.environ.get("CI") == "true":
        pytest.fail("Ray is missing: CI must run the Ray executor tests (pip install -r requirements-ray.txt)",
                    pytrace=False)
    pytest.skip("Ray is not installed", allow_module_level=True)

from test_executors import wait_until  # noqa: E402  (the same polling helper as the other executors' tests)

from tl_core.serving.jobs import JobManager  # noqa: E402

TINY = RunConfig(source="digits", target="digits-m", backbone="small_cnn", weights="random", strategy="fine-tune",
                 freeze=0, labels_per_class=20, epochs=3, batch_size=64, lr=3e-3, img_size=16, snapshot_size=64,
                 device="cpu")
LONG = TINY.replace(epochs=200, snapshot_size=0)


@pytest.fixture(scope="module")
def cluster(data_dir):
    """A separate local cluster of 2 CPUs, started like an administrator would (`ray start --head`), after
    TL_DATA_DIR is set so its workers reuse the datasets this session built; the server joins it through
    $TL_RAY_ADDRESS and sends the project's code with the job. Ray reads its token settings when it is first
    imported, so nothing in this session may import it before they are set."""
    assert "ray" not in sys.modules, "an earlier test imported ray in-process; ask Ray in a child process instead"
    os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))  # as Ray advises a cluster
    ray_cli = str(Path(sys.executable).with_name("ray"))
    port = free_port()
    subprocess.run([ray_cli, "start", "--head", f"--port={port}", "--num-cpus=2", "--num-gpus=0",
                    "--include-dashboard=false", f"--object-store-memory={128 * 1024**2}",
                    "--disable-usage-stats"], check=True, capture_output=True, timeout=120)
    address = f"127.0.0.1:{port}"
    os.environ["TL_RAY_ADDRESS"] = address
    yield address
    import ray

    ray.shutdown()
    for name in ("TL_RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
        os.environ.pop(name, None)
    subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def manager(cluster, tmp_path_factory):
    manager = JobManager(tmp_path_factory.mktemp("runs"), slots=1, executor="ray")
    yield manager
    manager.close()


def record_files(run_dir):
    return sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file())


def test_a_ray_run_streams_its_epochs_and_lands_a_complete_record(manager, runs_dir):
    run_id = manager.submit(TINY, owner="student")
    seen_running = []
    while not (view := manager.view(run_id)).status.terminal:
        if view.status is Status.RUNNING and view.history:
            seen_running.append(len(view.history))
        time.sleep(0.05)
    assert view.status is Status.FINISHED, (view.summary.get("reason"), view.summary.get("hint"))
    assert seen_running and min(seen_running) < TINY.epochs  # epochs reached the server before the run ended

    run = manager.store.run_dir(run_id)
    summary = run.read_summary()
    assert summary["status"] == "finished" and summary["run_dir"] == str(run.path)
    assert summary["pid"] != os.getpid()  # trained in an actor, not here
    assert [row["epoch"] for row in run.read_metrics()] == [1, 2, 3]
    assert all(os.path.isfile(path) and path.startswith(str(run.path)) for _, path in view.snapshots)
    row = manager.store.get(run_id)
    assert row["status"] == "finished" and row["owner"] == "student"
    assert row["target_acc"] == pytest.approx(summary["target_acc"])

    from tl_core.runs.runner import run_config  # the same run in this process: the same files make up its record
    local = run_config(TINY, runs_dir)
    assert record_files(run.path) == record_files(runs_dir / local["run_id"])


def test_stop_reaches_the_ray_actor(manager):
    run_id = manager.submit(LONG, owner="student")
    wait_until(lambda: manager.view(run_id).step > 0)
    manager.stop(run_id, by="student")
    view = manager.wait(run_id, timeout_s=60)
    assert view.status is Status.STOPPED
    assert len(view.history) < LONG.epochs


def test_killing_the_actor_fails_that_run_and_the_next_one_runs(manager):
    doomed = manager.submit(LONG.replace(seed=1), owner="student")
    following = manager.submit(TINY.replace(seed=2, epochs=1, snapshot_size=0), owner="student")
    wait_until(lambda: manager.view(doomed).step > 0)
    pid = manager.worker_pid(doomed)
    assert pid is not None and pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    view = manager.wait(doomed, timeout_s=60)
    assert view.status is Status.FAILED and "Ray worker running this run was lost" in view.summary["reason"]
    assert manager.store.get(doomed)["status"] == "failed"
    assert manager.wait(following, timeout_s=180).status is Status.FINISHED


def test_the_cli_trains_on_ray(cluster, runs_dir):
    """`train --executor ray` joins the cluster at $TL_RAY_ADDRESS as its own job."""
    done = subprocess.run([sys.executable, "-m", "tl_core", "train", "--runs-dir", str(runs_dir), "--executor", "ray",
                           "--source", "digits", "--target", "digits-m", "--weights", "random", "--epochs", "1",
                           "--img-size", "16", "--snapshot-size", "0", "--device", "cpu", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"status": "finished"' in done.stdout


CLI_TRAIN = [sys.executable, "-m", "tl_core", "train", "--executor", "ray", "--source", "digits", "--target",
             "digits-m", "--weights", "random", "--epochs", "1", "--img-size", "16", "--snapshot-size", "0",
             "--device", "cpu", "--json"]


@pytest.fixture
def no_cluster_named(data_dir):
    """A shell's environment with no cluster named; Ray's own files go to a short temporary folder of their own
    (its socket paths must stay under ~100 characters)."""
    tmp = tempfile.mkdtemp(prefix="tl-ray-", dir="/tmp")
    unset = ("TL_RAY_ADDRESS", "RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")
    yield {**{k: v for k, v in os.environ.items() if k not in unset}, "TMPDIR": tmp}
    shutil.rmtree(tmp, ignore_errors=True)


def test_the_cli_without_a_cluster_starts_a_local_ray_instance_and_says_so(no_cluster_named, runs_dir):
    done = subprocess.run([*CLI_TRAIN, "--runs-dir", str(runs_dir)], env=no_cluster_named, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    said = [line for line in done.stdout.splitlines() if "local Ray instance" in line]
    assert len(said) == 1 and "TL_RAY_ADDRESS" in said[0], done.stdout[-2000:]
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["status"] == "finished"
    run = RunDir(Path(summary["run_dir"]))
    assert [row["epoch"] for row in run.read_metrics()] == [1]
    assert {"config.json", "metrics.jsonl", "summary.json", "evaluation.json", "model.safetensors"} <= set(
        record_files(run.path))


def test_the_cli_with_a_cluster_that_does_not_answer_says_what_to_do(no_cluster_named, runs_dir):
    env = {**no_cluster_named, "TL_RAY_ADDRESS": f"127.0.0.1:{free_port()}"}
    done = subprocess.run([*CLI_TRAIN, "--runs-dir", str(runs_dir)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr[-2000:]
    assert "No Ray cluster answers at 127.0.0.1:" in done.stderr and "ray start --head" in done.stderr
    assert not runs_dir.exists() or not list(runs_dir.iterdir())  # nothing recorded
