"""The no-shift band drawn behind domain-confusion curves, sized to the samples the runs were probed with."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from tl_core.analysis import SNAPSHOT_SAMPLES_PER_DOMAIN, confusion_null_band


def null_band_for(histories: Sequence[Sequence[Mapping]]) -> tuple[float, float]:
    """(low, high) of the probe's accuracy with no shift, for the smallest sample any of these runs was probed
    with (rows record it as `domain_confusion_n`; older rows fall back to the default snapshot size)."""
    sizes = [int(row["domain_confusion_n"]) for rows in histories for row in rows if row.get("domain_confusion_n")]
    band = confusion_null_band(min(sizes, default=SNAPSHOT_SAMPLES_PER_DOMAIN))
    return band.low, band.high
