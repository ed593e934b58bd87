"""Classification metrics on integer arrays: fractions in [0, 1], counts as int64.

``pred`` and ``labels`` are 1-D integer arrays of class ids in [0, num_classes).
Rows of a confusion matrix are true classes, columns predicted classes.
"""
from typing import NamedTuple

import numpy as np


def _check_pair(pred, labels, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    pred, labels = np.asarray(pred), np.asarray(labels)
    if pred.ndim != 1 or pred.shape != labels.shape:
        raise ValueError(f"pred and labels must be 1-D of equal length, got {pred.shape} and {labels.shape}")
    if num_classes is not None and pred.size:
        low, high = min(pred.min(), labels.min()), max(pred.max(), labels.max())
        if low < 0 or high >= num_classes:
            raise ValueError(f"class ids must lie in [0, {num_classes}), got [{low}, {high}]")
    return pred.astype(np.int64), labels.astype(np.int64)


def accuracy(pred, labels) -> float:
    """Fraction of rows with pred == label; NaN for no rows."""
    pred, labels = _check_pair(pred, labels)
    return float(np.mean(pred == labels)) if pred.size else float("nan")


def confusion_matrix(pred, labels, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) int64 counts; entry [t, p] counts rows with true class t predicted as p."""
    pred, labels = _check_pair(pred, labels, num_classes)
    flat = np.bincount(labels * num_classes + pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


class PerClassAccuracy(NamedTuple):
    acc: np.ndarray  # (num_classes,) float64 recall per true class; NaN where count is 0
    count: np.ndarray  # (num_classes,) int64 rows per true class


def per_class_accuracy(pred, labels, num_classes: int) -> PerClassAccuracy:
    """Per true class c: acc[c] = #(pred = label = c) / #(label = c), with the counts alongside."""
    cm = confusion_matrix(pred, labels, num_classes)
    count = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(count > 0, np.diag(cm) / count, np.nan)
    return PerClassAccuracy(acc=acc, count=count)


def misclassified_indices(pred, labels, num_classes: int) -> dict[tuple[int, int], list[int]]:
    """Row indices of the errors, per off-diagonal confusion cell: {(true, pred): [i, ...]} ascending.

    Only non-empty cells appear; keys and indices are plain ints.
    """
    pred, labels = _check_pair(pred, labels, num_classes)
    wrong = np.flatnonzero(pred != labels)
    cells: dict[tuple[int, int], list[int]] = {}
    for i in wrong.tolist():
        cells.setdefault((int(labels[i]), int(pred[i])), []).append(i)
    return dict(sorted(cells.items()))


def misclassified_to_records(cells: dict[tuple[int, int], list[int]]) -> list[dict]:
    """JSON-friendly form of ``misclassified_indices``: [{"true": t, "pred": p, "indices": [...]}, ...]."""
    return [{"true": t, "pred": p, "indices": list(idx)} for (t, p), idx in sorted(cells.items())]


def misclassified_from_records(records: list[dict]) -> dict[tuple[int, int], list[int]]:
    """Inverse of ``misclassified_to_records``."""
    return {(int(r["true"]), int(r["pred"])): [int(i) for i in r["indices"]] for r in records}


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1) of repeated measurements (seeds, folds).

    One value gives sd 0.0; no values give (NaN, NaN).
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        return float("nan"), float("nan")
    sd = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return float(np.mean(values)), sd


def gap_closed(source_only: float, adapted: float, target_only: float) -> float:
    """Fraction of the domain gap an adaptation method closes, on target accuracy:

        (adapted − source_only) / (target_only − source_only)

    0 = no better than training on the source alone, 1 = as good as training on labelled target data
    (Ganin & Lempitsky 2015, Table 1: MNIST → MNIST-M, (0.7666 − 0.5225) / (0.9596 − 0.5225) ≈ 0.56).
    Not clipped: negative means negative transfer, above 1 means better than the target-only model.
    NaN when the gap is zero (or any input is NaN).
    """
    gap = target_only - source_only
    if not gap or np.isnan(gap):
        return float("nan")
    return float((adapted - source_only) / gap)
