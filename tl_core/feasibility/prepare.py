"""From a validated folder to what the engine trains on: one clean ImageFolder per fold.

The engine loads `folder:PATH` and cuts it 70/10/20 per class with one fixed seed, so a folder always gives the
same test images. To measure a spread, each fold is its own view of the same images (hard links, so no copy):
files are renamed so that fold k's share of every class lands on the test positions of that fixed split. When
the loader orders files by name, as `tl_core.data` does, the folds' test sets are disjoint (k-fold style); with
any other order they are still different random splits (repeated hold-out). Only files the validation kept
are linked, with lower-case extensions, so the loader never meets a skipped file or a small class.

Folders are named by a hash of their content, so the dataset cache under `$TL_DATA_DIR` can never serve the
images of an earlier upload under the same name.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tl_core.data.splits import SPLIT_SEED, TRAIN_VAL_TEST, stratified_indices
from tl_core.feasibility.validate import ValidationReport

FOLDER_PREFIX = "folder:"


@dataclass(frozen=True)
class PreparedDataset:
    report: ValidationReport
    folder: Path  # holds fold-0, fold-1, ...
    views: tuple[str, ...]  # dataset names ("folder:PATH"), one per fold

    @property
    def folds(self) -> int:
        return len(self.views)


def content_key(report: ValidationReport, folds: int, seed: int) -> str:
    digest = hashlib.sha256(f"{folds}:{seed}".encode())
    for image in sorted(report.images, key=lambda i: i.path):
        digest.update(f"{image.label}\0{image.sha256}\n".encode())
    return digest.hexdigest()[:12]


def fold_orders(counts: list[int], folds: int, seed: int) -> list[list[np.ndarray]]:
    """orders[k][c][j]: which of class c's images (in validation order) takes file position j in fold k.

    Position j is where the engine's fixed split puts the j-th file of the class; fold k fills the split's
    test positions with its own chunk of each class (a seeded shuffle cut into `folds` chunks, chunks reused
    once a small class runs out).
    """
    labels = torch.cat([torch.full((n,), c, dtype=torch.long) for c, n in enumerate(counts)])
    test = stratified_indices(labels, TRAIN_VAL_TEST, SPLIT_SEED)[-1].numpy()
    rng = np.random.default_rng(seed)
    orders: list[list[np.ndarray]] = [[] for _ in range(folds)]
    start = 0
    for n in counts:
        positions = np.arange(n)
        is_test = np.isin(positions, test - start)
        start += n
        shuffled = rng.permutation(n)
        t = int(is_test.sum())
        for k in range(folds):
            offset = (k * t) % n if n else 0
            chunk = np.roll(shuffled, -offset)  # this fold's test images first, the rest after
            order = np.empty(n, dtype=int)
            order[positions[is_test]] = chunk[:t]
            order[positions[~is_test]] = chunk[t:]
            orders[k].append(order)
    return orders


def _link(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(src, dest)


def prepare_dataset(report: ValidationReport, work_dir: str | os.PathLike, folds: int = 3,
                    seed: int = 0) -> PreparedDataset:
    """Write (once) the fold views of the images `report` kept, under `work_dir/prepared-<content hash>/`."""
    if folds < 1:
        raise ValueError("folds must be 1 or more")
    root = Path(work_dir) / f"prepared-{content_key(report, folds, seed)}"
    views = tuple(f"{FOLDER_PREFIX}{(root / f'fold-{k}').resolve()}" for k in range(folds))
    if (root / ".complete").exists():
        return PreparedDataset(report, root, views)
    shutil.rmtree(root, ignore_errors=True)
    staging = root.with_name(root.name + f".tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    by_class = {c: [i for i in report.images if i.label == c] for c in report.classes}
    orders = fold_orders([len(by_class[c]) for c in report.classes], folds, seed)
    source = Path(report.root)
    for k in range(folds):
        for c, name in enumerate(report.classes):
            folder = staging / f"fold-{k}" / name
            folder.mkdir(parents=True)
            images = by_class[name]
            for position, index in enumerate(orders[k][c]):
                image = images[index]
                _link(source / image.path, folder / f"{position:05d}{Path(image.path).suffix.lower()}")
    (staging / ".complete").touch()
    os.replace(staging, root)
    return PreparedDataset(report, root, views)
