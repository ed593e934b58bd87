"""Strategies are registered by name; the UI and the CLI list them from here."""
from __future__ import annotations

import os
from pathlib import Path

from typing import Any

from tl_core.errors import ConfigError
from tl_core.schema import FieldSchema, fits, kind_noun, parse_text, schema_of

_STRATEGIES: dict[str, type] = {}


def register(name: str):
    def add(cls: type) -> type:
        cls.name = name
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
    from tl_core.config import RunConfig

    cls = _STRATEGIES.get(name)
    return cls.default_lr if cls is not None and cls.default_lr is not None else RunConfig.lr


def _settings_schema(name: str) -> dict[str, FieldSchema]:
    return schema_of(strategy_class(name).Settings)


def _check_known(name: str, keys, schema: dict[str, FieldSchema]) -> None:
    unknown = sorted(set(keys) - set(schema))
    if unknown:
        valid = ", ".join(schema) or "none"
        raise ConfigError(f"Strategy '{name}' has no setting {', '.join(unknown)}: its settings are {valid}.")


def parse_settings(name: str, texts: dict[str, str]) -> dict[str, Any]:
    """Command-line KEY=VALUE texts as typed settings, cast by the Settings field types ('1.5' is no int)."""
    schema = _settings_schema(name)
    _check_known(name, texts, schema)
    values = {}
    for key, text in texts.items():
        try:
            values[key] = parse_text(schema[key].kind, text)
        except ValueError:
            raise ConfigError(f"Setting '{key}' of '{name}' must be {kind_noun(schema[key].kind)}, not {text!r}.")
    return values


def build_strategy(name: str, settings: dict[str, Any] | None = None, runs_dir: str | os.PathLike | None = None):
    """Instantiate a strategy with its Settings dataclass filled from `settings`: unknown keys, and values not of
    the field's type (an int for a float is fine), are an error. `runs_dir` is the run store the run is recorded
    in, where a strategy finds the runs its settings name (distill's teacher)."""
    cls = strategy_class(name)
    schema = _settings_schema(name)
    settings = settings or {}
    _check_known(name, settings, schema)
    for key, value in settings.items():
        if not fits(value, schema[key].kind):
            raise ConfigError(f"Setting '{key}' of '{name}' must be {kind_noun(schema[key].kind)}, not {value!r}.")
    values = {k: float(v) if schema[k].kind == "float" else v for k, v in settings.items()}
    instance = cls(cls.Settings(**values))
    instance.runs_dir = Path(runs_dir) if runs_dir is not None else None
    instance.check_settings()
    return instance
