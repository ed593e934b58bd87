"""One run's directory: config.json, metrics.jsonl, summary.json, model.safetensors, snapshots/, error.txt, owner.

`owner` holds the owner id (`tl_core.serving.owners`): the index keeps it too, but the directories are the truth the
index is rebuilt from, so a rebuilt index still knows whose each run is.

Every whole-file write goes through a temporary file and `os.replace`, so a run that dies never leaves a
half-written file; metrics are appended one complete JSON line at a time.
"""
from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from tl_core.records.parsed_files import parsed
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status


def new_run_id(config: RunConfig) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{config.strategy}-{secrets.token_hex(3)}"


def metrics_in(path: Path) -> list[dict[str, Any]]:
    """The epochs recorded in a metrics.jsonl file."""
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line cut off by a killed process ends the readable history
    return rows


def json_in(path: Path) -> Any:
    return json.loads(path.read_text())


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, value: Any) -> None:
    write_atomic(path, json.dumps(value, indent=2, sort_keys=True, default=float).encode())


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @classmethod
    def create(cls, runs_dir: Path, config: RunConfig, run_id: str | None = None) -> "RunDir":
        path = Path(runs_dir) / (run_id or new_run_id(config))
        path.mkdir(parents=True, exist_ok=False)
        run = cls(path)
        run.write_config(config)
        return run

    @property
    def weights_path(self) -> Path:
        return self.path / "model.safetensors"

    @property
    def snapshots_dir(self) -> Path:
        return self.path / "snapshots"

    def write_config(self, config: RunConfig) -> None:
        write_json(self.path / "config.json", config.to_dict())

    def read_config(self) -> RunConfig:
        return RunConfig.from_dict(json.loads((self.path / "config.json").read_text()))

    def write_owner(self, owner: str) -> None:
        write_atomic(self.path / "owner", owner.encode())

    def read_owner(self) -> str:
        """The owner id recorded in the directory; "" (the command line) when none was."""
        path = self.path / "owner"
        return path.read_text().strip() if path.is_file() else ""

    def append_metrics(self, row: dict[str, Any]) -> None:
        with open(self.path / "metrics.jsonl", "a") as f:
            f.write(json.dumps(row, sort_keys=True, default=float) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        path = self.path / "metrics.jsonl"
        return metrics_in(path) if path.exists() else []

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json(self.path / "summary.json", summary)

    def read_summary(self) -> dict[str, Any]:
        path = self.path / "summary.json"
        return json.loads(path.read_text()) if path.exists() else {"status": Status.UNKNOWN}

    def write_json(self, name: str, value: Any) -> None:
        write_json(self.path / name, value)

    def read_json(self, name: str) -> Any:
        path = self.path / name
        return json_in(path) if path.exists() else None

    def look_at_metrics(self) -> list[dict[str, Any]]:
        """`read_metrics()`, parsed once for every reader of this version of the file: never change it."""
        return parsed(self.path / "metrics.jsonl", metrics_in) or []

    def look_at_json(self, name: str) -> Any:
        """`read_json(name)`, parsed once for every reader of this version of the file: never change it."""
        return parsed(self.path / name, json_in)

    def save_weights(self, model: torch.nn.Module) -> None:
        state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
        tmp = self.path / ".model.safetensors.tmp"
        try:
            save_file(state, str(tmp))
            os.chmod(tmp, 0o644)  # readable by every user of the runs folder, like the datasets
            os.replace(tmp, self.weights_path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def remove_temporary_files(self) -> None:
        """Temporary files this process left (a write that failed half-way); other processes' are theirs."""
        for tmp in (*self.path.glob(f".*.{os.getpid()}.tmp"), self.path / ".model.safetensors.tmp"):
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass

    def load_weights(self) -> dict[str, torch.Tensor]:
        return load_file(str(self.weights_path))

    def write_error(self, text: str) -> None:
        write_atomic(self.path / "error.txt", text.encode())
