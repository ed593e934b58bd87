"""AdaBN of a finished run (Li et al., "Revisiting Batch Normalization for Practical Domain Adaptation", 2016):
the run's saved network with every BatchNorm's statistics recomputed on the unlabelled target training images,
evaluated on the target test split. The weights do not change; the source keeps the statistics it trained with.

The reference row beside DANN in `bench/domain_adaptation.py`: what normalising each domain with its own
statistics does alone, without adversarial training.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch

from tl_core.analysis import domain_confusion
from tl_core.data import load_domain
from tl_core.strategies.teacher import load_teacher, teacher_record
from tl_core.train.domain_bn import recompute_statistics
from tl_core.train.snapshots import SnapshotTaker


@torch.no_grad()
def adabn_evaluation(run_id: str, runs_dir: Path, snapshot_size: int = 300) -> dict:
    """target_acc, domain_confusion_acc (source test features with the source statistics, target test features
    with the target's; the same class-stratified sample a run's snapshot takes) and the features themselves."""
    config, _ = teacher_record(run_id, runs_dir)
    source_model = load_teacher(run_id, runs_dir, torch.device("cpu")).model
    source, target = load_domain(config.source, config.img_size), load_domain(config.target, config.img_size)
    target_model = copy.deepcopy(source_model)
    recompute_statistics(target_model, target.train.images)  # images only: no target label is read here
    logits = torch.cat([target_model(target.test.images[i:i + 512]) for i in range(0, len(target.test.images), 512)])
    target_acc = float((logits.argmax(1) == target.test.labels).float().mean())
    sample = SnapshotTaker(source, target, snapshot_size, config.seed, torch.device("cpu"), 512)
    source_feats = sample.features(source_model)[0]
    target_feats = sample.features(target_model)[1]
    confusion = domain_confusion(source_feats, target_feats, seed=config.seed)
    return {"target_acc": target_acc, "domain_confusion_acc": confusion.acc, "a_distance": confusion.a_distance,
            "source_feats": np.asarray(source_feats), "target_feats": np.asarray(target_feats)}
