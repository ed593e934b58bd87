"""Run a configuration end to end: build data, model and strategy; fit; evaluate; record how it ended.

`prepare_run` creates the run record (status "queued") so a waiting run is visible; `execute_run` trains it.
Whatever happens inside, the run ends with a summary that says how and why; the process survives.
"""
from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import traceback
from typing import Any, Iterable

import numpy as np
import torch

from tl_core.analysis import confusion_matrix, misclassified_indices, misclassified_to_records, per_class_accuracy
from tl_core.backbones import count_params, create_backbone, layer_groups, load_state_into
from tl_core.data import load_domain
from tl_core.errors import UserError
from tl_core.machine.device import device_name, pick_device
from tl_core.machine.paths import runs_dir as default_runs_dir
from tl_core.networks.model import TransferModel, normalisation
from tl_core.networks.pretrain import source_pretrained_state
from tl_core.networks.ssl import ROTATION_WEIGHTS, pretext_dataset, rotation_pretrained_state
from tl_core.records.run_dir import RunDir
from tl_core.records.store import RunStore, process_identity
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status
from tl_core.runs.validation import validate_config
from tl_core.strategies import build_strategy
from tl_core.strategies.param_groups import parameters_by_layer_group
from tl_core.train.events import EpochEnd, Event, RunEnded, RunStarted, Snapshot, Subscriber, publish
from tl_core.train.loop import Diverged, FitContext, RunStopped, fit, predict
from tl_core.train.snapshots import SnapshotTaker, snapshot_path
from tl_core.train.task import build_task
from tl_core.train.task_a_probe import TaskAProbe


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(config: RunConfig, num_classes: int, device: torch.device, ctx: FitContext) -> TransferModel:
    """The backbone with the requested weights and a new head for `num_classes`.

    Fetching a network (shipped, cached or pretrained now) draws no random number the run would see: the first run
    in a process used to build a throwaway backbone to key the cache, and a cache miss pretrains, so the new head's
    initial weights depended on what the process had done before."""
    if config.weights == "source":
        backbone = create_backbone(config.backbone, "random", config.img_size)
        with torch.random.fork_rng(devices=[]):
            state = source_pretrained_state(config, device, ctx)
        load_state_into(backbone, state, origin=f"pretrained on {config.source}")
    elif config.weights in ROTATION_WEIGHTS:
        backbone = create_backbone(config.backbone, "random", config.img_size)
        with torch.random.fork_rng(devices=[]):
            state = rotation_pretrained_state(config, device, ctx)
        load_state_into(backbone, state, origin=f"rotation-pretrained on {pretext_dataset(config)}")
    else:
        backbone = create_backbone(config.backbone, config.weights, config.img_size)
    return TransferModel(backbone, num_classes, *normalisation(backbone, config.weights)).to(device)


def prepare_run(config: RunConfig, runs_dir: str | os.PathLike | None = None, owner: str = "") -> RunDir:
    """Validate (raising ConfigError) and create the run record with status 'queued'."""
    effective = validate_config(config, default_runs_dir(runs_dir))  # nothing is written for a bad config
    store = RunStore(default_runs_dir(runs_dir))
    run = RunDir.create(store.runs_dir, effective)
    run.write_owner(owner)
    summary = {"status": Status.QUEUED, "run_id": run.run_id, "run_dir": str(run.path), "created": time.time(),
               **process_identity()}
    run.write_summary(summary)
    store.upsert(run.run_id, effective, summary, owner=owner)
    return run


def _final_evaluation(strategy, model, task, config, device, run: RunDir) -> dict[str, Any]:
    with strategy.in_domain(model, "target"):
        preds = predict(strategy, model, task.test, config.batch_size * 4, device).cpu().numpy()
    labels = task.test.y.cpu().numpy()
    per_class = per_class_accuracy(preds, labels, task.num_classes)
    evaluation = {
        "classes": list(task.target.classes),
        "per_class_acc": [None if np.isnan(a) else float(a) for a in per_class.acc],
        "per_class_count": [int(c) for c in per_class.count],
        "confusion": confusion_matrix(preds, labels, task.num_classes).tolist(),
        "misclassified": misclassified_to_records(misclassified_indices(preds, labels, task.num_classes)),
        "test_correct": (preds == labels).astype(int).tolist(),  # per test image: what lesson verdicts resample
    }
    run.write_json("evaluation.json", evaluation)
    return evaluation


def execute_run(run: RunDir, subscribers: Iterable[Subscriber] = (), stop: threading.Event | None = None,
                store: RunStore | None = None) -> dict[str, Any]:
    """Train the run recorded in `run`; returns its summary (also written to summary.json and the index).
    Whatever happens inside, the run ends with a summary that says how and why; the process survives."""
    subscribers = list(subscribers)
    config = run.read_config()
    store = store or RunStore(run.path.parent)
    started = time.perf_counter()
    summary: dict[str, Any] = {**run.read_summary(), "status": Status.RUNNING, **process_identity(),
                               "started": time.time()}
    run.write_summary(summary)
    store.upsert(run.run_id, config, summary)

    def emit(event: Event) -> None:
        if isinstance(event, EpochEnd) and event.stage == "train":
            run.append_metrics(event.metrics)
        publish(subscribers, event)

    model = None
    try:
        model = _train(run, store, config, summary, FitContext(run.run_id, "train", emit, stop))
        status, reason, hint = Status.FINISHED, "", ""
    except Exception as err:  # a run's crash must not take the process (or the dashboard) with it
        status, reason, hint = _outcome(err, run, summary)
    summary.update(status=status, reason=reason, hint=hint, seconds=time.perf_counter() - started,
                   run_id=run.run_id, run_dir=str(run.path))
    summary.setdefault("epochs_done", len(run.read_metrics()))
    _record_end(run, store, config, summary, model if status in (Status.FINISHED, Status.STOPPED) else None)
    publish(subscribers, RunEnded(run.run_id, summary["status"], summary["reason"], summary["hint"], summary))
    return summary


def _train(run: RunDir, store: RunStore, config: RunConfig, summary: dict[str, Any],
           ctx: FitContext) -> TransferModel:
    """Build data, model and strategy; fit; evaluate. Fills `summary`; returns the trained model."""
    device = pick_device(config.device)
    summary.update(device=str(device), device_name=device_name(device))
    seed_everything(config.seed)  # the new head's initial weights
    strategy = build_strategy(config.strategy, config.settings, store.runs_dir)
    source = load_domain(config.source, config.img_size)
    target = load_domain(config.target, config.img_size)
    model = build_model(config, target.num_classes, device, ctx)
    # Again: a pretraining on a cache miss draws numpy's and Python's random numbers too, so without this the label
    # budget and the batches would differ between a first run and a cached one.
    seed_everything(config.seed)
    task = build_task(source, target, strategy.labelled_domain, config.labels_per_class, config.seed, device)
    strategy.prepare(model, task, config)
    ctx.emit(_run_started(run, model, task, summary, config, device))
    snapshots = (SnapshotTaker(source, target, config.snapshot_size, config.seed, device, config.batch_size * 4)
                 if config.snapshot_size > 0 else None)
    if snapshots is not None:  # epoch 0: the transferred starting point, before any training on this task
        _snapshot(run, snapshots, model, 0, ctx, strategy.in_domain)
    task_a = (TaskAProbe(source_pretrained_state(config, device, ctx), source, config.seed, device,
                         config.batch_size * 4) if config.measure_forgetting else None)
    if task_a is not None:  # how well the network still does task A: forgetting, epoch by epoch
        summary["source_acc_start"] = task_a(model)["source_acc"]

    def after_epoch(epoch: int) -> dict[str, float]:
        forgetting = task_a(model) if task_a is not None else {}
        due = _snapshot_due(config, snapshots, epoch)
        return {**forgetting, **(_snapshot(run, snapshots, model, epoch, ctx, strategy.in_domain) if due else {})}

    ctx.after_epoch = after_epoch
    try:
        history = fit(model, task, strategy, epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                      weight_decay=config.weight_decay, seed=config.seed, device=device, ctx=ctx)
    finally:
        strategy.finish(model)
    if task_a is not None:  # what of the forgetting is more than B's BatchNorm statistics
        summary["source_acc_own_bn"] = task_a.with_own_statistics(model)
    _summarise(history, summary, snapshots)
    _final_evaluation(strategy, model, task, config, device, run)
    return model


def _run_started(run: RunDir, model: TransferModel, task, summary: dict[str, Any], config: RunConfig,
                 device: torch.device) -> RunStarted:
    trainable, frozen = count_params(model)
    groups = [{"name": g.name, "param_count": g.param_count,
               "frozen": bool(params) and not any(p.requires_grad for p in params)}
              for g, params in zip(layer_groups(model.backbone), parameters_by_layer_group(model.backbone))]
    model_params = sum(p.numel() for m in (model.backbone, model.head) for p in m.parameters())
    summary.update(trainable_params=trainable, frozen_params=frozen, model_params=model_params,
                   labelled_examples=len(task.labelled))
    return RunStarted(run.run_id, config.to_dict(), str(device), summary["device_name"], trainable, frozen, groups)


def _snapshot_due(config: RunConfig, snapshots: SnapshotTaker | None, epoch: int) -> bool:
    return snapshots is not None and (epoch == config.epochs or (
        config.snapshot_every > 0 and epoch % config.snapshot_every == 0))


def _snapshot(run: RunDir, snapshots: SnapshotTaker, model: TransferModel, epoch: int,
              ctx: FitContext, in_domain=None) -> dict[str, float]:
    """Take the epoch's feature snapshot (unless the per-run cap is reached); its metrics (domain confusion).
    `in_domain`: the strategy's, so each domain is encoded as the strategy would (its own BatchNorm statistics)."""
    path = snapshot_path(run.snapshots_dir, epoch)
    metrics = snapshots.take(model, path, in_domain)
    if path.exists():
        ctx.emit(Snapshot(run.run_id, epoch, str(path)))
    return metrics


def _summarise(history: list[dict[str, float]], summary: dict[str, Any], snapshots: SnapshotTaker | None) -> None:
    last = history[-1]
    summary.update({k: last[k] for k in ("train_acc", "val_acc", "target_acc", "images_per_s")})
    summary.update({k: last[k] for k in ("target_val_acc", "domain_confusion_acc", "a_distance", "source_acc")
                    if k in last})
    summary["epochs_done"] = len(history)
    if snapshots is not None and snapshots.capped:
        summary["snapshot_note"] = ("Snapshots stopped: this run's snapshots reached the per-run limit "
                                    "($TL_RUN_SNAPSHOT_MAX_MB).")


def _outcome(err: Exception, run: RunDir, summary: dict[str, Any]) -> tuple[str, str, str]:
    """(status, reason, hint) of a run that raised `err`."""
    if isinstance(err, RunStopped):
        return Status.STOPPED, "Stopped by the user.", ""
    if isinstance(err, Diverged):
        return Status.DIVERGED, str(err), f"Lower the learning rate (it was {err.lr:.2g}) or use fewer unfrozen layers."
    if isinstance(err, torch.cuda.OutOfMemoryError):
        torch.cuda.empty_cache()
        return Status.OUT_OF_MEMORY, "The GPU ran out of memory.", \
            "Lower the batch size or the image size, or freeze more layers."
    if isinstance(err, UserError):
        summary["error_kind"] = "user"
        return Status.FAILED, str(err), ""
    _try_write(lambda: run.write_error(traceback.format_exc()))
    return Status.FAILED, f"{type(err).__name__}: {err}", "The full traceback is in error.txt in the run directory."


def _try_write(write) -> Exception | None:
    """`write()`; the error instead of raising it (a full or read-only disk must not end the process)."""
    try:
        write()
    except (OSError, sqlite3.Error) as err:
        return err
    return None


def _record_end(run: RunDir, store: RunStore, config: RunConfig, summary: dict[str, Any],
                model: torch.nn.Module | None) -> None:
    """Weights, summary.json and the index row, each written as far as the disk allows. When one fails the
    run is recorded as failed with what to do, in whichever of the two records can still be written, and no
    temporary file is left behind."""
    errors = [err for err in (
        _try_write(lambda: run.save_weights(model)) if model is not None else None,
        _try_write(lambda: run.write_summary(summary)),
    ) if err is not None]
    if errors:
        summary.update(status=Status.FAILED, reason=f"Could not write the run record: {errors[0]} — free disk space or "
                                               f"check permissions on {run.path.parent}", hint="")
        _try_write(lambda: run.write_summary(summary))
    err = _try_write(lambda: store.upsert(run.run_id, config, summary))
    if err is not None and not errors:
        summary.update(status=Status.FAILED, reason=f"Could not write the run to the index: {err} — free disk space or "
                                               f"check permissions on {run.path.parent}", hint="")
        _try_write(lambda: run.write_summary(summary))
    run.remove_temporary_files()


def run_config(config: RunConfig, runs_dir: str | os.PathLike | None = None,
               subscribers: Iterable[Subscriber] = (), stop: threading.Event | None = None) -> dict[str, Any]:
    """Validate, record and train `config` in this thread; returns the summary."""
    return execute_run(prepare_run(config, runs_dir), subscribers, stop)
