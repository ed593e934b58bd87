"""Check a run configuration before anything is built, so bad input gets one clear message."""
from __future__ import annotations

import os

from pathlib import Path

from tl_core.backbones import describe_backbone
from tl_core.config import RunConfig, config_schema
from tl_core.data.catalog import dataset_names
from tl_core.errors import ConfigError
from tl_core.strategies import build_strategy

WEIGHT_CHOICES = ("random", "imagenet", "source", "ssl:rotation", "ssl:rotation:target", "file:PATH")


def _check_dataset(name: str, role: str) -> None:
    if name.startswith("folder:"):
        if not Path(name[len("folder:"):]).is_dir():
            raise ConfigError(f"The {role} folder '{name[len('folder:'):]}' does not exist: give a folder with one "
                              "sub-folder per class.")
        return
    if name not in dataset_names():
        raise ConfigError(f"Unknown {role} dataset '{name}': choose one of {', '.join(dataset_names())}, "
                          "or folder:PATH.")


def check_fields(config: RunConfig) -> None:
    """Each field's type, range and choices, as its schema declares them (see RunConfig)."""
    for name, schema in config_schema().items():
        schema.check(getattr(config, name))


def validate_config(config: RunConfig, runs_dir: str | os.PathLike | None = None) -> RunConfig:
    """The config the run will really use (a strategy may fix some values), or ConfigError saying what to change.
    `runs_dir`: the run store the run will be recorded in (where a teacher run is looked up; default: the usual)."""
    check_fields(config)
    _check_dataset(config.source, "source")
    _check_dataset(config.target, "target")
    strategy = build_strategy(config.strategy, config.settings, runs_dir)
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
