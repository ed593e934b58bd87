"""Choosing a setting without reading the target's test split: reverse validation for a strategy trained on
source labels, the target's validation split for one trained on target labels (`metric_for`).

Zhong, Fan, Yang, Verscheure & Ren (ECML 2010), as Ganin et al. (JMLR 2016, §5.1.2) use it for DANN, and
lecture 4 ("model selection for domain adaptation"):

1. the forward model — trained on the labelled source and the unlabelled target — pseudo-labels the target
   *training* images;
2. a reverse model is trained on those images with those pseudo-labels, from input space: a fresh small_cnn
   from random weights, through the one training loop (`fit`, strategy scratch) — never a probe on the forward
   network's own features, whose score would only echo the forward network's source accuracy;
3. the reverse model's accuracy on the labelled SOURCE validation split is the score.

A setting whose target predictions are wrong, collapsed or inconsistent teaches the reverse model something
that does not hold on the source. Target-test images and every target label are never read: only the target
training images (without labels) and the source validation split.
"""
from __future__ import annotations

import itertools
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from tl_core import data
from tl_core.backbones import create_backbone
from tl_core.data import Domain, Split
from tl_core.errors import ConfigError
from tl_core.machine.paths import runs_dir as default_runs_dir
from tl_core.networks.model import TransferModel
from tl_core.records.run_dir import RunDir
from tl_core.records.store import RunStore
from tl_core.runs import identity
from tl_core.runs.config import RunConfig, config_schema
from tl_core.runs.runner import run_config
from tl_core.runs.schema import kind_noun, parse_text
from tl_core.runs.status import Status
from tl_core.strategies import build_strategy, parse_settings, strategy_class
from tl_core.strategies.teacher import load_teacher, teacher_record
from tl_core.train import loop
from tl_core.train.task import Examples, Task

REVERSE = "reverse_validation_acc"  # a strategy whose labels are the source's: no target label may choose it
TARGET_VAL = "val_acc"  # a strategy trained on target labels: the final epoch on the target's validation split
READS = {
    REVERSE: "labelled source training and validation images; the target's training images without their labels. "
             "No target label (training or test) is read by the score; the runs' own per-epoch target_acc is "
             "recorded by the loop but never used here.",
    TARGET_VAL: "the labelled target training images the run trains on and the target's validation split (its "
                "final-epoch accuracy). The target's test split is never read by the score; the runs' own "
                "per-epoch target_acc is recorded by the loop but never used here.",
}
MAX_REVERSE_ROWS = 2000  # target training images pseudo-labelled per run (a seeded sample when there are more)


@dataclass(frozen=True)
class ReverseRecipe:
    """How the reverse model trains: a small_cnn from random weights (input space), AdamW, every layer."""

    backbone: str = "small_cnn"
    epochs: int = 10  # 200 steps of 64 on 1,258 pseudo-labelled images
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4


def reverse_validation_accuracy(target_images: torch.Tensor, target_pseudo: torch.Tensor, source_val_images:
                                torch.Tensor, source_val_labels: torch.Tensor, num_classes: int, img_size: int,
                                seed: int = 0, recipe: ReverseRecipe = ReverseRecipe()) -> float:
    """Accuracy on the labelled source validation images of a reverse model trained from random weights on the
    target images with their pseudo-labels (uint8 N×3×H×W images; labels int64). Pseudo-labels of a single class
    give the constant classifier of that class (a network would learn nothing else)."""
    pseudo, labels = torch.as_tensor(target_pseudo).long(), torch.as_tensor(source_val_labels).long()
    if len(target_images) != len(pseudo) or len(source_val_images) != len(labels) or not len(pseudo) \
            or not len(labels):
        raise ValueError("reverse validation needs non-empty images with one label per image")
    classes = torch.unique(pseudo)
    if classes.numel() == 1:
        return float((labels == classes[0]).float().mean())
    torch.manual_seed(seed)
    backbone = create_backbone(recipe.backbone, "random", img_size)
    model = TransferModel(backbone, num_classes)
    names = tuple(str(c) for c in range(num_classes))
    empty = Split(target_images[:0], pseudo[:0])
    pseudo_domain = Domain("pseudo-labelled target", names, Split(target_images, pseudo), empty, empty)
    source_val = Examples(source_val_images, labels)
    task = Task(source=pseudo_domain, target=pseudo_domain, labelled=Examples(target_images, pseudo),
                unlabelled=None, val=source_val, test=source_val)
    history = loop.fit(model, task, build_strategy("scratch"), epochs=recipe.epochs, batch_size=recipe.batch_size,
                       lr=recipe.lr, weight_decay=recipe.weight_decay, seed=seed, device=torch.device("cpu"),
                       ctx=loop.FitContext("reverse", "reverse", emit=lambda event: None))
    return float(history[-1]["target_acc"])  # this task's "target" is the source validation split


# ---------------------------------------------------------------- the grid


def parse_grid(texts: Sequence[str], strategy: str) -> dict[str, list]:
    """`["lr=0.01,0.03", "domain_weight=0.3,1"]` → {"lr": [0.01, 0.03], "domain_weight": [0.3, 1.0]}: keys are
    RunConfig fields or the strategy's settings, values typed by their schema (ConfigError otherwise)."""
    grid: dict[str, list] = {}
    for text in texts:
        key, sep, values = text.partition("=")
        if not sep or not values:
            raise ConfigError(f"A grid entry is KEY=V1,V2,…, not {text!r}.")
        if key in grid:
            raise ConfigError(f"The grid names '{key}' twice.")
        schema = config_schema().get(key)
        if key in ("settings", "role", "experiment", "arm", "seed", "name"):
            raise ConfigError(f"'{key}' cannot be tuned (seeds go in --seeds).")
        if schema is not None:
            try:
                grid[key] = [parse_text(schema.kind, v) for v in values.split(",")]
            except ValueError:
                raise ConfigError(f"Grid values of '{key}' must be {kind_noun(schema.kind)}: {values!r}.") from None
        else:
            grid[key] = [parse_settings(strategy, {key: v})[key] for v in values.split(",")]
    return grid


def candidates(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid's values, in the order given."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def describe(candidate: dict) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in candidate.items())


def candidate_config(base: RunConfig, candidate: dict, seed: int, experiment: str) -> RunConfig:
    fields = set(config_schema())
    direct = {k: v for k, v in candidate.items() if k in fields}
    settings = {**base.settings, **{k: v for k, v in candidate.items() if k not in fields}}
    label = describe(candidate)
    return base.replace(**direct, settings=settings, seed=seed, snapshot_size=0, role=identity.Role.BENCH.value,
                        experiment=experiment, arm=label, name=f"select {label} seed {seed}")


# ---------------------------------------------------------------- scoring a finished run


def score_run(run_id: str, runs_dir: Path) -> float:
    """Reverse-validation accuracy of a finished run: its saved network (with the target's BatchNorm statistics
    when it keeps its own) pseudo-labels the target training images, a reverse model learns them, the source
    validation split scores it. Reads no target label."""
    config, _ = teacher_record(run_id, runs_dir)
    forward = load_teacher(run_id, runs_dir, torch.device("cpu"))
    source, target = (data.load_domain(name, config.img_size) for name in (config.source, config.target))
    images = target.train.images  # the training images only; their labels are never touched
    if len(images) > MAX_REVERSE_ROWS:
        keep = np.sort(np.random.default_rng(config.seed).choice(len(images), MAX_REVERSE_ROWS, replace=False))
        images = images[torch.from_numpy(keep)]
    pseudo = torch.cat([forward(images[i:i + 512]).argmax(1) for i in range(0, len(images), 512)])
    return reverse_validation_accuracy(images, pseudo, source.val.images, source.val.labels, len(source.classes),
                                       config.img_size, config.seed)


# ---------------------------------------------------------------- the selection


def metric_for(strategy: str) -> str:
    """What chooses among a strategy's settings: reverse validation when it learns from source labels only
    (the target's labels are what it adapts without), else the target's own validation split."""
    return REVERSE if strategy_class(strategy).labelled_domain == "source" else TARGET_VAL


@dataclass
class Scored:
    candidate: dict
    runs: list[dict] = field(default_factory=list)  # per seed: run_id, status, val_acc (and reverse_validation_acc)
    metric: str = REVERSE

    @property
    def score(self) -> float | None:
        """The metric's mean over seeds; None when any seed did not finish."""
        if not self.runs or any(r["status"] != Status.FINISHED for r in self.runs):
            return None
        return float(np.mean([r[self.metric] for r in self.runs]))

    @property
    def labelled_val_acc(self) -> float | None:
        """Mean validation accuracy of the domain whose labels trained it (the source's, for adaptation)."""
        values = [r["val_acc"] for r in self.runs if r.get("val_acc") is not None]
        return float(np.mean(values)) if values else None


@dataclass
class Selection:
    metric: str
    base: dict
    grid: dict
    seeds: list[int]
    scored: list[Scored]
    chosen: dict | None
    record: str = ""

    def to_dict(self) -> dict:
        out = asdict(self)
        out["reads"] = READS[self.metric]
        for row, scored in zip(out["scored"], self.scored):
            row["score"] = scored.score
        return out


def choose(scored: Sequence[Scored]) -> Scored | None:
    """The candidate with the highest score; ties go to the earlier one; None when none finished."""
    finished = [s for s in scored if s.score is not None]
    return max(finished, key=lambda s: s.score) if finished else None


def select(base: RunConfig, grid: dict[str, list], seeds: Sequence[int], runs_dir: Path,
           progress=lambda line: None) -> Selection:
    """Train every candidate at every seed through the one training loop, score each (`metric_for` the
    strategy), choose, and write the selection (metric, every score, the choice) to runs_dir/selections/."""
    runs_dir = default_runs_dir(runs_dir)
    experiment = identity.bench(f"select-{secrets.token_hex(4)}")
    store = RunStore(runs_dir)
    metric = metric_for(base.strategy)
    scored = []
    for candidate in candidates(grid):
        entry = Scored(candidate, metric=metric)
        for seed in seeds:
            summary = run_config(candidate_config(base, candidate, seed, experiment), runs_dir)
            result = {k: summary.get(k) for k in ("run_id", "status", "reason", "val_acc")}
            if summary["status"] == Status.FINISHED and metric == REVERSE:
                result[REVERSE] = summary[REVERSE] = score_run(summary["run_id"], runs_dir)
                run = RunDir(runs_dir / summary["run_id"])
                run.write_summary(summary)
                store.upsert(summary["run_id"], run.read_config(), summary)
            entry.runs.append(result)
            progress(f"{describe(candidate)} seed {seed}: {summary['status']}"
                     + (f", {metric} {result[metric]:.3f}" if result.get(metric) is not None else ""))
        scored.append(entry)
    best = choose(scored)
    selection = Selection(metric, base.to_dict(), grid, list(seeds), scored, best.candidate if best else None)
    path = runs_dir / "selections" / f"{time.strftime('%Y%m%d-%H%M%S')}-{experiment.split(':')[-1]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    selection.record = str(path)
    path.write_text(json.dumps(selection.to_dict(), indent=1, default=float))
    return selection


def selection_table(selection: Selection) -> str:
    """The candidates with their scores, best first, and the chosen one marked."""
    width = max(len(describe(s.candidate)) for s in selection.scored)
    reverse = selection.metric == REVERSE
    lines = [f"  {'candidate'.ljust(width)}  {'reverse-val acc' if reverse else ' target-val acc'}"
             + ("  source val acc" if reverse else ""),
             *(f"{'*' if s.candidate == selection.chosen else ' '} {describe(s.candidate).ljust(width)}  "
               f"{'-' if s.score is None else f'{s.score:.3f}':>15}"
               + (f"  {'-' if s.labelled_val_acc is None else f'{s.labelled_val_acc:.3f}':>14}" if reverse else "")
               for s in sorted(selection.scored, key=lambda s: -1 if s.score is None else s.score, reverse=True))]
    return "\n".join(lines)
