"""Where runs execute: "processes" (worker processes, the default) or "threads" (inside the server process)."""
from __future__ import annotations

import os

from tl_core.executors.base import RunLost, Slot
from tl_core.executors.processes import ProcessSlot, torch_threads
from tl_core.executors.threads import ThreadSlot
from tl_core.records.store import RunStore

EXECUTORS = ("processes", "threads")


def default_executor() -> str:
    """`$TL_EXECUTOR`, else "processes"."""
    return os.environ.get("TL_EXECUTOR") or "processes"


def make_slots(executor: str, count: int, store: RunStore) -> list[Slot]:
    if executor == "threads":
        return [ThreadSlot(store) for _ in range(count)]
    if executor == "processes":
        return [ProcessSlot(str(store.runs_dir), torch_threads(count)) for _ in range(count)]
    raise ValueError(f"Unknown executor '{executor}': choose one of {', '.join(EXECUTORS)}.")


__all__ = ["EXECUTORS", "RunLost", "Slot", "default_executor", "make_slots"]
