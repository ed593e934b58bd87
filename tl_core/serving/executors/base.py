"""What a job manager's slot is: one place a run executes, one run at a time."""
from __future__ import annotations

from typing import Protocol

from tl_core.train.events import Subscriber


class RunLost(Exception):
    """The run ended without recording its own ending (its worker died): the manager records it as failed."""

    def __init__(self, reason: str, hint: str = ""):
        super().__init__(reason)
        self.reason, self.hint = reason, hint


class StopSignal(Protocol):
    def is_set(self) -> bool: ...


class Slot(Protocol):
    def start(self) -> int:
        """Make sure the slot can take a run now; returns the pid the next run executes in."""

    def run(self, run_id: str, on_event: Subscriber, stop: StopSignal) -> None:
        """Execute the queued run `run_id`, passing its events to `on_event`, until it ends. Raises RunLost."""

    def close(self) -> None: ...
