"""Runs execute on the calling thread, inside the server process (tests and tiny set-ups)."""
from __future__ import annotations

import os

from tl_core.records.store import RunStore
from tl_core.runs.runner import execute_run
from tl_core.serving.executors.base import StopSignal
from tl_core.train.events import Subscriber


class ThreadSlot:
    def __init__(self, store: RunStore):
        self.store = store

    def start(self) -> int:
        return os.getpid()

    def run(self, run_id: str, on_event: Subscriber, stop: StopSignal) -> None:
        execute_run(self.store.run_dir(run_id), [on_event], stop, self.store)

    def close(self) -> None:
        pass
