"""The feasibility check as stages:

    data in → validation → fold views → probe stage → fine-tune stage → label curve → recommendation → report

`next_stage` and `assemble` are pure functions of the results so far, so the dashboard and the CLI share the
same logic: the page submits what `next_stage` returns through the JobManager, polls, and calls `next_stage`
again once nothing is pending; `assemble` turns whatever has arrived into the reports at any moment.
`run_feasibility` does the same loop synchronously with `run_plan` (CLI, scripts, tests).
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
from tl_core.feasibility.results import RunResult, run_plan
from tl_core.feasibility.sweep import (CURVE, FINETUNE, PROBE, SMALL_PER_CLASS, Candidate, SweepReport, SweepSettings,
                                       _groups, base_config, default_candidates, finetune_depths, plan_finetune_stage,
                                       plan_probe_stage, stage_of, summarise)
from tl_core.feasibility.uploads import extract_upload
from tl_core.feasibility.validate import ValidationReport, validate_folder
from tl_core.runs.config import RunConfig

STAGES = (PROBE, FINETUNE, CURVE)


@dataclass(frozen=True)
class Plan:
    """What to run: the candidates, the settings, and the label budgets (None: no label curve)."""

    settings: SweepSettings = SweepSettings()
    candidates: tuple[Candidate, ...] | None = None  # None: default_candidates(settings.img_size)
    budgets: tuple[int | None, ...] | None = DEFAULT_BUDGETS
    curve_folds: int | None = None  # folds for the label curve (None: all of them)


def next_stage(prepared: PreparedDataset, plan: Plan, results: Sequence[RunResult]) -> tuple[str, list[RunConfig]]:
    """(stage, configs to submit) given every result so far; ("done", []) when nothing is left.

    Call it when none of the submitted runs is pending. A stage whose runs have all come back (finished or not)
    is over; a stage with nothing worth running (no transferring candidate for the curve...) is skipped.
    """
    by_stage = {s: [r for r in results if stage_of(r.config) == s] for s in STAGES}
    if not by_stage[PROBE]:
        return PROBE, plan_probe_stage(prepared.views, plan.candidates, plan.settings)
    if not by_stage[FINETUNE]:
        configs = plan_finetune_stage(by_stage[PROBE], prepared.views, plan.settings)
        if configs:
            return FINETUNE, configs
    if not by_stage[CURVE] and plan.budgets is not None:
        configs = _curve_configs(prepared, plan, by_stage[PROBE])
        if configs:
            return CURVE, configs
    return "done", []


def stages_left(plan: Plan, views: Sequence[str], images_per_class: int, done: Sequence[str] = ()
                ) -> list[list[RunConfig]]:
    """Every stage of the check not submitted yet (`done`: the stages submitted), as far as it can be planned
    before its results: the probes; fine-tuning of the first transferring candidate at `finetune_depths` depths
    in every fold (the probes choose which one, and which depths); the label curve at the budgets the smallest
    class allows. For estimating how long the check takes: `next_stage` plans the runs themselves."""
    settings = plan.settings
    candidates = list(plan.candidates) if plan.candidates is not None else default_candidates(settings.img_size)
    transfer = next((c for c in candidates if c.transfers), candidates[0])
    stages = {PROBE: plan_probe_stage(views, candidates, settings)}
    num_groups, _ = _groups(transfer.backbone, settings.img_size)
    small = train_images_per_class(images_per_class) < SMALL_PER_CLASS
    depths = (finetune_depths(num_groups, small, None, settings.finetune_depths)  # as planned without evidence
              if num_groups is not None and num_groups >= 2 else [])
    stages[FINETUNE] = [base_config(settings, view, transfer, "fine-tune", FINETUNE, freeze=d, fold=k)
                        for d in depths for k, view in enumerate(views)]
    allowed = budgets_for(train_images_per_class(images_per_class), plan.budgets or ())
    stages[CURVE] = (plan_label_curve(views, transfer, settings, allowed, folds=plan.curve_folds)
                     if plan.budgets is not None and len(allowed) >= 2 else [])
    return [stages[s] for s in STAGES if s not in done and stages[s]]


def _curve_configs(prepared: PreparedDataset, plan: Plan, probe: Sequence[RunResult]) -> list[RunConfig]:
    transfer = summarise(probe).best_transfer_probe
    if transfer is None or not transfer.score.runs:
        return []
    allowed = budgets_for(train_images_per_class(prepared.report.images_per_class), plan.budgets or ())
    if len(allowed) < 2:  # only "all": no curve to draw
        return []
    return plan_label_curve(prepared.views, transfer.candidate, plan.settings, allowed, folds=plan.curve_folds)


def assemble(results: Sequence[RunResult], planned: Sequence[RunConfig] = ()
             ) -> tuple[SweepReport, LabelCurve | None, Recommendation | None]:
    """The sweep report, label curve (None before any curve run) and recommendation from the results so far."""
    sweep = summarise(results, planned)
    curve_runs = [r for r in results if stage_of(r.config) == CURVE]
    curve = summarise_label_curve(curve_runs) if curve_runs else None
    return sweep, curve, recommend(sweep, curve)


@dataclass
class FeasibilityResult:
    validation: ValidationReport
    prepared: PreparedDataset
    sweep: SweepReport
    curve: LabelCurve | None
    recommendation: Recommendation | None
    results: list[RunResult] = field(repr=False, default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall-clock seconds per stage, and in total


def load_input(data: str | os.PathLike | bytes, session_dir: str | os.PathLike) -> Path:
    """A zip (bytes or a path to a file) is extracted safely into the session; a folder is used where it is.
    (A folder a user names in the dashboard goes through `resolve_server_folder` first.)"""
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
    validation = validate_folder(load_input(data, session_dir))
    prepared = prepare_dataset(validation, session_dir, folds=settings.folds, seed=settings.seed)
    seconds["data"] = time.perf_counter() - started
    plan = Plan(settings, tuple(candidates) if candidates is not None else None,
                tuple(budgets) if budgets is not None else None, curve_folds)
    results: list[RunResult] = []
    while not (stop is not None and stop.is_set()):
        stage, configs = next_stage(prepared, plan, results)
        if not configs:
            break
        t = time.perf_counter()
        results += run_plan(configs, runs_dir, (lambda r, s=stage: on_result(s, r)) if on_result else None, stop)
        seconds[stage] = time.perf_counter() - t
    sweep, curve, recommendation = assemble(results)
    seconds["total"] = time.perf_counter() - started
    return FeasibilityResult(validation, prepared, sweep, curve, recommendation, results, seconds)
