"""Strategies are registered by name; the UI and the CLI list them from here, and their settings are checked
here against what each Settings field declares (type, range: `tl_core.runs.schema.spec`)."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from tl_core.errors import ConfigError
from tl_core.runs.config import RunConfig
from tl_core.runs.schema import FieldSchema, kind_noun, parse_text, schema_of

_STRATEGIES: dict[str, type] = {}


def register(name: str):
    def add(cls: type) -> type:
        cls.name = name
        if "label" not in vars(cls):
            cls.label = name
        _STRATEGIES[name] = cls
        return cls

    return add


def strategy_names() -> list[str]:
    return list(_STRATEGIES)


def strategy_class(name: str) -> type:
    if name not in _STRATEGIES:
        raise ConfigError(f"Unknown strategy '{name}': choose one of {', '.join(_STRATEGIES)}.")
    return _STRATEGIES[name]


def suggested_lr(name: str) -> float:
    """The learning rate a new run of strategy `name` starts from: its own `default_lr`, else RunConfig's."""
    cls = _STRATEGIES.get(name)
    return cls.default_lr if cls is not None and cls.default_lr is not None else RunConfig.lr


def suggested_epochs(name: str, source: str, target: str) -> int:
    """The epochs a new run of strategy `name` on source → target starts from: the length selected for that pair
    (`Strategy.selected_epochs`), else RunConfig's."""
    cls = _STRATEGIES.get(name)
    return cls.selected_epochs.get((source, target), RunConfig.epochs) if cls is not None else RunConfig.epochs


def suggested_settings(name: str, source: str, target: str) -> dict:
    """The settings a new run of strategy `name` on source → target starts from, where they differ from its
    Settings' defaults: those selected for that pair (`Strategy.selected_settings`), else none."""
    cls = _STRATEGIES.get(name)
    return dict(cls.selected_settings.get((source, target), {})) if cls is not None else {}


def transfers(config: "RunConfig") -> bool:
    """Does this run start from, or learn from, knowledge gained elsewhere (pretrained weights, the source
    task's labels, a teacher)? The one answer every colour, label and comparison reads."""
    cls = strategy_class(config.strategy)
    return config.weights != "random" or cls.needs_source_labels or cls.needs_teacher


def settings_schema(name: str) -> dict[str, FieldSchema]:
    """{setting: its type, range, help and unit} as strategy `name`'s Settings declare them; each schema's label
    names the setting and the strategy, so its messages do too."""
    return {key: replace(schema, label=f"Setting '{key}' of '{name}'")
            for key, schema in schema_of(strategy_class(name).Settings).items()}


def _check_known(name: str, keys, schema: dict[str, FieldSchema]) -> None:
    unknown = sorted(set(keys) - set(schema))
    if unknown:
        valid = ", ".join(schema) or "none"
        raise ConfigError(f"Strategy '{name}' has no setting {', '.join(unknown)}: its settings are {valid}.")


def parse_settings(name: str, texts: dict[str, str]) -> dict[str, Any]:
    """Command-line KEY=VALUE texts as typed settings, cast by the Settings field types ('1.5' is no int)."""
    schema = settings_schema(name)
    _check_known(name, texts, schema)
    values = {}
    for key, text in texts.items():
        try:
            values[key] = parse_text(schema[key].kind, text)
        except ValueError:
            raise ConfigError(f"Setting '{key}' of '{name}' must be {kind_noun(schema[key].kind)}, not {text!r}.")
    return values


def build_strategy(name: str, settings: dict[str, Any] | None = None, runs_dir: str | os.PathLike | None = None):
    """Instantiate a strategy with its Settings dataclass filled from `settings`: unknown keys, values not of the
    field's type (an int for a float is fine) and values outside its declared range are an error. `runs_dir` is
    the run store the run is recorded in, where a strategy finds the runs its settings name (distill's teacher)."""
    cls = strategy_class(name)
    schema = settings_schema(name)
    settings = settings or {}
    _check_known(name, settings, schema)
    for key, value in settings.items():
        schema[key].check(value)
    values = {k: float(v) if schema[k].kind == "float" else v for k, v in settings.items()}
    instance = cls(cls.Settings(**values))
    instance.runs_dir = Path(runs_dir) if runs_dir is not None else None
    return instance
