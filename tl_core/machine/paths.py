"""Where run records and built datasets live: `$TL_RUNS_DIR` / `$TL_DATA_DIR`, else `runs/` and `data/`."""
import os
from pathlib import Path


def runs_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get("TL_RUNS_DIR") or "runs")


def data_dir(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get("TL_DATA_DIR") or "data")
