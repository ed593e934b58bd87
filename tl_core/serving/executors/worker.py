"""The worker process: imports torch once, then executes the runs its parent sends, one after another,
forwarding their events back over the pipe."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

import torch

from tl_core.records.store import RunStore
from tl_core.runs.runner import execute_run
from tl_core.serving.executors.base import StopSignal
from tl_core.train.events import Event, Step

STEP_INTERVAL_S = 0.2  # at most ~5 progress updates a second reach the server; every other event goes at once
# Training yields the CPU to the process that serves the pages: on a class's server the cores are busy with runs,
# and a page that waits for them is what thirty students feel. A run alone on the machine loses nothing.
NICENESS = 10


@dataclass(frozen=True)
class Done:
    """The run's events are all sent; `error` is set when execute_run itself raised."""

    error: str = ""


class StepThrottle:
    """Passes every event except `Step`s that come sooner than `interval_s` after the last one passed
    (an epoch's last step always passes, so progress bars reach the end)."""

    def __init__(self, interval_s: float = STEP_INTERVAL_S, clock=time.monotonic):
        self.interval_s, self.clock = interval_s, clock
        self.last = float("-inf")

    def passes(self, event: Event) -> bool:
        if not isinstance(event, Step):
            return True
        now = self.clock()
        if now - self.last < self.interval_s and event.step != event.total_steps:
            return False
        self.last = now
        return True


def serve(conn: Connection, runs_dir: str, stop: StopSignal, torch_threads: int) -> None:
    """Until the parent sends None or goes away: receive a run id, execute it, send its events and Done."""
    os.nice(NICENESS)
    torch.set_num_threads(torch_threads)
    store = RunStore(runs_dir)
    while True:
        try:
            run_id = conn.recv()
        except EOFError:
            return
        if run_id is None:
            return
        throttle = StepThrottle()

        def forward(event: Event) -> None:
            if throttle.passes(event):
                conn.send(event)

        try:
            execute_run(store.run_dir(run_id), [forward], stop, store)
            conn.send(Done())
        except Exception as err:  # execute_run records its own failures; this is a failure to record one
            conn.send(Done(f"{type(err).__name__}: {err}"))
