"""Epoch 0 on the domain-confusion curves: the network a run starts from, measured before any training.

Every run that takes snapshots takes one at epoch 0 and keeps its domain confusion in it
(`tl_core.train.snapshots.measured_metrics`), so DANN and its twin start from one shared point and the chart shows
the gap opening, not only where each ended. Learning curves start at epoch 1 (nothing was trained at epoch 0).
"""
from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from tl_core.train.snapshots import measured_metrics


def from_the_start(history: Sequence[Mapping], snapshots: Sequence[tuple[int, str]]) -> list[Mapping]:
    """`history` with an epoch-0 row (domain confusion and A-distance) in front when the run's epoch-0 snapshot
    kept them; `history` as it is otherwise."""
    if not snapshots or snapshots[0][0] != 0:
        return list(history)
    try:
        start = _measured(snapshots[0][1], os.stat(snapshots[0][1]).st_mtime_ns)
    except (OSError, ValueError):  # removed with its run, or still being replaced: no point this time
        return list(history)
    return [{"epoch": 0, **start}, *history] if start else list(history)


@functools.lru_cache(maxsize=4096)
def _measured(path: str, _mtime_ns: int) -> dict[str, float]:
    """Read once per file version: a page redraws every few seconds for every tab watching."""
    return measured_metrics(Path(path))
