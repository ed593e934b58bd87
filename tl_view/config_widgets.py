"""What the Experiment form's config widgets take from RunConfig's schema (label, bounds, help, options).

No Streamlit here: tests compare these with the CLI and the validator.
"""
from __future__ import annotations

from typing import Any

from tl_core.runs.config import config_schema

LABEL_CHOICES: list[Any] = [1, 2, 5, 10, 20, 50, 100, "all"]


def help_of(name: str) -> str:
    return config_schema()[name].help


def label_of(name: str) -> str:
    schema = config_schema()[name]
    label = schema.label[0].upper() + schema.label[1:]
    return f"{label} ({schema.unit})" if schema.unit else label


def number_widget(name: str) -> dict[str, Any]:
    """`st.number_input` arguments for a numeric field: label, min_value, max_value, help."""
    schema = config_schema()[name]
    return {"label": label_of(name), "min_value": schema.low, "max_value": schema.high, "help": schema.help}


def clamped(name: str, value: Any) -> Any:
    """`value` moved into field `name`'s range (a number input refuses a value outside its bounds)."""
    schema = config_schema()[name]
    return min(max(value, schema.low), schema.high)


def choices_of(name: str) -> list[str]:
    return list(config_schema()[name].choices)


def label_options(current: Any = None) -> list[Any]:
    """The labels-per-class slider's stops: the usual ones within the schema's range, plus `current` (a loaded
    config's own number stays as it is; the validator judges it)."""
    schema = config_schema()["labels_per_class"]
    numbers = {c for c in LABEL_CHOICES if c != "all" and schema.low <= c <= schema.high}
    if isinstance(current, int) and not isinstance(current, bool):
        numbers.add(current)
    return sorted(numbers) + ["all"]


def freeze_bounds(groups: int) -> tuple[int, int]:
    """The freeze slider's (min, max) for a backbone with `groups` layer groups (a slider needs max > min)."""
    low = int(config_schema()["freeze"].low)
    return low, max(low + 1, groups)
