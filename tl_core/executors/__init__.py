"""Where runs execute: "processes" (worker processes, the default), "threads" (inside the server process) or
"ray" (actors on a Ray cluster). Each executor's module is imported only when it is chosen: this package is
light to import (the CLI lists the choices), and Ray is never imported unless asked for."""
from __future__ import annotations

import os

from tl_core.errors import ConfigError
from tl_core.executors.base import RunLost, Slot
from tl_core.records.store import RunStore

EXECUTORS = ("processes", "threads", "ray")


def default_executor() -> str:
    """`$TL_EXECUTOR`, else "processes"."""
    return os.environ.get("TL_EXECUTOR") or "processes"


def make_slots(executor: str, count: int, store: RunStore) -> list[Slot]:
    if executor == "threads":
        from tl_core.executors.threads import ThreadSlot

        return [ThreadSlot(store) for _ in range(count)]
    if executor == "processes":
        from tl_core.executors.processes import ProcessSlot, torch_threads

        return [ProcessSlot(str(store.runs_dir), torch_threads(count)) for _ in range(count)]
    if executor == "ray":
        try:
            from tl_core.executors.ray_slot import RaySlot
        except ImportError:
            raise ConfigError("The ray executor needs Ray: pip install -r requirements-ray.txt") from None
        return [RaySlot(store) for _ in range(count)]
    raise ConfigError(f"Unknown executor '{executor}': choose one of {', '.join(EXECUTORS)}.")


__all__ = ["EXECUTORS", "RunLost", "Slot", "default_executor", "make_slots"]
