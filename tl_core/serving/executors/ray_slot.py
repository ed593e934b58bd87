"""Runs execute on a Ray cluster: one long-lived actor per slot, so a department can train on more machines than
the one serving the pages. Ray is optional (requirements-ray.txt) and imported only when this executor is chosen.

The actor gets the project's code through Ray's `working_dir` (the nodes need the packages of requirements.txt,
not this repository) and executes each run in a run store of its own, on its own disk. The slot's thread here
asks it every `POLL_S` for the events since the last call and the run's files that changed, writes those files
into the server's run directory and index, then passes the events on; when the run ends the actor sends every
file of the run (metrics, summary, weights, snapshots), so the server's record is complete even when no disk is
shared. A stop reaches the actor at once and takes effect within one batch, as in a worker process.

Which cluster: `tl_core.serving.executors.ray_cluster` (`$TL_RAY_ADDRESS`, else a local Ray instance); each run asks for `$TL_RAY_CPUS` CPUs (default 1) and `$TL_RAY_GPUS` GPUs (default a quarter of one when the
cluster has GPUs: the curated backbones are small, so four runs share a GPU).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import ray

from tl_core.errors import UserError
from tl_core.records.run_dir import RunDir, write_atomic
from tl_core.records.store import RunStore
from tl_core.serving.executors.base import RunLost, StopSignal
from tl_core.serving.executors.ray_cluster import connect
from tl_core.strategies import strategy_class
from tl_core.train.events import Event, RunEnded, Snapshot, Subscriber

POLL_S = 0.2
Files = dict[str, bytes]


def run_resources() -> dict[str, Any]:
    """What each run asks the cluster for."""
    gpus = os.environ.get("TL_RAY_GPUS")
    if gpus is None:
        gpus = "0.25" if ray.cluster_resources().get("GPU", 0) > 0 else "0"
    return {"num_cpus": float(os.environ.get("TL_RAY_CPUS", "1")), "num_gpus": float(gpus)}


def read_files(path: Path, seen: dict[str, tuple[int, int]] | None = None) -> Files:
    """The run directory's files (relative path → bytes), leaving out temporary files. With `seen`, only files
    changed since the last call, and metrics.jsonl cut after its last whole line (it is appended to while read)."""
    files: Files = {}
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = file.relative_to(path).as_posix()
        try:
            stat = file.stat()
            if seen is not None:
                if seen.get(rel) == (stat.st_mtime_ns, stat.st_size):
                    continue
                seen[rel] = (stat.st_mtime_ns, stat.st_size)
            data = file.read_bytes()
        except FileNotFoundError:  # replaced between listing and reading: the next call sends it
            continue
        if seen is not None and rel == "metrics.jsonl":
            data = data[:data.rfind(b"\n") + 1]
        files[rel] = data
    return files


def write_files(path: Path, files: Files) -> None:
    for rel, data in files.items():
        target = path / rel
        if not target.resolve().is_relative_to(path.resolve()):
            raise RunLost(f"The Ray worker sent a file outside the run directory ({rel!r}); it was refused.")
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data)


def referenced_runs(run: RunDir) -> list[str]:
    """Other runs a run reads while it trains (a distillation student's teacher): they travel with it."""
    config = run.read_config()
    teacher = (config.settings or {}).get("teacher") if strategy_class(config.strategy).needs_teacher else None
    return [teacher] if teacher else []


@ray.remote(max_concurrency=4)  # one thread executes the run while others answer `drain` and `stop`
class RunActor:
    def __init__(self, torch_threads: int):
        import torch  # in the actor's own process, which imports nothing of the driver's

        torch.set_num_threads(max(1, torch_threads))
        self.store = RunStore(tempfile.mkdtemp(prefix="tl-ray-runs-"))
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._seen: dict[str, tuple[int, int]] = {}
        self._stop = threading.Event()
        self._run: RunDir | None = None

    def pid(self) -> int:
        return os.getpid()

    def execute(self, run_id: str, files: Files, others: dict[str, Files]) -> Files:
        """Train the run from its recorded files; returns every file of its finished record."""
        from tl_core.runs.runner import execute_run  # the engine loads in the actor's process, not the driver's

        for other_id, other_files in others.items():
            write_files(self.store.runs_dir / other_id, other_files)
        run = self.store.run_dir(run_id)
        write_files(run.path, files)
        with self._lock:
            self._events, self._seen, self._stop, self._run = [], {}, threading.Event(), run
        try:
            execute_run(run, [self._record], self._stop, self.store)
            return read_files(run.path)
        finally:
            with self._lock:
                self._run = None
            for path in (run.path, *(self.store.runs_dir / other_id for other_id in others)):
                shutil.rmtree(path, ignore_errors=True)

    def _record(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def drain(self) -> tuple[list[Event], Files]:
        """The events since the last call, and the run's files that changed. The events are taken first: a file
        an event announces was written before the event, so it is read here complete."""
        with self._lock:  # held briefly: the training thread records its events under it
            events, self._events = self._events, []
            run = self._run
        return events, read_files(run.path, self._seen) if run is not None else {}

    def stop(self) -> None:
        self._stop.set()


class RaySlot:
    def __init__(self, store: RunStore):
        self.store = store
        self._actor = None

    def start(self) -> int:
        """Start this slot's actor if it has none (or it died); returns the pid it executes runs in."""
        try:
            connect()
            if self._actor is None:
                resources = run_resources()
                self._actor = RunActor.options(**resources).remote(int(resources["num_cpus"]))
            return ray.get(self._actor.pid.remote())
        except UserError as err:
            raise RunLost(str(err)) from None
        except (ConnectionError, ray.exceptions.RayError) as err:
            self._actor = None
            raise RunLost(f"The Ray cluster could not take the run: {type(err).__name__}: {err}",
                          "Check that the cluster's nodes have the packages of requirements.txt.") from None

    def run(self, run_id: str, on_event: Subscriber, stop: StopSignal) -> None:
        self.start()
        run = self.store.run_dir(run_id)
        others = {other: read_files(self.store.run_dir(other).path) for other in referenced_runs(run)}
        done = self._actor.execute.remote(run_id, read_files(run.path), others)
        stopping = False
        try:
            while True:
                if stop.is_set() and not stopping:
                    self._actor.stop.remote()
                    stopping = True
                finished, _ = ray.wait([done], timeout=POLL_S)
                events, files = ray.get(self._actor.drain.remote())
                if finished:
                    files.update(ray.get(done))
                self._land(run, files, events, on_event)
                if finished:
                    return
        except ray.exceptions.RayError as err:
            self._actor = None
            raise RunLost(f"The Ray worker running this run was lost before the run ended ({type(err).__name__}).",
                          "Its node may have run out of memory or left the cluster; other runs and the server "
                          "were not affected.") from None

    def _land(self, run: RunDir, files: Files, events: list[Event], on_event: Subscriber) -> None:
        """Write the files into the server's run directory (paths made the server's), index the summary, then
        pass the events on, so the page finds what an event announces."""
        write_files(run.path, files)
        if "summary.json" in files:
            summary = {**run.read_summary(), "run_dir": str(run.path)}
            run.write_summary(summary)
            self.store.upsert(run.run_id, run.read_config(), summary)
        for event in events:
            on_event(_on_server(event, run))

    def close(self) -> None:
        if self._actor is not None and ray.is_initialized():
            ray.kill(self._actor)
        self._actor = None


def _on_server(event: Event, run: RunDir) -> Event:
    """The event with the worker's paths replaced by the server's."""
    if isinstance(event, Snapshot):
        return replace(event, path=str(run.snapshots_dir / Path(event.path).name))
    if isinstance(event, RunEnded):
        return replace(event, summary={**event.summary, "run_dir": str(run.path)})
    return event
