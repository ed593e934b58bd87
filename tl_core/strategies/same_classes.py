"""Strategies that learn labels on the source and predict on the target need the same classes on both."""
from __future__ import annotations

from tl_core.data.catalog import dataset_classes
from tl_core.errors import ConfigError


def require_same_classes(config, strategy_label: str) -> None:
    source, target = dataset_classes(config.source), dataset_classes(config.target)
    if source is None or target is None or list(source) == list(target):
        return
    missing = [c for c in target if c not in source]
    if missing:
        raise ConfigError(f"{strategy_label} predicts target classes with a head trained on the source, but the "
                          f"source {config.source} lacks {', '.join(missing[:8])}"
                          f"{' …' if len(missing) > 8 else ''}: pick a source with the same classes.")
    raise ConfigError(f"{strategy_label} needs the source and target to have the same classes in the same order; "
                      f"{config.source} has {len(source)}, {config.target} has {len(target)}.")
