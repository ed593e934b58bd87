"""The process-wide job manager: runs wait in one queue and execute on worker threads, a few at a time.

No Streamlit here. A page submits a config, keeps the run id, and polls `view(run_id)` for a copy of what the
run has emitted so far (a `RunView`, the same type a recorded run is read as); runs outlive the browser tab that started them.
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any


from tl_core.config import RunConfig
from tl_core.records.run_view import RunView, snapshots_on_disk
from tl_core.records.store import RunStore
from tl_core.runner import execute_run, prepare_run
from tl_core.status import Status
from tl_core.train.events import EpochEnd, Event, RunEnded, RunStarted, Snapshot, StageStarted, Step

def default_slots() -> int:
    """Runs at a time: `$TL_MAX_RUNS`, else 1 (one GPU, or two CPU cores, is busy enough with one run)."""
    return max(1, int(os.environ.get("TL_MAX_RUNS", "1")))


@dataclass
class Job:
    """A run this server executes: its live view, updated from the events, and the flag that stops it."""

    view: RunView
    stop: threading.Event = field(default_factory=threading.Event)
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    train_started_at: float | None = None
    updated_at: float = field(default_factory=time.time)
    last_step_at: float | None = None
    epoch_end_seconds: list[float] = field(default_factory=list)  # evaluation and snapshots after each epoch

    @property
    def run_id(self) -> str:
        return self.view.run_id

    @property
    def status(self) -> Status:
        return self.view.status

    def on_event(self, event: Event) -> None:
        view = self.view
        self.updated_at = time.time()
        if isinstance(event, StageStarted):
            view.stage, view.message = event.stage, event.message
        elif isinstance(event, RunStarted):  # pretraining (if any) is over: count the run's own steps from here
            view.stage, view.message = "train", f"Training on {event.device_name}"
            view.step, view.total_steps, view.epoch = 0, 0, 0
            self.train_started_at = time.time()
            view.started = {"device_name": event.device_name, "trainable_params": event.trainable_params,
                            "frozen_params": event.frozen_params, "groups": event.groups}
        elif isinstance(event, Step):
            view.stage, view.step, view.total_steps, view.epoch = event.stage, event.step, event.total_steps, event.epoch
            self.last_step_at = self.updated_at
        elif isinstance(event, EpochEnd):
            if event.stage == "train" and self.last_step_at is not None:
                self.epoch_end_seconds.append(self.updated_at - self.last_step_at)
            (view.history if event.stage == "train" else view.pretrain_history).append(dict(event.metrics))
        elif isinstance(event, Snapshot):
            view.snapshots.append((event.epoch, event.path))
        elif isinstance(event, RunEnded):
            view.status, view.summary = Status.of(event.status), event.summary

    def eta_seconds(self) -> float | None:
        """Time left in the run proper, from its own pace so far (pretraining excluded): its steps at the pace of
        its steps, then each remaining epoch's evaluation as long as the finished ones took."""
        view = self.view
        if view.status is not Status.RUNNING or view.stage != "train" or not view.step or not self.train_started_at:
            return None
        ends = self.epoch_end_seconds
        stepping = time.time() - self.train_started_at - sum(ends)
        epoch_end = sum(ends) / len(ends) if ends else 0.0
        return max(0.0, stepping / view.step * (view.total_steps - view.step)
                   + epoch_end * max(0, (view.epochs or 1) - len(ends)))


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

    def submit(self, config: RunConfig, owner: str = "") -> str:
        """Validate (ConfigError on bad input), record as queued, and enqueue. Returns the run id."""
        run = prepare_run(config, self.store.runs_dir, owner=owner)
        job = Job(RunView(run.run_id, run.read_config(), Status.QUEUED, owner=owner, created=time.time()))
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
        summary = {**run.read_summary(), "status": Status.STOPPED,
                   "reason": "Removed from the queue before it started.", "run_id": job.run_id, "run_dir": str(run.path)}
        run.write_summary(summary)
        self.store.upsert(job.run_id, job.view.config, summary)
        job.view.status, job.view.summary = Status.STOPPED, summary

    def queue_position(self, run_id: str) -> int | None:
        """1 for the next run to start; None when the run is not waiting."""
        with self._lock:
            return self._queue.index(run_id) + 1 if run_id in self._queue else None

    def job(self, run_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(run_id)

    def view(self, run_id: str) -> RunView | None:
        """The run as the pages draw it: a copy of the live view of a run this server executes, else its record
        (a CLI run, a run from before a restart); None when there is no such run. Safe from any thread."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is not None:
                view = replace(job.view, history=list(job.view.history), snapshots=list(job.view.snapshots),
                               pretrain_history=list(job.view.pretrain_history), summary=dict(job.view.summary),
                               queue_position=self._queue.index(run_id) + 1 if run_id in self._queue else None,
                               eta_seconds=job.eta_seconds())
        if job is None:
            row = self.store.get(run_id)
            return None if row is None else RunView.from_record(row, self.store.run_dir(run_id))
        if view.status.terminal and not view.snapshots:
            view.snapshots = snapshots_on_disk(self.store.run_dir(run_id).snapshots_dir)
        return view

    def active_ids(self) -> list[str]:
        with self._lock:
            return [j.run_id for j in self._jobs.values() if j.status.active]

    def wait(self, run_id: str, timeout_s: float = 600.0) -> RunView | None:
        """Block until the run ends (for scripts and tests); returns its view."""
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            view = self.view(run_id)
            if view is None or view.status.terminal:
                return view
            time.sleep(0.05)
        raise TimeoutError(f"Run {run_id} did not end within {timeout_s} s.")

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._queue:
                    self._wake.wait()
                job = self._jobs[self._queue.popleft()]
                job.view.status, job.started_at = Status.RUNNING, time.time()
            try:
                execute_run(self.store.run_dir(job.run_id), [job.on_event], job.stop, self.store)
            except Exception as err:  # execute_run records its own failures; this guards the worker itself
                job.view.status = Status.FAILED
                job.view.summary = {"status": Status.FAILED, "reason": f"{type(err).__name__}: {err}"}
