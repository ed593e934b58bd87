"""The one training loop. Every strategy, the pretraining on the source task, the CLI, the tests and the
dashboard go through `fit`; it owns batches, devices, precision, learning-rate schedule, events and stopping.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

import torch

from tl_core.machine.allocator import hold_freed_memory
from tl_core.machine.device import autocast_dtype, mixed_precision
from tl_core.train.events import EpochEnd, Event, Step
from tl_core.train.task import Batch, Examples, Task, index_batches

MIN_STEPS_PER_EPOCH = 20  # with a few labels per class an epoch still means enough batches to see a curve
ACCELERATOR_SYNC_EVERY = 16  # on a GPU, read the loss (a host sync) only every this many steps


class RunStopped(Exception):
    """The user asked the run to stop; the loop noticed it before the next batch."""


class Diverged(Exception):
    def __init__(self, step: int, loss: float, lr: float):
        super().__init__(f"The loss became {loss} by step {step}.")
        self.step, self.loss, self.lr = step, loss, lr


@dataclass
class FitContext:
    run_id: str
    stage: str  # "pretrain" | "train"
    emit: Callable[[Event], None]
    stop: threading.Event | None = None
    after_epoch: Callable[[int], dict[str, float]] | None = None  # extra per-epoch metrics (e.g. domain confusion)


def steps_per_epoch(num_labelled: int, batch_size: int) -> int:
    return max(math.ceil(num_labelled / batch_size), MIN_STEPS_PER_EPOCH)


@torch.no_grad()
def predict(strategy, model, examples: Examples, batch_size: int, device: torch.device) -> torch.Tensor:
    """Predicted class of every example (the model is left in eval mode)."""
    model.eval()
    preds = []
    for i in range(0, len(examples), batch_size):
        with mixed_precision(device):
            preds.append(strategy.predict(model, examples.x[i:i + batch_size]).argmax(1))
    return torch.cat(preds) if preds else examples.y.new_zeros(0)


def accuracy_on(strategy, model, examples: Examples, batch_size: int, device: torch.device) -> float:
    if len(examples) == 0:
        return float("nan")
    return (predict(strategy, model, examples, batch_size, device) == examples.y).float().mean().item()


def _accuracy_in(domain: str, strategy, model, examples: Examples, batch_size: int, device: torch.device) -> float:
    with strategy.in_domain(model, domain):
        return accuracy_on(strategy, model, examples, batch_size * 4, device)


def without_decay_on_biases_and_norms(groups: list[dict]) -> list[dict]:
    """Each group split in two: weight decay for weight matrices and kernels, none for biases and normalisation
    weights (1-D parameters), as timm's `param_groups_weight_decay` does: decaying a scale or a shift toward 0
    only hurts."""
    split = []
    for group in groups:
        matrices = [p for p in group["params"] if p.ndim > 1]
        vectors = [p for p in group["params"] if p.ndim <= 1]
        if matrices:
            split.append({**group, "params": matrices})
        if vectors:
            split.append({**group, "params": vectors, "weight_decay": 0.0})
    return split


def _optimizer(strategy, model, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    groups = without_decay_on_biases_and_norms(strategy.param_groups(model, lr))
    if not any(g["params"] for g in groups):
        raise ValueError("Nothing is left to train: every parameter is frozen.")
    optimizer = strategy.make_optimizer(groups, lr, weight_decay)
    for group in optimizer.param_groups:
        group["base_lr"] = group["lr"]
    return optimizer


def fit(model, task: Task, strategy, *, epochs: int, batch_size: int, lr: float, weight_decay: float, seed: int,
        device: torch.device, ctx: FitContext) -> list[dict[str, float]]:
    """Train `model` on `task` with `strategy`; returns one metrics row per epoch (also emitted as EpochEnd)."""
    hold_freed_memory()
    optimizer = _optimizer(strategy, model, lr, weight_decay)
    scaler = torch.amp.GradScaler(device.type, enabled=autocast_dtype(device) == torch.float16)
    generator = torch.Generator().manual_seed(seed)
    per_epoch = steps_per_epoch(len(task.labelled), batch_size)
    total = epochs * per_epoch
    use_unlabelled = strategy.uses_unlabelled_target and task.unlabelled is not None and len(task.unlabelled) > 0
    sync_every = 1 if device.type == "cpu" else ACCELERATOR_SYNC_EVERY  # a CPU has nothing to wait for
    history, step = [], 0
    for epoch in range(1, epochs + 1):
        if strategy.epoch_started(model, epoch):
            optimizer = _optimizer(strategy, model, lr, weight_decay)
        started = time.perf_counter()
        model.train()
        labelled_idx = index_batches(len(task.labelled), batch_size, per_epoch, generator)
        unlabelled_idx = index_batches(len(task.unlabelled), batch_size, per_epoch, generator) if use_unlabelled else None
        loss_sum = torch.zeros((), device=device)  # running sums stay on the device: no sync per step
        correct = torch.zeros((), dtype=torch.long, device=device)
        seen = 0
        for i, idx in enumerate(labelled_idx):
            if ctx.stop is not None and ctx.stop.is_set():
                raise RunStopped()
            progress = step / total
            factor = strategy.lr_factor(progress)
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * factor
            idx = idx.to(device)
            batch = Batch(task.labelled.x[idx], task.labelled.y[idx],
                          task.unlabelled[unlabelled_idx[i].to(device)] if use_unlabelled else None)
            with mixed_precision(device):
                out = strategy.loss(model, batch, progress)
            report = i == 0 or (i + 1) % sync_every == 0 or i + 1 == len(labelled_idx)
            if report:
                loss_value = out.loss.item()
                if not math.isfinite(loss_value):
                    raise Diverged(step, loss_value, optimizer.param_groups[-1]["lr"])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(out.loss).backward()
            scaler.step(optimizer)
            scaler.update()
            loss_sum += out.loss.detach().float() * len(idx)
            correct += (out.logits.argmax(1) == batch.y).sum()
            seen += len(idx)
            step += 1
            if report:
                ctx.emit(Step(ctx.run_id, ctx.stage, epoch, step, total, loss_value))
        train_seconds = time.perf_counter() - started
        row = {
            "epoch": epoch,
            "train_loss": loss_sum.item() / seen,
            "train_acc": correct.item() / seen,
            "val_acc": _accuracy_in(strategy.labelled_domain, strategy, model, task.val, batch_size, device),
            "target_acc": _accuracy_in("target", strategy, model, task.test, batch_size, device),
            "lr": optimizer.param_groups[-1]["lr"],
            "images_per_s": seen / train_seconds,
        }
        if task.target_val is not None:
            row["target_val_acc"] = _accuracy_in("target", strategy, model, task.target_val, batch_size, device)
        extra = {**strategy.epoch_metrics(), **(ctx.after_epoch(epoch) if ctx.after_epoch else {})}
        row["seconds"] = time.perf_counter() - started
        row.update(extra)
        history.append(row)
        ctx.emit(EpochEnd(ctx.run_id, ctx.stage, epoch, epochs, dict(row)))
    return history
