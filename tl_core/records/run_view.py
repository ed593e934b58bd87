"""One run as everyone reads it — the job manager's live state or the record on disk, in one type.

The job manager builds it from a job it executes (`RunView` with live counters and a queue position); the store
builds it from a record (`from_record`), and a lesson from its record and evaluation (`of`, through
`tl_core.lessons.collect`): a run started in this server, one started by the CLI and one from before a restart
are drawn by the same code. The pages, the lessons' verdicts and pictures, the chain runner and the feasibility
check read runs as this.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status

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


@dataclass
class RunView:
    run_id: str
    config: RunConfig
    status: Status
    owner: str = ""
    created: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)  # one row of metrics per epoch of the run proper
    pretrain_history: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[tuple[int, str]] = field(default_factory=list)
    queue_position: int | None = None  # 1 for the next run to start; None when not waiting
    stage: str = ""  # "pretrain" | "train" while running
    message: str = ""
    step: int = 0
    total_steps: int = 0
    epoch: int = 0
    started: dict[str, Any] = field(default_factory=dict)  # device name, parameter counts, layer groups
    eta_seconds: float | None = None
    evaluation: Mapping[str, Any] | None = None  # evaluation.json, where read (a lesson's verdict resamples it)

    @property
    def active(self) -> bool:
        return self.status.active

    @property
    def epochs(self) -> int:
        return self.config.epochs

    @property
    def arm(self) -> str:
        return self.config.arm

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def label(self) -> str:
        """What a person calls it: its name, else its strategy."""
        return self.config.name or self.config.strategy

    @property
    def target_acc(self) -> float | None:
        """The final figure once finished, else the latest epoch's."""
        if self.status is Status.FINISHED and self.summary.get("target_acc") is not None:
            return self.summary["target_acc"]
        return self.history[-1].get("target_acc") if self.history else None

    @classmethod
    def of(cls, config: RunConfig | Mapping[str, Any], summary: Mapping[str, Any], history=(),
           evaluation: Mapping[str, Any] | None = None, snapshots: list[tuple[int, str]] | None = None) -> "RunView":
        """From a run's files as they are read (its config as a RunConfig or as the store keeps it, summary.json,
        metrics.jsonl, evaluation.json and its snapshots): what a lesson reads. The rows may be shared with other
        readers of the same files: never change them."""
        config = config if isinstance(config, RunConfig) else RunConfig.from_dict(dict(config))
        return cls(run_id=summary.get("run_id", ""), config=config, status=Status.of(summary.get("status")),
                   summary=dict(summary), history=list(history or ()), evaluation=evaluation,
                   snapshots=list(snapshots or ()))

    @classmethod
    def from_record(cls, row: dict[str, Any], run_dir) -> "RunView":
        """From an index row (`RunStore.get`) and its run directory."""
        summary = row["summary"]
        return cls(run_id=row["run_id"], config=RunConfig.from_dict(row["config"]), status=Status.of(row["status"]),
                   owner=row.get("owner") or "", created=row.get("created") or 0.0, summary=summary,
                   history=run_dir.read_metrics(), snapshots=snapshots_on_disk(run_dir.snapshots_dir),
                   epoch=summary.get("epochs_done", 0))
