"""`--weights source`: pretrain the backbone on the source task with the same loop, once, and cache it.

This is "learn task A on lots of data, transfer to task B" with no download at all. The checkpoint is keyed by
everything that shapes it (the source dataset by the content hash of its inputs, and the run's seed: each seed has
its own source network, so a claim that "pretraining on A helps" rests on as many networks as seeds), and a
second run with the same backbone, source and seed reuses it in well under a second. Networks trained longer than
a live demo could are shipped in assets/source_networks/ under the same key, each with a JSON record of how it
was made (`tl_core.networks.publish`); a run whose key matches a shipped network starts from it without pretraining.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tl_core.backbones import create_backbone
from tl_core.data import load_domain
from tl_core.data.builtin import BUILTINS, builtin_fingerprint
from tl_core.machine.paths import data_dir
from tl_core.networks.model import TransferModel
from tl_core.runs.config import RunConfig
from tl_core.strategies import build_strategy, suggested_lr
from tl_core.train.events import StageStarted
from tl_core.train.loop import FitContext, fit
from tl_core.train.task import build_task

_FORMAT = 2
# A rotation network's source: the images it learned to turn upright (tl_core.networks.ssl)
ROTATION_OF = "rotation-of:"
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "assets" / "source_networks"
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _architecture(config: RunConfig) -> list:
    """The backbone's parameter names and shapes: a changed architecture must not reuse an old checkpoint."""
    return [[name, list(shape)] for name, shape in _parameter_shapes(config.backbone, config.img_size)]


@functools.lru_cache(maxsize=64)
def _parameter_shapes(backbone: str, img_size: int) -> tuple:
    """Built once per process: time promises ask for every queued run, in every tab, every few seconds."""
    model = create_backbone(backbone, "random", img_size)
    return tuple(sorted((name, tuple(t.shape)) for name, t in model.state_dict().items()))


def checkpoint_key(config: RunConfig) -> dict:
    """Everything that shapes a source network; a built-in source (or the one a rotation task turns) by the
    content hash of its inputs."""
    key = {k: getattr(config, k) for k in ("backbone", "source", "img_size", "pretrain_epochs", "batch_size",
                                           "weight_decay", "seed")}
    key["architecture"] = _architecture(config)
    images = config.source.removeprefix(ROTATION_OF)
    key["source_inputs"] = builtin_fingerprint(images) if images in BUILTINS else ""
    return {**key, "format": _FORMAT}


def checkpoint_name(config: RunConfig) -> str:
    digest = hashlib.sha1(json.dumps(checkpoint_key(config), sort_keys=True).encode()).hexdigest()[:10]
    return f"{config.backbone}-{config.source.replace(':', '_').replace('/', '_')}-{config.img_size}px-{digest}"


def checkpoint_path(config: RunConfig) -> Path:
    return data_dir() / "checkpoints" / f"{checkpoint_name(config)}.safetensors"


def shipped_path(config: RunConfig) -> Path:
    return SHIPPED_DIR / f"{checkpoint_name(config)}.safetensors"


def has_source_network(config: RunConfig) -> bool:
    """Whether `--weights source` will start without pretraining (a shipped or cached network matches)."""
    return shipped_path(config).exists() or checkpoint_path(config).exists()


def stored_state(config: RunConfig, train: Callable[[Path], object]) -> dict[str, torch.Tensor]:
    """The network `config` keys: shipped, cached, or trained now by `train(path)` and cached (once per key,
    however many runs ask for it at the same time)."""
    if shipped_path(config).exists():
        return load_file(str(shipped_path(config)))
    path = checkpoint_path(config)
    with _locks_guard:
        lock = _locks.setdefault(str(path), threading.Lock())
    with lock:
        if path.exists():
            try:
                return load_file(str(path))
            except (OSError, SafetensorError):
                path.unlink(missing_ok=True)  # truncated or damaged: trained again, like a bad dataset cache
        train(path)
        return load_file(str(path))


def save_state(model: torch.nn.Module, path: Path) -> None:
    """Written whole or not at all, readable by every user of the data folder (like the dataset cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def source_pretrained_state(config: RunConfig, device: torch.device, ctx: FitContext) -> dict[str, torch.Tensor]:
    """The full source model's weights (`backbone.*` and `head.*`): shipped, cached, or trained now and cached."""
    return stored_state(config, lambda path: pretrain_source(config, device, ctx, path))


def pretrain_source(config: RunConfig, device: torch.device, ctx: FitContext, path: Path) -> list[dict]:
    """Task A trains as `scratch` at scratch's own learning rate, with the run's seed: the run's `lr` is for task
    B, so runs that differ only in strategy or learning rate (source-only at 3e-3 and DANN at 0.03) share one
    source network. Returns the loop's metrics rows (`target_acc` is the source's own test accuracy here)."""
    ctx.emit(StageStarted(ctx.run_id, "pretrain",
                          f"Pretraining {config.backbone} on {config.source} for {config.pretrain_epochs} epochs, "
                          f"seed {config.seed} (task A; cached for later runs)."))
    source = load_domain(config.source, config.img_size)
    torch.manual_seed(config.seed)  # the initial weights too: the same key gives the same network
    model = TransferModel(create_backbone(config.backbone, "random", config.img_size), source.num_classes).to(device)
    task = build_task(source, source, "target", None, config.seed, device)
    history = fit(model, task, build_strategy("scratch"), epochs=config.pretrain_epochs,
                  batch_size=config.batch_size, lr=suggested_lr("scratch"), weight_decay=config.weight_decay,
                  seed=config.seed, device=device, ctx=FitContext(ctx.run_id, "pretrain", ctx.emit, ctx.stop))
    save_state(model, path)
    return history
