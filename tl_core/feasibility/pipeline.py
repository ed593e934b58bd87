"""The whole feasibility check in this thread, for the CLI, scripts and tests:

    data in → validation → fold views → probe stage → fine-tune stage → label curve → recommendation → report

The dashboard runs the same stages through the JobManager instead (plan_* functions, then summarise on the
results as they arrive); this module only strings them together with `run_plan`.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from tl_core.feasibility.label_curve import (DEFAULT_BUDGETS, LabelCurve, budgets_for, plan_label_curve,
                                             summarise_label_curve, train_images_per_class)
from tl_core.feasibility.prepare import PreparedDataset, prepare_dataset
from tl_core.feasibility.recommend import Recommendation, recommend
from tl_core.feasibility.report import render_html, render_markdown
from tl_core.feasibility.results import RunResult, run_plan
from tl_core.feasibility.sweep import (Candidate, SweepReport, SweepSettings, plan_finetune_stage, plan_probe_stage,
                                       summarise)
from tl_core.feasibility.uploads import extract_upload
from tl_core.feasibility.validate import ValidationReport, validate_folder


@dataclass
class FeasibilityResult:
    validation: ValidationReport
    prepared: PreparedDataset
    sweep: SweepReport
    curve: LabelCurve | None
    recommendation: Recommendation | None
    results: list[RunResult] = field(repr=False, default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall-clock seconds per stage

    def markdown(self) -> str:
        return render_markdown(self.validation, self.sweep, self.curve, self.recommendation)

    def html(self) -> str:
        return render_html(self.validation, self.sweep, self.curve, self.recommendation)

    def write_report(self, out_dir: str | os.PathLike) -> tuple[Path, Path]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        md, page = out / "feasibility.md", out / "feasibility.html"
        md.write_text(self.markdown())
        page.write_text(self.html())
        return md, page


def load_input(data: str | os.PathLike | bytes, session_dir: str | os.PathLike) -> Path:
    """A zip (bytes or a .zip path) is extracted safely into the session; a folder is used as it is."""
    if isinstance(data, (bytes, bytearray)) or Path(data).is_file():
        return extract_upload(data, session_dir)
    return Path(data)


def run_feasibility(data: str | os.PathLike | bytes, session_dir: str | os.PathLike,
                    settings: SweepSettings = SweepSettings(), candidates: Sequence[Candidate] | None = None,
                    budgets: Sequence[int | None] | None = DEFAULT_BUDGETS, curve_folds: int | None = None,
                    runs_dir: str | os.PathLike | None = None,
                    on_result: Callable[[str, RunResult], None] | None = None,
                    stop: threading.Event | None = None) -> FeasibilityResult:
    """Every stage, synchronously. `budgets=None` skips the label curve; `on_result(stage, result)` sees each
    run as it ends. Raises UploadError / UnusableDatasetError (both DatasetError) for bad input."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    folder = load_input(data, session_dir)
    validation = validate_folder(folder)
    prepared = prepare_dataset(validation, session_dir, folds=settings.folds, seed=settings.seed)
    seconds["data"] = time.perf_counter() - started

    def stage(name: str, configs) -> list[RunResult]:
        t = time.perf_counter()
        out = run_plan(configs, runs_dir, (lambda r: on_result(name, r)) if on_result else None, stop)
        seconds[name] = time.perf_counter() - t
        return out

    probe = stage("probe", plan_probe_stage(prepared.views, candidates, settings))
    finetune = stage("fine-tune", plan_finetune_stage(probe, prepared.views, settings))
    sweep = summarise(probe + finetune)
    curve = None
    results = probe + finetune
    transfer = sweep.best_transfer_probe
    if budgets is not None and transfer is not None:
        allowed = budgets_for(train_images_per_class(validation.images_per_class), budgets)
        if len(allowed) >= 2:
            runs = stage("curve", plan_label_curve(prepared.views, transfer.candidate, settings, allowed,
                                                   folds=curve_folds))
            curve = summarise_label_curve(runs)
            results += runs
    recommendation = recommend(sweep, curve)
    seconds["total"] = time.perf_counter() - started
    return FeasibilityResult(validation, prepared, sweep, curve, recommendation, results, seconds)
