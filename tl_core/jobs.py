"""The process-wide job manager: runs wait in one queue and execute on worker threads, a few at a time.

No Streamlit here. A page submits a config, keeps the run id, and polls `progress(run_id)` for a plain-data
copy of what the run has emitted so far; runs outlive the browser tab that started them.
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import torch

from tl_core.config import RunConfig
from tl_core.records.store import RunStore
from tl_core.runner import execute_run, prepare_run
from tl_core.train.events import EpochEnd, Event, RunEnded, RunStarted, Snapshot, StageStarted, Step

TERMINAL = ("finished", "stopped", "failed", "diverged", "out_of_memory", "interrupted")


def default_slots() -> int:
    """Runs at a time: `$TL_MAX_RUNS`, else 1 (one GPU, or two CPU cores, is busy enough with one run)."""
    return max(1, int(os.environ.get("TL_MAX_RUNS", "1")))


@dataclass
class Job:
    run_id: str
    owner: str
    config: RunConfig
    status: str = "queued"
    stop: threading.Event = field(default_factory=threading.Event)
    stage: str = ""
    message: str = ""
    step: int = 0
    total_steps: int = 0
    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    pretrain_history: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[tuple[int, str]] = field(default_factory=list)
    started: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    train_started_at: float | None = None
    updated_at: float = field(default_factory=time.time)

    def on_event(self, event: Event) -> None:
        self.updated_at = time.time()
        if isinstance(event, StageStarted):
            self.stage, self.message = event.stage, event.message
        elif isinstance(event, RunStarted):  # pretraining (if any) is over: count the run's own steps from here
            self.stage, self.message = "train", f"Training on {event.device_name}"
            self.step, self.total_steps, self.epoch = 0, 0, 0
            self.train_started_at = time.time()
            self.started = {"device_name": event.device_name, "trainable_params": event.trainable_params,
                            "frozen_params": event.frozen_params, "groups": event.groups}
        elif isinstance(event, Step):
            self.stage, self.step, self.total_steps, self.epoch = event.stage, event.step, event.total_steps, event.epoch
        elif isinstance(event, EpochEnd):
            row = {"epoch": event.epoch, "train_loss": event.train_loss, "train_acc": event.train_acc,
                   "val_acc": event.val_acc, "target_acc": event.target_acc, "lr": event.lr,
                   "seconds": event.seconds, "images_per_s": event.images_per_s, **event.extra}
            (self.history if event.stage == "train" else self.pretrain_history).append(row)
        elif isinstance(event, Snapshot):
            self.snapshots.append((event.epoch, event.path))
        elif isinstance(event, RunEnded):
            self.status, self.summary = event.status, event.summary

    def eta_seconds(self) -> float | None:
        """Time left in the run proper, from its own pace so far (pretraining excluded)."""
        if self.status != "running" or self.stage != "train" or not self.step or not self.train_started_at:
            return None
        elapsed = time.time() - self.train_started_at
        return max(0.0, elapsed / self.step * (self.total_steps - self.step))


class JobManager:
    def __init__(self, runs_dir: str | os.PathLike, slots: int | None = None):
        self.store = RunStore(runs_dir)
        self.store.reindex()
        self.store.mark_interrupted()
        self.slots = slots or default_slots()
        self._jobs: dict[str, Job] = {}
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._workers = [threading.Thread(target=self._work, name=f"tl-worker-{i}", daemon=True)
                         for i in range(self.slots)]
        for worker in self._workers:
            worker.start()

    @property
    def device_label(self) -> str:
        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"

    def submit(self, config: RunConfig, owner: str = "") -> str:
        """Validate (ConfigError on bad input), record as queued, and enqueue. Returns the run id."""
        run = prepare_run(config, self.store.runs_dir, owner=owner)
        job = Job(run.run_id, owner, run.read_config())
        with self._wake:
            self._jobs[run.run_id] = job
            self._queue.append(run.run_id)
            self._wake.notify()
        return run.run_id

    def stop(self, run_id: str) -> None:
        """A running run stops within one batch; a queued one is taken out of the queue."""
        with self._wake:
            job = self._jobs.get(run_id)
            if job is None:
                return
            job.stop.set()
            if run_id in self._queue:
                self._queue.remove(run_id)
                self._end_queued(job)

    def _end_queued(self, job: Job) -> None:
        run = self.store.run_dir(job.run_id)
        summary = {**run.read_summary(), "status": "stopped", "reason": "Removed from the queue before it started.",
                   "run_id": job.run_id, "run_dir": str(run.path)}
        run.write_summary(summary)
        self.store.upsert(job.run_id, job.config, summary)
        job.status, job.summary = "stopped", summary

    def queue_position(self, run_id: str) -> int | None:
        """1 for the next run to start; None when the run is not waiting."""
        with self._lock:
            return self._queue.index(run_id) + 1 if run_id in self._queue else None

    def job(self, run_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(run_id)

    def progress(self, run_id: str) -> dict[str, Any] | None:
        """A plain-data copy of a run's live state, safe to read from any thread."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None:
                return None
            position = self._queue.index(run_id) + 1 if run_id in self._queue else None
            return {
                "run_id": job.run_id, "status": job.status, "queue_position": position, "stage": job.stage,
                "message": job.message, "step": job.step, "total_steps": job.total_steps, "epoch": job.epoch,
                "epochs": job.config.epochs, "history": list(job.history),
                "pretrain_history": list(job.pretrain_history), "snapshots": list(job.snapshots),
                "started": dict(job.started), "summary": dict(job.summary), "eta_seconds": job.eta_seconds(),
                "config": job.config.to_dict(), "owner": job.owner,
            }

    def active_ids(self) -> list[str]:
        with self._lock:
            return [j.run_id for j in self._jobs.values() if j.status not in TERMINAL]

    def wait(self, run_id: str, timeout_s: float = 600.0) -> dict[str, Any]:
        """Block until the run ends (for scripts and tests); returns its progress."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            state = self.progress(run_id)
            if state is None or state["status"] in TERMINAL:
                return state
            time.sleep(0.05)
        raise TimeoutError(f"Run {run_id} did not end within {timeout_s} s.")

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._queue:
                    self._wake.wait()
                job = self._jobs[self._queue.popleft()]
                job.status, job.started_at = "running", time.time()
            try:
                execute_run(self.store.run_dir(job.run_id), [job.on_event], job.stop, self.store)
            except Exception as err:  # execute_run records its own failures; this guards the worker itself
                job.status, job.summary = "failed", {"status": "failed", "reason": f"{type(err).__name__}: {err}"}
