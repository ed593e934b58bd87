"""The typed events the training loop emits. Subscribers are plain callables and never change training."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    config: dict[str, Any]
    device: str
    device_name: str
    trainable_params: int
    frozen_params: int
    groups: list[dict[str, Any]]  # the backbone's layer groups: name, param_count, frozen


@dataclass(frozen=True)
class StageStarted:
    """A phase before the run proper, e.g. pretraining on the source task (cached afterwards)."""

    run_id: str
    stage: str
    message: str


@dataclass(frozen=True)
class Step:
    run_id: str
    stage: str  # "pretrain" | "train"
    epoch: int
    step: int
    total_steps: int
    loss: float


@dataclass(frozen=True)
class EpochEnd:
    """One epoch's metrics as one row: epoch, train_loss, train_acc, val_acc, target_acc, lr, seconds,
    images_per_s, plus the strategy's and the snapshot analysis' own (domain_confusion_acc, ...). The row is
    what metrics.jsonl records and what every chart reads, so nobody rebuilds it by hand."""

    run_id: str
    stage: str  # "pretrain" | "train"
    epoch: int
    epochs: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class Snapshot:
    """Penultimate features of a fixed sample of source and target test images."""

    run_id: str
    epoch: int
    path: str  # .npz with source_feats, target_feats, source_labels, target_labels, source_index, target_index


@dataclass(frozen=True)
class RunEnded:
    run_id: str
    status: str  # a terminal tl_core.runs.status.Status
    reason: str
    hint: str
    summary: dict[str, Any]


Event = RunStarted | StageStarted | Step | EpochEnd | Snapshot | RunEnded
Subscriber = Callable[[Event], None]


def publish(subscribers: list[Subscriber], event: Event) -> None:
    for subscriber in subscribers:
        subscriber(event)
