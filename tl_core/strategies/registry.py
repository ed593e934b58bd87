"""Strategies are registered by name; the UI and the CLI list them from here."""
from __future__ import annotations

import dataclasses
from typing import Any

from tl_core.errors import ConfigError

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


def build_strategy(name: str, settings: dict[str, Any] | None = None):
    """Instantiate a strategy with its Settings dataclass filled from `settings` (unknown keys are an error)."""
    cls = strategy_class(name)
    fields = {f.name: f for f in dataclasses.fields(cls.Settings)}
    unknown = sorted(set(settings or {}) - set(fields))
    if unknown:
        valid = ", ".join(fields) or "none"
        raise ConfigError(f"Strategy '{name}' has no setting {', '.join(unknown)}: its settings are {valid}.")
    values = {}
    for key, value in (settings or {}).items():
        default = getattr(cls.Settings(), key)
        try:
            values[key] = type(default)(value) if default is not None and not isinstance(default, str) else value
        except (TypeError, ValueError):
            raise ConfigError(f"Setting '{key}' of '{name}' must be a {type(default).__name__}, not {value!r}.")
    instance = cls(cls.Settings(**values))
    instance.check_settings()
    return instance
