"""Where runs execute: "processes" (worker processes, the default), "threads" (inside the server process) or
"ray" (actors on a Ray cluster). Each executor's module is imported only when it is chosen: this package is
light to import (the CLI lists the choices), and Ray is never imported unless asked for."""
from __future__ import annotations

import importlib.util
import os

from tl_core.errors import ConfigError
from tl_core.records.store import RunStore
from tl_core.serving.executors.base import RunLost, Slot

EXECUTORS = ("processes", "threads", "ray")


def default_executor() -> str:
    """`$TL_EXECUTOR`, else "processes"."""
    return os.environ.get("TL_EXECUTOR") or "processes"


def make_slots(executor: str, count: int, store: RunStore) -> list[Slot]:
    # Each executor's module is imported only when it is chosen: Ray is an optional dependency.
    if executor == "threads":
        from tl_core.serving.executors.threads import ThreadSlot

        return [ThreadSlot(store) for _ in range(count)]
    if executor == "processes":
        from tl_core.serving.executors.processes import ProcessSlot, torch_threads

        return [ProcessSlot(str(store.runs_dir), torch_threads(count)) for _ in range(count)]
    if executor == "ray":
        _needs_ray()
        from tl_core.serving.executors.ray_slot import RaySlot

        return [RaySlot(store) for _ in range(count)]
    raise ConfigError(f"Unknown executor '{executor}': choose one of {', '.join(EXECUTORS)}.")


def connect_ray() -> bool:
    """Join the Ray cluster named by $TL_RAY_ADDRESS, else start a local instance (True then); ConfigError when
    Ray is missing or the named cluster does not answer. See tl_core.serving.executors.ray_cluster."""
    _needs_ray()
    from tl_core.serving.executors.ray_cluster import connect

    return connect()


def _needs_ray() -> None:
    if importlib.util.find_spec("ray") is None:
        raise ConfigError("The ray executor needs Ray: pip install -r requirements-ray.txt")


__all__ = ["EXECUTORS", "RunLost", "Slot", "connect_ray", "default_executor", "make_slots"]
