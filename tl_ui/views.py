"""A run as the pages draw it, whether the job manager holds it (live) or only its record on disk does.

No Streamlit here. `run_view` returns the same keys as `JobManager.progress`, so a page draws a run started
in this server, one started by the CLI, and one from before a restart with the same code.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tl_core.jobs import TERMINAL

ACTIVE = ("queued", "running")
_SNAPSHOT = re.compile(r"epoch_(\d+)\.npz$")


def snapshots_on_disk(snapshots_dir: Path) -> list[tuple[int, str]]:
    """[(epoch, path)] of a run's saved feature snapshots, in epoch order."""
    if not snapshots_dir.is_dir():
        return []
    found = []
    for path in snapshots_dir.iterdir():
        match = _SNAPSHOT.search(path.name)
        if match and not path.name.startswith("."):
            found.append((int(match.group(1)), str(path)))
    return sorted(found)


def run_view(manager, run_id: str) -> dict[str, Any] | None:
    """The live progress of a run this server executes, else a progress-shaped view of its record (or None)."""
    live = manager.progress(run_id)
    if live is not None:
        if not live["snapshots"] or live["status"] in TERMINAL:
            live["snapshots"] = live["snapshots"] or snapshots_on_disk(manager.store.run_dir(run_id).snapshots_dir)
        return live
    row = manager.store.get(run_id)
    if row is None:
        return None
    run = manager.store.run_dir(run_id)
    summary = row["summary"]
    return {
        "run_id": run_id, "status": row["status"], "queue_position": None, "stage": "", "message": "",
        "step": 0, "total_steps": 0, "epoch": summary.get("epochs_done", 0), "epochs": row["config"].get("epochs"),
        "history": run.read_metrics(), "pretrain_history": [], "snapshots": snapshots_on_disk(run.snapshots_dir),
        "started": {}, "summary": summary, "eta_seconds": None, "config": row["config"], "owner": row["owner"],
    }


def is_active(view: dict[str, Any] | None) -> bool:
    return view is not None and view["status"] in ACTIVE


def status_line(view: dict[str, Any]) -> tuple[str, float]:
    """(one line saying where the run is, fraction done in [0, 1]) for a progress bar."""
    from tl_ui import fmt

    status = view["status"]
    epochs = view.get("epochs") or view["config"].get("epochs") or 1
    if status == "queued":
        position = view.get("queue_position")
        where = f"position {position} in the queue" if position else "in the queue"
        return f"Waiting — {where}; it starts when a slot is free.", 0.0
    if status == "running":
        if view.get("stage") == "pretrain":
            done = view["step"] / view["total_steps"] if view.get("total_steps") else 0.0
            return f"Pretraining on the source (task A, once; cached for later runs) — {done:.0%}", min(1.0, done)
        if not view.get("total_steps"):
            return "Preparing data and model…", 0.0
        if not view.get("history") and view["step"] >= view["total_steps"]:  # still the pretraining's counters
            return "Starting to train on the target…", 0.0
        done = view["step"] / view["total_steps"]
        eta = view.get("eta_seconds")
        # Before the first epoch ends the job manager's estimate also counts the pretraining time: not shown.
        eta_text = f" · about {fmt.seconds(eta)} left" if eta is not None and view.get("history") else ""
        return f"Training — epoch {max(1, view['epoch'])} of {epochs}{eta_text}", min(1.0, done)
    summary = view.get("summary") or {}
    if status == "finished":
        acc = summary.get("target_acc")
        took = summary.get("seconds")
        return (f"Finished in {fmt.seconds(took)} — target accuracy {fmt.pct(acc)}", 1.0)
    reason = summary.get("reason") or ""
    hint = summary.get("hint") or ""
    label = {"stopped": "Stopped", "failed": "Failed", "diverged": "Diverged", "out_of_memory": "Out of memory",
             "interrupted": "Interrupted"}.get(status, status.capitalize())
    done = len(view.get("history") or []) / epochs
    return f"{label} — {reason} {hint}".strip(), min(1.0, done)
