"""A feature snapshot's no-shift band (`permutation_null_band`), computed once and kept in a file beside the
snapshot: it costs seconds of CPU, so threads that ask at the same time wait for one computation."""
from __future__ import annotations

import json
import threading
from dataclasses import asdict

from pathlib import Path

import numpy as np

from tl_core.analysis.domain_confusion import NullBand, permutation_null_band
from tl_core.records.run_dir import write_atomic

_computing = threading.Lock()


def _features_file(snapshot: Path) -> Path:
    return snapshot.with_name(f"{snapshot.name}.null-band.json")


def known_features_band(snapshot: Path) -> NullBand | None:
    """The permutation band of this feature snapshot if it has been computed; None otherwise (never computes)."""
    try:
        return NullBand(**json.loads(_features_file(Path(snapshot)).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def stored_features_band(snapshot: Path) -> NullBand | None:
    """`permutation_null_band` on the snapshot's own source and target features, computed and stored beside it
    if no one has yet; None for a snapshot without features of both domains."""
    snapshot = Path(snapshot)
    with _computing:
        band = known_features_band(snapshot)
        if band is not None:
            return band
        try:
            with np.load(snapshot) as data:
                source, target = data["source_feats"], data["target_feats"]
        except (OSError, KeyError, ValueError):
            return None
        if min(len(source), len(target)) < 2:
            return None
        band = permutation_null_band(source, target)
        try:
            write_atomic(_features_file(snapshot), json.dumps(asdict(band)).encode())
        except OSError:
            pass  # a read-only run folder: computed again next time
    return band
