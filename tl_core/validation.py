"""Check a run configuration before anything is built, so bad input gets one clear message."""
from __future__ import annotations

from pathlib import Path

from tl_core.backbones import describe_backbone
from tl_core.config import RunConfig
from tl_core.data.catalog import dataset_names
from tl_core.device import CHOICES
from tl_core.errors import ConfigError
from tl_core.strategies import build_strategy

WEIGHT_CHOICES = ("random", "imagenet", "source", "file:PATH")


def _check_dataset(name: str, role: str) -> None:
    if name.startswith("folder:"):
        if not Path(name[len("folder:"):]).is_dir():
            raise ConfigError(f"The {role} folder '{name[len('folder:'):]}' does not exist: give a folder with one "
                              "sub-folder per class.")
        return
    if name not in dataset_names():
        raise ConfigError(f"Unknown {role} dataset '{name}': choose one of {', '.join(dataset_names())}, "
                          "or folder:PATH.")


def _check_range(value, low, high, what: str) -> None:
    if value is None or not (low <= value <= high):
        raise ConfigError(f"{what} must be between {low} and {high}, not {value}.")


def validate_config(config: RunConfig) -> RunConfig:
    """The config the run will really use (a strategy may fix some values), or ConfigError saying what to change."""
    _check_range(config.epochs, 1, 10_000, "epochs")
    _check_range(config.batch_size, 1, 8192, "batch size")
    _check_range(config.img_size, 16, 512, "image size")
    _check_range(config.pretrain_epochs, 1, 1000, "pretrain epochs")
    _check_range(config.snapshot_size, 0, 20_000, "snapshot size")
    _check_range(config.snapshot_every, 0, 10_000, "snapshot every")
    if not config.lr > 0 or config.lr > 10:
        raise ConfigError(f"learning rate must be above 0 (and at most 10), not {config.lr}.")
    if config.weight_decay < 0:
        raise ConfigError("weight decay must be 0 or more.")
    if config.labels_per_class is not None and config.labels_per_class < 1:
        raise ConfigError("labels per class must be 1 or more (or leave it empty for all labels).")
    if config.device not in CHOICES:
        raise ConfigError(f"Unknown device '{config.device}': choose one of {', '.join(CHOICES)}.")
    _check_dataset(config.source, "source")
    _check_dataset(config.target, "target")
    strategy = build_strategy(config.strategy, config.settings)
    effective = strategy.effective_config(config)
    weights = effective.weights
    if weights.startswith("file:"):
        if not Path(weights[len("file:"):]).is_file():
            raise ConfigError(f"Weights file '{weights[len('file:'):]}' does not exist.")
    elif weights not in WEIGHT_CHOICES:
        raise ConfigError(f"Unknown weights '{weights}': choose one of {', '.join(WEIGHT_CHOICES)}.")
    groups = describe_backbone(effective.backbone, effective.img_size).groups
    if not 0 <= effective.freeze <= len(groups):
        names = ", ".join(g.name for g in groups)
        raise ConfigError(f"Freeze depth {effective.freeze} is beyond {effective.backbone}, which has "
                          f"{len(groups)} layer groups ({names}): choose 0 to {len(groups)}.")
    strategy.check_config(effective)
    return effective
