"""The run history: a SQLite index (WAL mode) over the run directories, shared by the CLI and the dashboard.

The directories are the truth; the index makes listing and filtering fast and can be rebuilt from them.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from tl_core.config import RunConfig
from tl_core.records.run_dir import RunDir
from tl_core.status import Status

SCHEMA_VERSION = 2  # 2: role, experiment and arm columns (runs are paired by role, never by name)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    pid INTEGER NOT NULL DEFAULT 0,
    name TEXT, role TEXT NOT NULL DEFAULT 'main', experiment TEXT NOT NULL DEFAULT '', arm TEXT NOT NULL DEFAULT '',
    source TEXT, target TEXT, backbone TEXT, strategy TEXT, weights TEXT,
    freeze INTEGER, labels_per_class INTEGER, epochs INTEGER,
    target_acc REAL, val_acc REAL, seconds REAL, device TEXT,
    config TEXT NOT NULL, summary TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created);
CREATE INDEX IF NOT EXISTS runs_experiment ON runs (experiment);
"""


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    def __init__(self, runs_dir: str | os.PathLike):
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.runs_dir / "index.sqlite"
        self._create()

    def _create(self, patience_s: float = 30.0) -> None:
        """Switch to WAL and create the tables. Two processes opening a new index at the same moment can get
        "database is locked" at once (SQLite does not wait on its busy timeout for a journal-mode change), so
        this retries for up to `patience_s`."""
        deadline = time.monotonic() + patience_s
        while True:
            try:
                with closing(self._connect()) as db, db:
                    db.execute("PRAGMA journal_mode=WAL")
                    if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                        db.execute("DROP TABLE IF EXISTS runs")  # an older layout: rebuilt from the run directories
                    db.executescript(_SCHEMA)
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def run_dir(self, run_id: str) -> RunDir:
        return RunDir(self.runs_dir / run_id)

    def upsert(self, run_id: str, config: RunConfig, summary: dict[str, Any], owner: str | None = None) -> None:
        row = {
            "run_id": run_id, "created": summary.get("created", time.time()), "status": summary.get("status", "unknown"),
            "pid": int(summary.get("pid", 0)), "name": config.name, "role": config.role, "experiment": config.experiment,
            "arm": config.arm, "source": config.source,
            "target": config.target, "backbone": config.backbone, "strategy": config.strategy, "weights": config.weights,
            "freeze": config.freeze, "labels_per_class": config.labels_per_class, "epochs": config.epochs,
            "target_acc": summary.get("target_acc"), "val_acc": summary.get("val_acc"),
            "seconds": summary.get("seconds"), "device": summary.get("device_name") or summary.get("device"),
            "config": config.to_json(), "summary": json.dumps(summary, default=float),
        }
        columns = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        updates = ", ".join(f"{k}=excluded.{k}" for k in row if k not in ("run_id", "created"))
        with closing(self._connect()) as db, db:
            db.execute(f"INSERT INTO runs ({columns}) VALUES ({marks}) ON CONFLICT(run_id) DO UPDATE SET {updates}", row)
            if owner is not None:
                db.execute("UPDATE runs SET owner=? WHERE run_id=?", (owner, run_id))

    def get(self, run_id: str) -> dict[str, Any] | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return _row_dict(row) if row else None

    def list(self, *, experiment: str | None = None, experiment_prefix: str | None = None, role: str | None = None,
             status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """Newest first."""
        where, args = [], []
        if experiment is not None:
            where.append("experiment=?")
            args.append(experiment)
        if experiment_prefix is not None:
            where.append("substr(experiment, 1, ?)=?")
            args += [len(experiment_prefix), experiment_prefix]
        if role is not None:
            where.append("role=?")
            args.append(role)
        if status is not None:
            where.append("status=?")
            args.append(status)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with closing(self._connect()) as db:
            rows = db.execute(f"SELECT * FROM runs {clause} ORDER BY created DESC LIMIT ?", (*args, limit)).fetchall()
        return [_row_dict(r) for r in rows]

    def delete(self, run_id: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM runs WHERE run_id=?", (run_id,))
        shutil.rmtree(self.runs_dir / run_id, ignore_errors=True)

    def reindex(self) -> int:
        """Index run directories written while the index was absent (or by an older process). Returns how many."""
        known = {r["run_id"] for r in self.list(limit=1_000_000)}
        added = 0
        for path in sorted(p for p in self.runs_dir.iterdir() if (p / "config.json").exists()):
            if path.name in known:
                continue
            run = RunDir(path)
            try:
                self.upsert(run.run_id, run.read_config(), run.read_summary())
                added += 1
            except (OSError, ValueError, TypeError):
                continue
        return added

    def mark_interrupted(self, keep: set[str] = frozenset()) -> list[str]:
        """Runs recorded as queued/running whose process is gone (a restart) become 'interrupted'."""
        interrupted = []
        for row in self.list(limit=1_000_000):
            if not Status.of(row["status"]).active or row["run_id"] in keep:
                continue
            own = row["pid"] == os.getpid()
            if _pid_alive(row["pid"]) and not own:
                continue
            summary = {**row["summary"], "status": Status.INTERRUPTED,
                       "reason": "The server stopped while this run was in progress.",
                       "hint": "Start it again from the Runs page or the Experiment page."}
            run = self.run_dir(row["run_id"])
            if run.path.exists():
                run.write_summary(summary)
            self.upsert(row["run_id"], RunConfig.from_dict(row["config"]), summary)
            interrupted.append(row["run_id"])
        return interrupted


def _row_dict(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["config"] = json.loads(out["config"])
    out["summary"] = json.loads(out["summary"])
    return out
