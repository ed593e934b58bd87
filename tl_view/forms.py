"""A strategy's Settings dataclass as widget specs: kind, default, bounds and help, as each field declares them
with `tl_core.runs.schema.spec` (the validator reads the same declarations)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from tl_core.runs.schema import FieldSchema, schema_of


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str  # "bool" | "int" | "float" | "str"
    default: Any
    help: str
    low: float | None = None  # the number input's bounds (None: none declared)
    high: float | None = None
    unit: str = ""


def settings_fields(settings_cls: type) -> list[FieldSpec]:
    if not dataclasses.is_dataclass(settings_cls):
        return []
    defaults = settings_cls()
    return [FieldSpec(name, _label(schema), schema.kind, getattr(defaults, name), schema.help, schema.low,
                      schema.high, schema.unit)
            for name, schema in schema_of(settings_cls).items()]


def _label(schema: FieldSchema) -> str:
    label = schema.label[0].upper() + schema.label[1:]
    return f"{label} ({schema.unit})" if schema.unit else label


def clamped_setting(spec: FieldSpec, value: Any) -> Any:
    """`value` moved into the setting's bounds (a number input refuses a value outside them)."""
    if spec.low is not None:
        value = max(value, spec.low)
    return min(value, spec.high) if spec.high is not None else value


def changed_settings(specs: list[FieldSpec], values: dict[str, Any]) -> dict[str, Any]:
    """Only the values that differ from the defaults: the run record stays short and readable."""
    return {s.name: values[s.name] for s in specs if s.name in values and values[s.name] != s.default}
