"""`--weights source`: pretrain the backbone on the source task with the same loop, once, and cache it.

This is "learn task A on lots of data, transfer to task B" with no download at all. The checkpoint is keyed by
everything that shapes it, so a second run with the same backbone and source reuses it in well under a second.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tl_core.backbones import create_backbone
from tl_core.config import RunConfig
from tl_core.data import load_domain
from tl_core.model import TransferModel
from tl_core.paths import data_dir
from tl_core.strategies import build_strategy, suggested_lr
from tl_core.train.events import StageStarted
from tl_core.train.loop import FitContext, fit
from tl_core.train.task import build_task

_FORMAT = 1
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _architecture(config: RunConfig) -> list:
    """The backbone's parameter names and shapes: a changed architecture must not reuse an old checkpoint."""
    backbone = create_backbone(config.backbone, "random", config.img_size)
    return sorted((name, list(t.shape)) for name, t in backbone.state_dict().items())


def checkpoint_path(config: RunConfig) -> Path:
    key = {k: getattr(config, k) for k in ("backbone", "source", "img_size", "pretrain_epochs", "batch_size",
                                           "weight_decay", "seed")}
    key["architecture"] = _architecture(config)
    digest = hashlib.sha1(json.dumps({**key, "format": _FORMAT}, sort_keys=True).encode()).hexdigest()[:10]
    name = f"{config.backbone}-{config.source.replace(':', '_').replace('/', '_')}-{config.img_size}px-{digest}"
    return data_dir() / "checkpoints" / f"{name}.safetensors"


def source_pretrained_state(config: RunConfig, device: torch.device, ctx: FitContext) -> dict[str, torch.Tensor]:
    """The full source model's weights (`backbone.*` and `head.*`), trained now or read from the cache."""
    path = checkpoint_path(config)
    with _locks_guard:
        lock = _locks.setdefault(str(path), threading.Lock())
    with lock:
        if path.exists():
            try:
                return load_file(str(path))
            except (OSError, SafetensorError):
                path.unlink(missing_ok=True)  # truncated or damaged: trained again, like a bad dataset cache
        _pretrain(config, device, ctx, path)
        return load_file(str(path))


def _pretrain(config: RunConfig, device: torch.device, ctx: FitContext, path: Path) -> None:
    """Task A trains as `scratch` at scratch's own learning rate: the run's `lr` is for task B, so runs that
    differ only in strategy or learning rate (source-only at 3e-3 and DANN at 0.03) share one source network."""
    ctx.emit(StageStarted(ctx.run_id, "pretrain",
                          f"Pretraining {config.backbone} on {config.source} for {config.pretrain_epochs} epochs "
                          "(task A; cached for later runs)."))
    source = load_domain(config.source, config.img_size)
    model = TransferModel(create_backbone(config.backbone, "random", config.img_size), source.num_classes).to(device)
    task = build_task(source, source, "target", None, config.seed, device)
    fit(model, task, build_strategy("scratch"), epochs=config.pretrain_epochs, batch_size=config.batch_size,
        lr=suggested_lr("scratch"), weight_decay=config.weight_decay, seed=config.seed, device=device,
        ctx=FitContext(ctx.run_id, "pretrain", ctx.emit, ctx.stop))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(tmp))
        os.chmod(tmp, 0o644)  # like the dataset cache: for every user of the data folder
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
