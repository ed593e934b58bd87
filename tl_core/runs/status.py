"""A run's status, one enum for the engine, the index, the job manager and the pages.

It is a `StrEnum`, so it is stored and compared as the plain string it always was ("finished", ...).
"""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"
    DIVERGED = "diverged"
    OUT_OF_MEMORY = "out_of_memory"
    INTERRUPTED = "interrupted"  # its process went away (a restart, a kill) before it ended
    UNKNOWN = "unknown"  # a record whose summary cannot be read

    @property
    def active(self) -> bool:
        return self in (Status.QUEUED, Status.RUNNING)

    @property
    def terminal(self) -> bool:
        return not self.active

    @property
    def label(self) -> str:
        return {Status.OUT_OF_MEMORY: "Out of memory"}.get(self, self.value.capitalize())

    @classmethod
    def of(cls, value: str | None) -> "Status":
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN
