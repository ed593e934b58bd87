"""The no-shift band drawn behind domain-confusion curves, sized to the samples the runs were probed with.

A page never computes the band in its script run (seconds of CPU, taken from training while tabs poll): it
draws what is known and, the first time a size is asked for on this machine, starts its computation in the
background; the chart shows the band from the next redraw on."""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from tl_core.analysis import SNAPSHOT_SAMPLES_PER_DOMAIN
from tl_core.analysis.null_band_store import known_null_band, stored_null_band


def null_band_for(histories: Sequence[Sequence[Mapping]]) -> tuple[float, float] | None:
    """(low, high) of the probe's accuracy with no shift, for the smallest sample any of these runs was probed
    with (rows record it as `domain_confusion_n`; older rows fall back to the default snapshot size); None
    while it is being computed."""
    sizes = [int(row["domain_confusion_n"]) for rows in histories for row in rows if row.get("domain_confusion_n")]
    n = min(sizes, default=SNAPSHOT_SAMPLES_PER_DOMAIN)
    band = known_null_band(n)
    if band is None:
        _compute_in_background(n)
        return None
    return band.low, band.high


_started: set[int] = set()
_started_lock = threading.Lock()


def _compute_in_background(n: int) -> None:
    with _started_lock:
        if n in _started:
            return
        _started.add(n)
    threading.Thread(target=stored_null_band, args=(n,), name="tl-null-band", daemon=True).start()
