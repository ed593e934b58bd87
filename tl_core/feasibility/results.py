"""One finished (or failed) run as the sweeps see it, and the ways to get it: from a run directory, from the job
manager, or by training a plan right here.

A sweep is a list of RunConfigs. Whoever runs them (the dashboard through the JobManager, the CLI and the tests
through `run_plan`) hands back RunResults, in any order and as they arrive; the aggregations are pure functions
of whatever results they are given, so partial results give a partial picture.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from tl_core.analysis import mean_sd
from tl_core.records.run_dir import RunDir
from tl_core.runs.config import RunConfig
from tl_core.runs.runner import run_config
from tl_core.runs.status import Status


@dataclass(frozen=True)
class RunResult:
    config: RunConfig
    summary: dict[str, Any]  # summary.json: status, target_acc, seconds, labelled_examples, ...
    evaluation: dict[str, Any] | None = None  # evaluation.json: classes, per_class_acc, per_class_count, confusion

    @property
    def ok(self) -> bool:
        return self.summary.get("status") == Status.FINISHED and self.summary.get("target_acc") is not None

    @property
    def target_acc(self) -> float:
        return float(self.summary["target_acc"])

    @property
    def seconds(self) -> float:
        return float(self.summary.get("seconds") or 0.0)

    @property
    def labels_per_class_used(self) -> float | None:
        """Mean labelled training images per class the run really had (a budget is capped by what exists)."""
        n, classes = self.summary.get("labelled_examples"), (self.evaluation or {}).get("classes")
        return n / len(classes) if n and classes else None

    @classmethod
    def from_run_dir(cls, path: str | os.PathLike) -> "RunResult":
        run = RunDir(Path(path))
        return cls(run.read_config(), run.read_summary(), run.read_json("evaluation.json"))

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "summary": self.summary, "evaluation": self.evaluation}


def results_from_jobs(manager, run_ids: Iterable[str]) -> tuple[list[RunResult], int]:
    """(results of the runs that ended, how many are still queued or running), for a page that polls."""
    results, pending = [], 0
    for run_id in run_ids:
        view = manager.view(run_id)
        if view is None:
            continue
        if view.active:
            pending += 1
            continue
        run_dir = view.summary.get("run_dir")
        if run_dir and Path(run_dir).is_dir():
            results.append(RunResult.from_run_dir(run_dir))
        else:
            results.append(RunResult(view.config, dict(view.summary)))
    return results, pending


def run_plan(configs: Sequence[RunConfig], runs_dir: str | os.PathLike | None = None,
             on_result: Callable[[RunResult], None] | None = None,
             stop: threading.Event | None = None) -> list[RunResult]:
    """Train every config in this thread, one after another (the CLI and the tests; the dashboard uses the
    JobManager instead). `on_result` sees each result as it arrives; `stop` ends the plan early."""
    results = []
    for config in configs:
        if stop is not None and stop.is_set():
            break
        summary = run_config(config, runs_dir, stop=stop)
        run_dir = summary.get("run_dir")
        result = RunResult.from_run_dir(run_dir) if run_dir else RunResult(config, summary)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


@dataclass(frozen=True)
class Score:
    """Repeated measurements (folds) of one setting, aggregated."""

    target_acc_mean: float
    target_acc_sd: float
    fold_accs: tuple[float, ...]
    runs: int  # finished runs that count
    failed: int
    failures: tuple[str, ...]  # why runs did not finish
    seconds: float  # training time of all its runs together
    classes: tuple[str, ...]
    per_class_acc: tuple[float | None, ...]  # mean over folds
    confusion: tuple[tuple[int, ...], ...]  # summed over folds (each fold tests different images)
    labels_per_class: float | None  # mean labelled training images per class
    val_accs: tuple[float, ...] = ()  # each fold's validation-split accuracy: what settings are chosen on

    @property
    def val_acc_mean(self) -> float:
        """Mean validation accuracy over folds (NaN without any): the choosing number, never the test split."""
        return mean_sd(self.val_accs)[0]

    @property
    def val_acc_sd(self) -> float:
        return mean_sd(self.val_accs)[1]

    @property
    def has_spread(self) -> bool:
        """At least two folds: one fold says nothing about how much a result varies."""
        return self.runs >= 2


def score(results: Sequence[RunResult]) -> Score:
    done = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    accs = tuple(r.target_acc for r in done)
    mean, sd = mean_sd(accs)
    evaluations = [r.evaluation for r in done if r.evaluation]
    classes: tuple[str, ...] = tuple(evaluations[0]["classes"]) if evaluations else ()
    per_class: tuple[float | None, ...] = ()
    confusion: tuple[tuple[int, ...], ...] = ()
    if evaluations:
        rows = np.array([[np.nan if a is None else a for a in e["per_class_acc"]] for e in evaluations], float)
        with np.errstate(all="ignore"):
            means = np.nanmean(rows, axis=0) if np.isfinite(rows).any() else rows[0]
        per_class = tuple(None if np.isnan(m) else float(m) for m in means)
        confusion = tuple(tuple(int(v) for v in row) for row in np.sum([e["confusion"] for e in evaluations], axis=0))
    used = [r.labels_per_class_used for r in done if r.labels_per_class_used is not None]
    return Score(
        target_acc_mean=mean, target_acc_sd=sd, fold_accs=accs, runs=len(done), failed=len(failed),
        failures=tuple(f"{r.summary.get('status', Status.UNKNOWN)}: {r.summary.get('reason', '')}".strip(": ")
                       for r in failed),
        seconds=float(sum(r.seconds for r in results)), classes=classes, per_class_acc=per_class,
        confusion=confusion, labels_per_class=float(np.mean(used)) if used else None,
        val_accs=tuple(float(r.summary["val_acc"]) for r in done if r.summary.get("val_acc") is not None),
    )
