"""A strategy's Settings dataclass as widget specs: kind, default and a one-sentence help from its source comment.

    @dataclass
    class DannSettings:
        gamma: float = 10.0  # steepness of the λ(p) ramp   ← becomes the widget's help text
"""
from __future__ import annotations

import dataclasses
import inspect
import re
from dataclasses import dataclass
from typing import Any

from tl_core.schema import schema_of

_FIELD_LINE = re.compile(r"^\s*(\w+)\s*:[^#=]*(?:=[^#]*)?#\s*(.+?)\s*$")
_NICE = {"lr_decay": "learning-rate decay per layer group", "alpha": "alpha (weight of the teacher)",
         "temperature": "temperature T", "gamma": "gamma (λ ramp steepness)"}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str  # "bool" | "int" | "float" | "str"
    default: Any
    help: str


def field_comments(cls: type) -> dict[str, str]:
    """{field name: the comment at the end of its line} read from the class's source ({} if unavailable)."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    comments = {}
    for line in source.splitlines():
        match = _FIELD_LINE.match(line)
        if match:
            text = match.group(2)
            comments[match.group(1)] = text[0].upper() + text[1:]
    return comments


def settings_fields(settings_cls: type) -> list[FieldSpec]:
    if not dataclasses.is_dataclass(settings_cls):
        return []
    comments = field_comments(settings_cls)
    defaults = settings_cls()
    specs = []
    for name, schema in schema_of(settings_cls).items():  # the field types build_strategy casts by
        label = _NICE.get(name, name.replace("_", " "))
        specs.append(FieldSpec(name, label[0].upper() + label[1:], schema.kind, getattr(defaults, name),
                               comments.get(name, "")))
    return specs


def changed_settings(specs: list[FieldSpec], values: dict[str, Any]) -> dict[str, Any]:
    """Only the values that differ from the defaults: the run record stays short and readable."""
    return {s.name: values[s.name] for s in specs if s.name in values and values[s.name] != s.default}
