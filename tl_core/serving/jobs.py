"""The process-wide job manager: runs wait in one queue and execute in its slots, a few at a time.

Each slot has a thread here that takes the next queued run and hands it to the executor: a worker process
(the default) or that thread itself (see tl_core.serving.executors).

No Streamlit here. A page submits a config, keeps the run id, and polls `view(run_id)` for a copy of what the
run has emitted so far (a `RunView`, the same type a recorded run is read as); runs outlive the browser tab
that started them.

Identical runs are computed once (`tl_core.runs.fingerprint`): a submission identical to a finished run is filled
from its record at once; one identical to a run in flight follows it (single flight) and gets its record when
it ends. Different runs wait in a queue that is fair across owners (`FairQueue`). Only a run's owner, or the
teacher, may stop it (`tl_core.serving.owners`). Each owner may have so many runs in flight, each for so long
(`tl_core.serving.quotas`): a run past its time is stopped, and its record says why.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field, replace

from tl_core.errors import UserError
from tl_core.records.run_view import RunView, snapshots_on_disk
from tl_core.records.shared import fill_from
from tl_core.records.store import RunStore
from tl_core.runs.config import RunConfig
from tl_core.runs.fingerprint import fingerprint
from tl_core.runs.runner import prepare_run
from tl_core.runs.status import Status
from tl_core.serving.executors import RunLost, Slot, default_executor, make_slots
from tl_core.serving.fair_queue import FairQueue
from tl_core.serving.live_eta import StepClock
from tl_core.serving.owners import CLI, Actor, as_actor, check_may_act
from tl_core.serving.quotas import check_room, over_time, time_limit_for
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
    updated_at: float = field(default_factory=time.time)
    worker_pid: int | None = None
    fingerprint: str = ""
    leader: Job | None = None  # the identical run this one follows instead of computing
    followers: list[Job] = field(default_factory=list)
    clock: StepClock = field(default_factory=StepClock)  # the run proper's steps, for its live ETA
    time_limit_s: float | None = None  # wall time once started (`tl_core.serving.quotas`); None: no limit
    over_time: bool = False  # stopped at its time limit

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
            view.started = {"device_name": event.device_name, "trainable_params": event.trainable_params,
                            "frozen_params": event.frozen_params, "groups": event.groups}
        elif isinstance(event, Step):
            view.stage, view.step, view.total_steps, view.epoch = event.stage, event.step, event.total_steps, event.epoch
            if event.stage == "train":
                self.clock.step(event.step, self.updated_at)
        elif isinstance(event, EpochEnd):
            if event.stage == "train":
                self.clock.epoch_ended()
            (view.history if event.stage == "train" else view.pretrain_history).append(dict(event.metrics))
        elif isinstance(event, Snapshot):
            view.snapshots.append((event.epoch, event.path))
        elif isinstance(event, RunEnded):
            view.status, view.summary = Status.of(event.status), event.summary

    def eta_seconds(self) -> float | None:
        """Time left in the run proper, from its own pace so far (`tl_core.serving.live_eta`)."""
        view = self.view
        if view.status is not Status.RUNNING or view.stage != "train":
            return None
        return self.clock.seconds_left(view.step, view.total_steps, view.epochs, time.time())


class JobManager:
    def __init__(self, runs_dir: str | os.PathLike, slots: int | None = None, executor: str | None = None):
        self.store = RunStore(runs_dir)
        self.store.reindex()
        self.store.mark_interrupted()
        self.slots = slots or default_slots()
        self.executor = executor or default_executor()
        self._jobs: dict[str, Job] = {}
        self._queue = FairQueue()
        self._leaders: dict[str, Job] = {}  # fingerprint → the run in flight that computes it
        self.computations = 0  # runs handed to a slot (shared ones are not counted again)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._slots = make_slots(self.executor, self.slots, self.store)
        self._workers = [threading.Thread(target=self._work, args=(slot,), name=f"tl-worker-{i}", daemon=True)
                         for i, slot in enumerate(self._slots)]
        for worker in self._workers:
            worker.start()

    def in_flight(self, owner: str) -> int:
        """How many of `owner`'s runs are queued or running."""
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.view.owner == owner and j.status.active)

    def check_room(self, by: str | Actor, adding: int = 1) -> None:
        """QuotaExceeded unless `by` may queue `adding` more runs (`tl_core.serving.quotas`; the teacher is exempt)."""
        actor = as_actor(by)
        check_room(actor, self.in_flight(actor.owner), adding)

    def submit(self, config: RunConfig, owner: str | Actor = CLI) -> str:
        """Validate (ConfigError on bad input), record as queued, and enqueue — unless an identical run finished
        (its result is shared at once) or is in flight (this run follows it). Returns the run id. QuotaExceeded
        when the owner has as many runs in flight as one owner may (an Actor that is the teacher is exempt)."""
        actor = as_actor(owner)
        owner = actor.owner
        self.check_room(actor)
        run = prepare_run(config, self.store.runs_dir, owner=owner)
        config = run.read_config()
        identity = fingerprint(config)
        summary = {**run.read_summary(), "fingerprint": identity}
        run.write_summary(summary)
        self.store.upsert(run.run_id, config, summary)
        job = Job(RunView(run.run_id, config, Status.QUEUED, owner=owner, created=time.time(), summary=summary),
                  fingerprint=identity, time_limit_s=time_limit_for(actor))
        finished = self.store.find_finished(identity)
        with self._wake:
            self._jobs[run.run_id] = job
            leader = self._leaders.get(identity)
            if leader is not None and leader.status.active:
                job.leader = leader
                leader.followers.append(job)
            elif finished is not None:
                self._share(job, self.store.run_dir(finished["run_id"]))
            else:
                self._leaders[identity] = job
                self._queue.append(owner, run.run_id)
                self._wake.notify()
        return run.run_id

    def stop(self, run_id: str, by: str | Actor = CLI) -> None:
        """A running run stops within one batch; a queued one is taken out of the queue; a run that follows an
        identical one stops following it. NotOwner unless `by` owns the run or is the teacher; a run others
        follow is stopped only by the teacher (it keeps going for them)."""
        actor = as_actor(by)
        with self._wake:
            job = self._jobs.get(run_id)
            if job is None:
                return
            check_may_act(actor, job.view.owner, "stop", run_id)
            if job.leader is not None:
                if job.status.active:
                    job.leader.followers.remove(job)
                    self._record_end(job, Status.STOPPED, "You stopped following the identical run it shared.")
                return
            live = [f for f in job.followers if f.status.active]
            if live and not actor.teacher:
                raise UserError(f"Run {run_id} is shared with {len(live)} other session(s) that submitted the same "
                                "run: it keeps going for them (only the teacher can stop it).")
            job.stop.set()
            if self._queue.remove(run_id):
                self._end_queued(job)
                self._settle_followers(job)

    def _share(self, job: Job, origin) -> None:
        """Fill `job`'s record from `origin`'s (an identical run that ended), and its live view with what the
        record holds, so it is drawn like its origin (curves, snapshots, progress); call with the lock held."""
        run = self.store.run_dir(job.run_id)
        summary = fill_from(run, origin)
        self.store.upsert(job.run_id, job.view.config, summary)
        view = job.view
        view.status, view.summary = Status.of(summary["status"]), summary
        view.history, view.snapshots = run.read_metrics(), snapshots_on_disk(run.snapshots_dir)
        view.epoch = summary.get("epochs_done", len(view.history))
        computed_here = self._jobs.get(origin.run_id)
        if computed_here is not None:  # what only the origin's live view holds (its record does not)
            live = computed_here.view
            view.pretrain_history, view.started = list(live.pretrain_history), dict(live.started)
            view.stage, view.message, view.step, view.total_steps, view.epoch = (
                live.stage, live.message, live.step, live.total_steps, live.epoch)

    def _settle_followers(self, job: Job) -> None:
        """The leader ended: each run that followed it gets its record (call with the lock held)."""
        if self._leaders.get(job.fingerprint) is job:
            del self._leaders[job.fingerprint]
        origin = self.store.run_dir(job.run_id)
        for follower in job.followers:
            if follower.status.active:
                self._share(follower, origin)

    def _end_queued(self, job: Job) -> None:
        self._record_end(job, Status.STOPPED, "Removed from the queue before it started.")

    def _record_end(self, job: Job, status: Status, reason: str, hint: str = "") -> None:
        """End a run that could not record its own ending (call with the lock held)."""
        job.view.status, job.view.summary = status, self.store.end(job.run_id, status, reason, hint)

    def queue_position(self, run_id: str) -> int | None:
        """1 for the next run to start; None when the run is not waiting."""
        with self._lock:
            job = self._jobs.get(run_id)
            followed = job.leader.run_id if job is not None and job.leader is not None else run_id
            return self._queue.position(followed)

    def job(self, run_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(run_id)

    def view(self, run_id: str) -> RunView | None:
        """The run as the pages draw it: a copy of the live view of a run this server executes, else its record
        (a CLI run, a run from before a restart); None when there is no such run. Safe from any thread."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is not None:
                live = job.leader if job.leader is not None and job.status.active else job
                view = replace(live.view, run_id=run_id, config=job.view.config, owner=job.view.owner,
                               created=job.view.created, status=job.view.status if live is job else live.status,
                               history=list(live.view.history), snapshots=list(live.view.snapshots),
                               pretrain_history=list(live.view.pretrain_history),
                               summary=dict(job.view.summary if live is job else live.view.summary),
                               queue_position=self._queue.position(live.run_id), eta_seconds=live.eta_seconds())
        if job is None:
            row = self.store.get(run_id)
            return None if row is None else RunView.from_record(row, self.store.run_dir(run_id))
        if view.status.terminal and not view.snapshots:
            view.snapshots = snapshots_on_disk(self.store.run_dir(run_id).snapshots_dir)
        return view

    def worker_pid(self, run_id: str) -> int | None:
        """The process a running run executes in (the server's own under the threads executor)."""
        with self._lock:
            job = self._jobs.get(run_id)
            return job.worker_pid if job is not None and job.status is Status.RUNNING else None

    def schedule_state(self) -> tuple[list[str], FairQueue]:
        """(the runs computing in a slot now, a copy of the queue): what `tl_core.serving.promises` lays out. A run that
        follows an identical one takes no slot and is in neither."""
        with self._lock:
            running = [j.run_id for j in self._jobs.values() if j.status is Status.RUNNING and j.leader is None]
            return running, self._queue.copy()

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

    def close(self) -> None:
        """Stop every run, then the slots (for tests and scripts; a server keeps its manager until it exits)."""
        with self._wake:
            self._closed = True
            while len(self._queue):
                job = self._jobs[self._queue.popleft()]
                self._end_queued(job)
                self._settle_followers(job)
            for job in self._jobs.values():
                job.stop.set()
            self._wake.notify_all()
        for worker in self._workers:
            worker.join(timeout=60)
        for slot in self._slots:
            slot.close()

    def _apply(self, job: Job, event: Event) -> None:
        with self._lock:
            job.on_event(event)

    def _work(self, slot: Slot) -> None:
        while True:
            with self._wake:
                while not len(self._queue) and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                job = self._jobs[self._queue.popleft()]
                job.view.status, job.started_at = Status.RUNNING, time.time()
                self.computations += 1
            timer = self._time_limit(job)
            try:
                pid = slot.start()
                with self._lock:
                    job.worker_pid = pid
                slot.run(job.run_id, lambda event: self._apply(job, event), job.stop)
                if job.over_time:
                    with self._lock:
                        if job.status is Status.STOPPED:
                            self._record_end(job, Status.STOPPED, *over_time(job.time_limit_s))
            except RunLost as lost:
                with self._lock:
                    self._record_end(job, Status.FAILED, lost.reason, lost.hint)
            except Exception as err:  # execute_run records its own failures; this guards the slot itself
                with self._lock:
                    self._record_end(job, Status.FAILED, f"{type(err).__name__}: {err}")
            finally:
                if timer is not None:
                    timer.cancel()
            with self._lock:
                self._settle_followers(job)

    def _time_limit(self, job: Job) -> threading.Timer | None:
        """A timer that stops the run at its time limit (None without one); cancel it when the run ends."""
        if job.time_limit_s is None:
            return None

        def expire() -> None:
            with self._lock:
                job.over_time = True
                job.stop.set()

        timer = threading.Timer(job.time_limit_s, expire)
        timer.daemon = True
        timer.start()
        return timer
