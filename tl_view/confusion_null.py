"""The no-shift band drawn behind domain-confusion curves: a permutation null on the chart's own features.

The band is what the probe reads when the domain labels of these very features are shuffled
(`permutation_null_band` on a feature snapshot), so it keeps the features' dimension, spread and correlations.
A page never computes it in its script run (seconds of CPU, taken from training while tabs poll): it draws the
band of the best snapshot already computed and, the first time a snapshot is asked for, starts its computation
in the background; the chart shows that band from the next redraw on."""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from tl_core.analysis.null_band_store import known_features_band, stored_features_band
from tl_core.records.run_dir import RunDir
from tl_core.records.run_view import snapshots_on_disk
from tl_core.runs.status import Status


def band_snapshots(snapshots: Sequence[tuple[int, str]], finished: bool) -> list[str]:
    """Which of a run's snapshots its band is read from, best first: the final features once it has finished,
    else (and meanwhile) the features it started from, so the band stays put while the run trains."""
    if not snapshots:
        return []
    first, last = snapshots[0][1], snapshots[-1][1]
    return [last, first] if finished and last != first else [first]


def recorded_band_snapshots(summary: Mapping) -> list[str]:
    """`band_snapshots` of a run from its summary (its folder and status)."""
    if not summary.get("run_dir"):
        return []
    snapshots = snapshots_on_disk(RunDir(Path(summary["run_dir"])).snapshots_dir)
    return band_snapshots(snapshots, Status.of(summary.get("status", Status.QUEUED)).terminal)


def null_band_for(candidates: Sequence[str | Path]) -> tuple[float, float] | None:
    """(low, high) of the probe's accuracy with no shift, from the first candidate snapshot whose band is known
    (starting the best one's computation if it is not); None while none is."""
    candidates = [str(c) for c in candidates]
    if not candidates:
        return None
    best = known_features_band(Path(candidates[0]))
    if best is None:
        _compute_in_background(candidates[0])
        best = next((b for b in map(known_features_band, map(Path, candidates[1:])) if b is not None), None)
    return (best.low, best.high) if best is not None else None


_started: set[str] = set()
_running: set[str] = set()
_finished = 0  # bands computed by this process so far
_started_lock = threading.Lock()


def computing() -> bool:
    """Whether a band this process was asked for is still being computed (a static page redraws when it is not)."""
    with _started_lock:
        return bool(_running)


def bands_version() -> int:
    """Changes whenever a band this process computed becomes known: a cached figure that may draw a band keys on
    it, so the redraw after the computation shows the band instead of the cached figure without it."""
    with _started_lock:
        return _finished


def _compute_in_background(snapshot: str) -> None:
    with _started_lock:
        if snapshot in _started:
            return
        _started.add(snapshot)
        _running.add(snapshot)
    threading.Thread(target=_compute, args=(snapshot,), name="tl-null-band", daemon=True).start()


def _compute(snapshot: str) -> None:
    global _finished
    try:
        stored_features_band(Path(snapshot))
    finally:
        with _started_lock:
            _running.discard(snapshot)
            _finished += 1
