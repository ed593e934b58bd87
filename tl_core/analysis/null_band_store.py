"""The no-shift band, computed once per machine: `confusion_null_band` fits 40 probes (seconds of CPU), so its
result is kept in memory and in a file of the data folder, and processes or threads that ask at the same time
wait for one computation instead of each running their own."""
from __future__ import annotations

import json
import threading
from dataclasses import asdict

from tl_core.analysis.domain_confusion import NULL_DIMS, NullBand, confusion_null_band
from tl_core.paths import data_dir
from tl_core.records.run_dir import write_atomic

_lock = threading.Lock()
_computing = threading.Lock()
_bands: dict[tuple[int, int, int], NullBand] = {}


def _file(key: tuple[int, int, int]):
    n, seed, repeats = key
    return data_dir() / "cache" / f"confusion-null-n{n}-s{seed}-r{repeats}-d{NULL_DIMS}.json"


def known_null_band(n_per_domain: int, seed: int = 0, repeats: int = 40) -> NullBand | None:
    """The band if this process or an earlier one has computed it; None otherwise (never computes)."""
    key = (n_per_domain, seed, repeats)
    with _lock:
        if key in _bands:
            return _bands[key]
    try:
        band = NullBand(**json.loads(_file(key).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    with _lock:
        _bands[key] = band
    return band


def stored_null_band(n_per_domain: int, seed: int = 0, repeats: int = 40) -> NullBand:
    """The band, computing and storing it if no one has yet."""
    band = known_null_band(n_per_domain, seed, repeats)
    if band is not None:
        return band
    with _computing:
        band = known_null_band(n_per_domain, seed, repeats)  # another thread may have finished it meanwhile
        if band is None:
            band = confusion_null_band(n_per_domain, seed, repeats)
            path = _file((n_per_domain, seed, repeats))
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, json.dumps(asdict(band)).encode())
            except OSError:
                pass  # a read-only data folder: the band stays in memory
            with _lock:
                _bands[(n_per_domain, seed, repeats)] = band
    return band
