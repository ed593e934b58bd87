"""The run history: a SQLite index (WAL mode) over the run directories, shared by the CLI and the dashboard.

The directories are the truth; the index makes listing and filtering fast and can be rebuilt from them.
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
import socket
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

from tl_core.records.run_dir import RunDir
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status
from tl_core.serving.owners import CLI, Actor, NotOwner, check_may_act

log = logging.getLogger(__name__)
T = TypeVar("T")

HEAL_EVERY_S = 2.0  # how stale a dead process's runs may be shown as running
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


def process_start_time(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat); None without /proc.

    Beside the pid it tells a live run from a new process that was given the dead run's pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def process_identity() -> dict[str, Any]:
    """What a run records about the process that owns it: pid, host and the pid's start time."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "pid_started": process_start_time(pid)}


def _is_corrupt(err: sqlite3.DatabaseError) -> bool:
    """A damaged index file, as opposed to a busy one (locked) or one that cannot be opened (permissions)."""
    if isinstance(err, sqlite3.OperationalError):
        return "malformed" in str(err) or "not a database" in str(err)
    return not isinstance(err, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError))


@dataclass
class Reindexed:
    added: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (run directory, why it could not be read)


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
        self._healing = False
        self._healed_at = -math.inf
        self._guarded(self._create)

    def _guarded(self, action: Callable[[], T]) -> T:
        """`action()`; when the index file is damaged, it is moved aside, rebuilt from the run directories
        (the truth) and `action` runs again."""
        try:
            return action()
        except sqlite3.DatabaseError as err:
            if self._healing or not _is_corrupt(err):
                raise
            self._heal(err)
            return action()

    def _heal(self, err: sqlite3.DatabaseError) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            path = self.db_path.with_name(self.db_path.name + suffix)
            try:
                os.replace(path, path.with_name(f"{self.db_path.name}.corrupt-{stamp}{suffix}"))
            except FileNotFoundError:
                pass  # no such file, or another process moved it first
        log.warning("The run index %s was damaged (%s); it was moved aside and rebuilt from the run directories.",
                    self.db_path, err)
        self._healing = True
        try:
            self._create()
            self.reindex()
        finally:
            self._healing = False

    def _create(self, patience_s: float = 30.0) -> None:
        """Switch to WAL and create the tables. Two processes opening a new index at the same moment can get
        "database is locked" at once (SQLite does not wait on its busy timeout for a journal-mode change), so
        this retries for up to `patience_s`; the version check and the tables are one write transaction, so one
        process cannot drop the table another has just made."""
        deadline = time.monotonic() + patience_s
        while True:
            try:
                with closing(self._connect()) as db:
                    db.isolation_level = None  # explicit transactions: the version check and the layout are one step
                    db.execute("PRAGMA journal_mode=WAL")
                    db.execute("BEGIN IMMEDIATE")
                    try:
                        if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                            db.execute("DROP TABLE IF EXISTS runs")  # an older layout: rebuilt from the run directories
                            for statement in filter(str.strip, _SCHEMA.split(";")):
                                db.execute(statement)
                            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                        db.execute("COMMIT")
                    except BaseException:
                        db.execute("ROLLBACK")
                        raise
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
            "run_id": run_id, "created": summary.get("created", time.time()), "status": summary.get("status", Status.UNKNOWN),
            "pid": int(summary.get("pid", 0)), "name": config.name, "role": config.role, "experiment": config.experiment,
            "arm": config.arm, "source": config.source,
            "target": config.target, "backbone": config.backbone, "strategy": config.strategy, "weights": config.weights,
            "freeze": config.freeze, "labels_per_class": config.labels_per_class, "epochs": config.epochs,
            "target_acc": summary.get("target_acc"), "val_acc": summary.get("val_acc"),
            "seconds": summary.get("seconds"), "device": summary.get("device_name") or summary.get("device"),
            "config": config.to_json(), "summary": json.dumps(_json_safe(summary), default=float),
        }
        columns = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        updates = ", ".join(f"{k}=excluded.{k}" for k in row if k not in ("run_id", "created"))

        def write() -> None:
            with closing(self._connect()) as db, db:
                db.execute(f"INSERT INTO runs ({columns}) VALUES ({marks}) ON CONFLICT(run_id) DO UPDATE SET {updates}",
                           row)
                if owner is not None:
                    db.execute("UPDATE runs SET owner=? WHERE run_id=?", (owner, run_id))

        self._guarded(write)

    def _select(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        def read() -> list[sqlite3.Row]:
            with closing(self._connect()) as db:
                return db.execute(sql, args).fetchall()

        return self._guarded(read)

    def get(self, run_id: str) -> dict[str, Any] | None:
        rows = self._select("SELECT * FROM runs WHERE run_id=?", (run_id,))
        return _row_dict(rows[0]) if rows else None

    def get_many(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The indexed runs among `run_ids`, by id, in one query (a lesson's runs, read on every tick)."""
        found: dict[str, dict[str, Any]] = {}
        for at in range(0, len(run_ids), 500):  # SQLite's limit on bound parameters
            chunk = run_ids[at:at + 500]
            marks = ", ".join("?" * len(chunk))
            found.update((row["run_id"], _row_dict(row))
                         for row in self._select(f"SELECT * FROM runs WHERE run_id IN ({marks})", tuple(chunk)))
        return found

    def list(self, *, experiment: str | None = None, experiment_prefix: str | None = None, role: str | None = None,
             status: str | None = None, limit: int = 500, heal: bool = True) -> list[dict[str, Any]]:
        """Newest first. With `heal`, runs whose process died first become 'interrupted' (`heal_stale`, at most
        every HEAL_EVERY_S: a class's tabs list runs many times a second)."""
        if heal and time.monotonic() - self._healed_at >= HEAL_EVERY_S:
            self.heal_stale()
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
        rows = self._select(f"SELECT * FROM runs {clause} ORDER BY created DESC LIMIT ?", (*args, limit))
        return [_row_dict(r) for r in rows]

    def find_finished(self, fingerprint: str) -> dict[str, Any] | None:
        """The oldest finished run with this identity (`tl_core.runs.fingerprint`) that computed its own result."""
        rows = self._select("SELECT * FROM runs WHERE status=? AND json_valid(summary) "
                            "AND json_extract(summary, '$.fingerprint')=? "
                            "AND json_extract(summary, '$.shared_from') IS NULL ORDER BY created LIMIT 1",
                            (Status.FINISHED, fingerprint))
        return _row_dict(rows[0]) if rows else None

    def delete(self, run_id: str, by: "str | Actor" = CLI) -> None:
        """Remove the run's record and directory; NotOwner unless `by` owns it (or is the teacher). A directory the
        index does not list answers to the owner recorded in it."""
        if Path(run_id).name != run_id or run_id in ("", ".", ".."):
            raise NotOwner(f"'{run_id}' is not a run id: pick the run on the Runs page.")
        row = self.get(run_id)
        owner = row.get("owner") if row is not None else self.run_dir(run_id).read_owner()
        check_may_act(by, owner or CLI, "delete", run_id)

        def forget() -> None:
            with closing(self._connect()) as db, db:
                db.execute("DELETE FROM runs WHERE run_id=?", (run_id,))

        self._guarded(forget)
        shutil.rmtree(self.runs_dir / run_id, ignore_errors=True)

    def reindex(self) -> Reindexed:
        """Index run directories written while the index was absent (or by an older process). A directory that
        cannot be read is skipped, logged and reported, never the end of the whole list."""
        known = {r["run_id"] for r in self.list(limit=1_000_000, heal=False)}
        result = Reindexed()
        for path in sorted(p for p in self.runs_dir.iterdir() if (p / "config.json").exists()):
            if path.name in known:
                continue
            run = RunDir(path)
            try:
                summary = run.read_summary()
                if not isinstance(summary, dict):
                    raise ValueError("summary.json does not hold an object")
                self.upsert(run.run_id, run.read_config(), summary, owner=run.read_owner())
                result.added += 1
            except (OSError, ValueError, TypeError, KeyError, OverflowError, sqlite3.IntegrityError,
                    sqlite3.InterfaceError, sqlite3.ProgrammingError) as err:
                why = f"{type(err).__name__}: {err}"
                log.warning("Run directory %s was not indexed: %s", path, why)
                result.skipped.append((str(path), why))
        return result

    def heal_stale(self) -> list[str]:
        """Queued/running runs of this host whose process is gone (dead, or its pid now belongs to a newer
        process) become 'interrupted', so they can be deleted. Runs of other hosts, and records without a host,
        are left alone: their process cannot be checked from here."""
        self._healed_at = time.monotonic()
        host = socket.gethostname()
        healed, alive = [], {}  # a class's runs share a few processes: each is checked once per pass
        rows = self._select("SELECT run_id, pid, json_extract(summary, '$.host'), json_extract(summary, "
                            "'$.pid_started') FROM runs WHERE status IN (?, ?) AND json_valid(summary)",
                            (Status.QUEUED, Status.RUNNING))
        for run_id, pid, run_host, pid_started in rows:
            if run_host != host or pid is None:
                continue
            if pid not in alive:
                alive[pid] = process_start_time(pid) if _pid_alive(pid) else False
            started = alive[pid]
            if started is not False and (pid_started is None or started is None or started == pid_started):
                continue
            row = self.get(run_id)
            if row is None or not Status.of(row["status"]).active:  # ended meanwhile
                continue
            self._interrupt(row, "Its process ended without recording how the run ended (killed, or the machine "
                                 "restarted).", "Delete it, or start it again.")
            healed.append(run_id)
        return healed

    def end(self, run_id: str, status: Status, reason: str, hint: str = "") -> dict[str, Any]:
        """Record the ending of a run that could not record its own (its worker died, it left the queue);
        returns the summary written."""
        run = self.run_dir(run_id)
        summary = {**run.read_summary(), "status": status, "reason": reason, "hint": hint, "run_id": run_id,
                   "run_dir": str(run.path), "epochs_done": len(run.read_metrics())}
        run.write_summary(summary)
        self.upsert(run_id, run.read_config(), summary)
        return summary

    def _interrupt(self, row: dict[str, Any], reason: str, hint: str) -> None:
        summary = {**row["summary"], "status": Status.INTERRUPTED, "reason": reason, "hint": hint}
        run = self.run_dir(row["run_id"])
        if run.path.exists():
            try:
                run.write_summary(summary)
            except OSError as err:
                log.warning("Could not write %s: %s", run.path / "summary.json", err)
        self.upsert(row["run_id"], RunConfig.from_dict(row["config"]), summary)

    def mark_interrupted(self, keep: set[str] = frozenset()) -> list[str]:
        """Runs recorded as queued/running whose process is gone (a restart) become 'interrupted'."""
        interrupted = []
        for row in self.list(limit=1_000_000, heal=False):
            if not Status.of(row["status"]).active or row["run_id"] in keep:
                continue
            own = row["pid"] == os.getpid()
            if _pid_alive(row["pid"]) and not own:
                continue
            self._interrupt(row, "The server stopped while this run was in progress.",
                            "Start it again from the Runs page or the Experiment page.")
            interrupted.append(row["run_id"])
        return interrupted


def _row_dict(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["config"] = json.loads(out["config"])
    out["summary"] = json.loads(out["summary"])
    return out


def _json_safe(value: Any) -> Any:
    """`value` with NaN and infinities as None: strict JSON, which SQLite's JSON functions can read (a run's
    metrics can be NaN, e.g. the accuracy on an empty validation split)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value
