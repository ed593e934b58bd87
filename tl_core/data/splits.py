"""Seeded, stratified splits: the same labels and seed always give the same indices."""
from collections.abc import Sequence

import numpy as np
import torch

from .domain import Domain, Split

SPLIT_SEED = 0  # one fixed seed for every dataset, so a dataset's splits never change
TRAIN_VAL_TEST = (0.7, 0.1, 0.2)


def stratified_indices(labels: torch.Tensor, fractions: Sequence[float], seed: int) -> list[torch.Tensor]:
    """Sorted indices of each part; every class is cut in the same proportions."""
    rng = np.random.default_rng(seed)
    labels_np = labels.numpy()
    cuts = np.cumsum(fractions)[:-1] / sum(fractions)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    for c in np.unique(labels_np):
        idx = rng.permutation(np.flatnonzero(labels_np == c))
        for part, chunk in zip(parts, np.split(idx, np.round(cuts * len(idx)).astype(int))):
            part.append(chunk)
    return [torch.from_numpy(np.sort(np.concatenate(p))) for p in parts]


def split_domain(name: str, classes: Sequence[str], images: torch.Tensor, labels: torch.Tensor) -> Domain:
    """A Domain from one pool of images, cut 70/10/20 per class with the fixed split seed."""
    pool = Split(images, labels)
    train, val, test = (pool.subset(i) for i in stratified_indices(labels, TRAIN_VAL_TEST, SPLIT_SEED))
    return Domain(name, tuple(classes), train, val, test)


def label_budget(split: Split, per_class: int | None, seed: int) -> tuple[Split, Split]:
    """(labelled, unlabelled): `per_class` images of each class picked with `seed`; all of them when None."""
    if per_class is None:
        return split, split.subset(torch.zeros(0, dtype=torch.long))
    if per_class < 0:
        raise ValueError(f"per_class must be >= 0 or None, got {per_class}")
    rng = np.random.default_rng(seed)
    labels = split.labels.numpy()
    chosen = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        chosen[rng.permutation(np.flatnonzero(labels == c))[:per_class]] = True
    return split.subset(torch.from_numpy(np.flatnonzero(chosen))), split.subset(torch.from_numpy(np.flatnonzero(~chosen)))
