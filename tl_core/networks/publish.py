"""`python -m tl_core pretrain --publish`: a source network trained with the one loop, written to
assets/source_networks/ under its checkpoint name with a JSON record of how it was made, so that runs whose key
matches start from it without pretraining."""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy
import safetensors
import timm
import torch

from tl_core.data.builtin import BUILTINS
from tl_core.networks.pretrain import ROTATION_OF, SHIPPED_DIR, checkpoint_key, checkpoint_name, pretrain_source
from tl_core.networks.ssl import ROTATION_WEIGHTS, network_key, pretrain_rotation
from tl_core.runs.config import RunConfig
from tl_core.train.loop import FitContext

PUBLISHED_OPTIONS = ("source", "target", "weights", "backbone", "img_size", "pretrain_epochs", "batch_size",
                     "weight_decay", "seed")


def publish(config: RunConfig, device: torch.device, ctx: FitContext, directory: Path = SHIPPED_DIR) -> Path:
    """`config.weights` says which network: "source" (task A's labels) or a rotation network (no labels).
    The record holds the key, seed, the images' content hash, final metrics and library versions."""
    keyed = network_key(config)
    started = time.perf_counter()
    path = directory / f"{checkpoint_name(keyed)}.safetensors"
    train = pretrain_rotation if config.weights in ROTATION_WEIGHTS else pretrain_source
    history = train(config, device, ctx, path)
    last = history[-1]
    images = keyed.source.removeprefix(ROTATION_OF)
    record = {
        "file": path.name,
        "key": checkpoint_key(keyed),
        "seed": config.seed,
        "source_inputs_sha256": BUILTINS[images].inputs_hash() if images in BUILTINS else "",
        "metrics": {"source_test_acc": last["target_acc"], "source_val_acc": last["val_acc"],
                    "source_train_acc": last["train_acc"], "epochs": len(history)},
        "seconds": round(time.perf_counter() - started, 1),
        "device": str(device),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
                     "numpy": numpy.__version__, "safetensors": safetensors.__version__},
        "command": "python -m tl_core pretrain --publish " + " ".join(
            f"--{k.replace('_', '-')} {getattr(config, k)}" for k in PUBLISHED_OPTIONS),
    }
    path.with_suffix(".json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return path
