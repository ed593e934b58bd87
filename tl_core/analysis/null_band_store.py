"""A feature snapshot's no-shift band (`permutation_null_band`), computed once per snapshot *content* and kept
in the data folder's cache: it costs seconds of CPU, and a class's runs filled from one computation hold the same
snapshots (hard links or copies), so thirty students watching the same lesson cost one band. Threads that ask at
the same time wait for one computation."""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict
from pathlib import Path

import numpy as np

from tl_core.analysis.domain_confusion import NullBand, permutation_null_band
from tl_core.machine.paths import data_dir
from tl_core.records.parsed_files import parsed
from tl_core.records.run_dir import write_atomic

_computing = threading.Lock()


def _content_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:24]


def _band_file(snapshot: Path) -> Path | None:
    """Where the band of this snapshot's content is kept; the content is hashed once per file version in this
    process (`parsed_files`: a page asks every few seconds); None when the snapshot is gone."""
    try:
        key = parsed(snapshot, _content_hash)
    except OSError:
        return None
    return None if key is None else data_dir() / "cache" / "null-bands" / f"{key}.json"


def known_features_band(snapshot: Path) -> NullBand | None:
    """The permutation band of this feature snapshot if it has been computed; None otherwise (never computes)."""
    path = _band_file(Path(snapshot))
    try:
        return NullBand(**json.loads(path.read_text())) if path is not None else None
    except (OSError, ValueError, TypeError):
        return None


def stored_features_band(snapshot: Path) -> NullBand | None:
    """`permutation_null_band` on the snapshot's own source and target features, computed and stored if no one
    has yet for the same content; None for a snapshot without features of both domains."""
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
        path = _band_file(snapshot)
        if path is not None:  # else the snapshot went meanwhile
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, json.dumps(asdict(band)).encode())
            except OSError:
                pass  # a read-only data folder: computed again next time
    return band
