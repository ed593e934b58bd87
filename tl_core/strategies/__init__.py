"""Transfer strategies, one module each, registered by name; each class declares what it does (base.Strategy)."""
from tl_core.strategies import (  # noqa: F401
                                dann,
                                distill,
                                fine_tune,
                                linear_probe,
                                multitask,
                                progressive,
                                references,
                                scratch,  # (registration)
                                zero_shot,
)
from tl_core.strategies.base import StepOutput, Strategy
from tl_core.strategies.registry import (build_strategy, parse_settings, register, settings_schema, strategy_class,
                                         strategy_names, suggested_epochs, suggested_lr, suggested_settings,
                                         transfers)

__all__ = ["Strategy", "StepOutput", "build_strategy", "parse_settings", "register", "settings_schema",
           "strategy_class", "strategy_names", "suggested_epochs", "suggested_lr", "suggested_settings", "transfers"]
