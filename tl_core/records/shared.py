"""A shared run: the record of a submission that was identical to another run, filled from that run's record
instead of being computed again. Large files are hard links (copies where links are impossible), so deleting
either run leaves the other whole."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tl_core.records.run_dir import RunDir

FILES = ("metrics.jsonl", "evaluation.json", "model.safetensors")


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def fill_from(run: RunDir, origin: RunDir) -> dict[str, Any]:
    """Give `run` the results recorded in `origin`; returns `run`'s new summary (marked `shared_from`)."""
    for name in FILES:
        source = origin.path / name
        if source.is_file() and not (run.path / name).exists():
            _link_or_copy(source, run.path / name)
    if origin.snapshots_dir.is_dir():
        run.snapshots_dir.mkdir(exist_ok=True)
        for source in origin.snapshots_dir.iterdir():
            if source.is_file() and not (run.snapshots_dir / source.name).exists():
                _link_or_copy(source, run.snapshots_dir / source.name)
    own = run.read_summary()
    summary = {**origin.read_summary(), "run_id": run.run_id, "run_dir": str(run.path), "created": own.get("created"),
               "shared_from": origin.run_id, "fingerprint": own.get("fingerprint")}
    run.write_summary(summary)
    return summary
