"""Check a run configuration before anything is built, so bad input gets one clear message; and hold what a
browser sends (a link, an uploaded config) to the schema and to the names this server offers."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tl_core.backbones import check_offered, describe_backbone
from tl_core.data.catalog import dataset_names
from tl_core.errors import ConfigError
from tl_core.runs.config import RunConfig, config_schema
from tl_core.strategies import build_strategy, strategy_class

WEIGHT_CHOICES = ("random", "imagenet", "source", "ssl:rotation", "ssl:rotation:target", "file:PATH")


def _check_dataset_name(name: str, role: str) -> None:
    if name.startswith("folder:"):
        if not name[len("folder:"):].strip():  # Path("") is the working folder: never a dataset by accident
            raise ConfigError(f"Name a folder after folder: for the {role} dataset (one sub-folder of images per "
                              "class).")
        return
    if name not in dataset_names():
        raise ConfigError(f"Unknown {role} dataset '{name}': choose one of {', '.join(dataset_names())}, "
                          "or folder:PATH.")


def _check_dataset(name: str, role: str) -> None:
    _check_dataset_name(name, role)
    if name.startswith("folder:") and not Path(name[len("folder:"):]).is_dir():
        raise ConfigError(f"The {role} folder '{name[len('folder:'):]}' does not exist: give a folder with one "
                          "sub-folder per class.")


def _check_weights_name(weights: str) -> None:
    if weights.startswith("file:"):
        if not weights[len("file:"):].strip():
            raise ConfigError("Name a weights file after file: (a .safetensors or .pt state dict).")
    elif weights not in WEIGHT_CHOICES:
        raise ConfigError(f"Unknown weights '{weights}': choose one of {', '.join(WEIGHT_CHOICES)}.")


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
    _check_weights_name(weights)
    if weights.startswith("file:") and not Path(weights[len("file:"):]).is_file():
        raise ConfigError(f"Weights file '{weights[len('file:'):]}' does not exist.")
    if effective.measure_forgetting and weights != "source":
        raise ConfigError(f"Measuring forgetting needs a network that learned task A: choose weights 'source' (not "
                          f"'{weights}') or turn measure forgetting off.")
    groups = describe_backbone(effective.backbone, effective.img_size).groups
    if not 0 <= effective.freeze <= len(groups):
        names = ", ".join(g.name for g in groups)
        raise ConfigError(f"Freeze depth {effective.freeze} is beyond {effective.backbone}, which has "
                          f"{len(groups)} layer groups ({names}): choose 0 to {len(groups)}.")
    strategy.check_config(effective)
    return effective


def check_browser_field(name: str, value: Any) -> None:
    """ConfigError unless a browser may send `value` as field `name`: its schema (typed text capped), and only
    names this server offers (a curated backbone, a strategy, a dataset or folder:NAME, a weights choice).
    Nothing here builds or reads anything: folders and weights files are confined afterwards
    (tl_core.serving.confine)."""
    config_schema()[name].check_typed(value)
    if name == "backbone":
        check_offered(value)
    elif name == "strategy":
        strategy_class(value)
    elif name in ("source", "target"):
        _check_dataset_name(value, name)
    elif name == "weights":
        _check_weights_name(value)


def check_browser_config(config: RunConfig) -> None:
    """`check_browser_field` for every field, then the strategy's settings (their names and types)."""
    for name in config_schema():
        check_browser_field(name, getattr(config, name))
    build_strategy(config.strategy, config.settings)


def config_from_browser(fields: dict[str, Any]) -> tuple[RunConfig, list[str]]:
    """A config from fields a browser sent (a link's settings), before anything is built, sized or timed: each
    field that fails `check_browser_field` keeps its default, and a sentence per field says so."""
    schema, defaults = config_schema(), RunConfig()
    kept, problems = {}, []
    for name, value in fields.items():
        if name not in schema:
            problems.append(f"'{name}' is not a setting: left out.")
            continue
        try:
            check_browser_field(name, value)
        except ConfigError as err:
            problems.append(f"{err} It keeps its default ({_shown(getattr(defaults, name))}).")
            continue
        kept[name] = value
    config = RunConfig(**kept)
    try:
        build_strategy(config.strategy, config.settings)
    except ConfigError as err:
        problems.append(f"{err} The {config.strategy} settings keep their defaults.")
        config = config.replace(settings={})
    return config, problems


def _shown(value: Any) -> str:
    return "empty" if value in ("", None, {}) else str(value)
