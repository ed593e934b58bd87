"""`--weights source`: pretrain the backbone on the source task with the same loop, once, and cache it.

This is "learn task A on lots of data, transfer to task B" with no download at all. The checkpoint is keyed by
everything that shapes it (the source dataset by the content hash of its inputs), so a second run with the same
backbone and source reuses it in well under a second. Networks trained longer than a live demo could are shipped
in assets/source_networks/ under the same key, each with a JSON record of how it was made (`publish`); a run
whose key matches a shipped network starts from it without pretraining.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import threading
import time
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tl_core.backbones import create_backbone
from tl_core.config import RunConfig
from tl_core.data import load_domain
from tl_core.data.builtin import BUILTINS, builtin_fingerprint
from tl_core.model import TransferModel
from tl_core.paths import data_dir
from tl_core.strategies import build_strategy, suggested_lr
from tl_core.train.events import StageStarted
from tl_core.train.loop import FitContext, fit
from tl_core.train.task import build_task

_FORMAT = 2
PRETRAIN_SEED = 0  # a source network is one fixed artefact: run seeds vary the transfer, not the network
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "assets" / "source_networks"
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
    """Everything that shapes a source network; a built-in source by the content hash of its inputs."""
    key = {k: getattr(config, k) for k in ("backbone", "source", "img_size", "pretrain_epochs", "batch_size",
                                           "weight_decay")}
    key["seed"] = PRETRAIN_SEED
    key["architecture"] = _architecture(config)
    key["source_inputs"] = builtin_fingerprint(config.source) if config.source in BUILTINS else ""
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


def source_pretrained_state(config: RunConfig, device: torch.device, ctx: FitContext) -> dict[str, torch.Tensor]:
    """The full source model's weights (`backbone.*` and `head.*`): shipped, cached, or trained now and cached."""
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
        _pretrain(config, device, ctx, path)
        return load_file(str(path))


def _pretrain(config: RunConfig, device: torch.device, ctx: FitContext, path: Path) -> list[dict]:
    """Task A trains as `scratch` at scratch's own learning rate: the run's `lr` is for task B, so runs that
    differ only in strategy or learning rate (source-only at 3e-3 and DANN at 0.03) share one source network.
    Returns the loop's metrics rows (`target_acc` is the source's own test accuracy here)."""
    ctx.emit(StageStarted(ctx.run_id, "pretrain",
                          f"Pretraining {config.backbone} on {config.source} for {config.pretrain_epochs} epochs "
                          "(task A; cached for later runs)."))
    source = load_domain(config.source, config.img_size)
    torch.manual_seed(PRETRAIN_SEED)  # the initial weights too: the same key gives the same network
    model = TransferModel(create_backbone(config.backbone, "random", config.img_size), source.num_classes).to(device)
    task = build_task(source, source, "target", None, PRETRAIN_SEED, device)
    history = fit(model, task, build_strategy("scratch"), epochs=config.pretrain_epochs,
                  batch_size=config.batch_size, lr=suggested_lr("scratch"), weight_decay=config.weight_decay,
                  seed=PRETRAIN_SEED, device=device, ctx=FitContext(ctx.run_id, "pretrain", ctx.emit, ctx.stop))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(tmp))
        os.chmod(tmp, 0o644)  # like the dataset cache: for every user of the data folder
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return history


def publish(config: RunConfig, device: torch.device, ctx: FitContext, directory: Path = SHIPPED_DIR) -> Path:
    """Train a source network with the one loop and write it to `directory` under its checkpoint name, with a
    JSON record beside it: key, seed, the source's content hash, final metrics, library versions."""
    import numpy
    import safetensors
    import timm

    started = time.perf_counter()
    path = directory / f"{checkpoint_name(config)}.safetensors"
    history = _pretrain(config, device, ctx, path)
    last = history[-1]
    record = {
        "file": path.name,
        "key": checkpoint_key(config),
        "seed": PRETRAIN_SEED,
        "source_inputs_sha256": BUILTINS[config.source].inputs_hash() if config.source in BUILTINS else "",
        "metrics": {"source_test_acc": last["target_acc"], "source_val_acc": last["val_acc"],
                    "source_train_acc": last["train_acc"], "epochs": len(history)},
        "seconds": round(time.perf_counter() - started, 1),
        "device": str(device),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
                     "numpy": numpy.__version__, "safetensors": safetensors.__version__},
        "command": "python -m tl_core pretrain --publish " + " ".join(
            f"--{k.replace('_', '-')} {getattr(config, k)}" for k in ("source", "backbone", "img_size",
                                                                        "pretrain_epochs", "batch_size", "weight_decay")),
    }
    path.with_suffix(".json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path
