"""The typed events the training loop emits. Subscribers are plain callables and never change training."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
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
    run_id: str
    stage: str
    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    val_acc: float
    target_acc: float
    lr: float
    seconds: float
    images_per_s: float
    extra: dict[str, float] = field(default_factory=dict)  # strategy and analysis metrics


@dataclass(frozen=True)
class Snapshot:
    """Penultimate features of a fixed sample of source and target test images."""

    run_id: str
    epoch: int
    path: str  # .npz with source_feats, target_feats, source_labels, target_labels, source_index, target_index


@dataclass(frozen=True)
class RunEnded:
    run_id: str
    status: str  # finished | stopped | failed | diverged | out_of_memory
    reason: str
    hint: str
    summary: dict[str, Any]


Event = RunStarted | StageStarted | Step | EpochEnd | Snapshot | RunEnded
Subscriber = Callable[[Event], None]


def event_to_dict(event: Event) -> dict[str, Any]:
    return {"kind": type(event).__name__, **dataclasses.asdict(event)}


def publish(subscribers: list[Subscriber], event: Event) -> None:
    for subscriber in subscribers:
        subscriber(event)
