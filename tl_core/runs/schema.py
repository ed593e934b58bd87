"""Declare a config field's help, range, choices and unit once; the validator, the CLI and the form read it.

    epochs: int = spec(5, "Passes over the labelled data.", low=1, high=10_000)
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from typing import Any

from tl_core.errors import ConfigError
from tl_core.runs.plain_text import unsafe_character

_KINDS = {int: "int", float: "float", str: "str", bool: "bool", dict: "dict"}
_NOUNS = {"int": "a whole number", "float": "a finite number", "str": "text", "bool": "true or false", "dict": "a JSON object"}


@dataclass(frozen=True)
class FieldSchema:
    name: str
    kind: str  # "int" | "float" | "str" | "bool" | "dict"
    optional: bool  # None is a value too (e.g. labels_per_class: None means every label)
    help: str = ""
    label: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    unit: str = ""
    max_chars: int | None = None  # text a person types (the form, a link, an upload): its longest length

    def check(self, value: Any) -> None:
        """ConfigError unless `value` has this field's type and lies in its range and choices."""
        if value is None and self.optional:
            return
        if not fits(value, self.kind):
            raise ConfigError(f"{self.label} must be {kind_noun(self.kind)}, not {value!r}.")
        if self.kind == "str" and unsafe_character(value):
            raise ConfigError(f"{self.label} holds a control character ({unsafe_character(value)}): use plain "
                              "text.")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"Unknown {self.label} '{value}': choose one of {', '.join(self.choices)}.")
        below = self.low is not None and value < self.low
        above = self.high is not None and value > self.high
        if below or above:
            raise ConfigError(f"{self.label} must be {self.range_text()}, not {_number(value)}.")

    def check_typed(self, value: Any) -> None:
        """`check`, and text no longer than `max_chars`: for what a person sent (the engine's own names, which
        may hold a data path, are not capped)."""
        self.check(value)
        if self.max_chars is not None and isinstance(value, str) and len(value) > self.max_chars:
            raise ConfigError(f"{self.label} must be at most {self.max_chars} characters, not {len(value)}.")

    def range_text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"between {_number(self.low)} and {_number(self.high)}"
        if self.low is not None:
            return f"{_number(self.low)} or more"
        return f"at most {_number(self.high)}" if self.high is not None else ""


def spec(default: Any = dataclasses.MISSING, help: str = "", *, label: str = "", low: float | None = None,
         high: float | None = None, choices: tuple[str, ...] | None = None, unit: str = "",
         max_chars: int | None = None, default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field carrying its schema in `metadata` (read back with `schema_of`)."""
    metadata = {"help": help, "label": label, "low": low, "high": high, "choices": choices, "unit": unit,
                "max_chars": max_chars}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def schema_of(cls: type) -> dict[str, FieldSchema]:
    """{field name: its schema} for a dataclass whose fields were declared with `spec` (or plain fields)."""
    hints = typing.get_type_hints(cls)
    result = {}
    for f in dataclasses.fields(cls):
        kind, optional = _kind(hints[f.name])
        meta = {k: v for k, v in f.metadata.items() if v not in (None, "")}
        meta.setdefault("label", f.name.replace("_", " "))
        result[f.name] = FieldSchema(f.name, kind, optional, **meta)
    return result


def parse_text(kind: str, text: str) -> Any:
    """A command-line text as a value of `kind`, strictly ('1.5' is no int, 'nan' is no number); ValueError else."""
    if kind == "int":
        return int(text)
    if kind == "float":
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(text)
        return value
    if kind == "bool":
        words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
        if text.lower() not in words:
            raise ValueError(text)
        return words[text.lower()]
    return text


def kind_noun(kind: str) -> str:
    return _NOUNS[kind]


def fits(value: Any, kind: str) -> bool:
    """Is `value` of `kind`, strictly: no bool for an int, no text for a number; an int is a float too."""
    if isinstance(value, bool):
        return kind == "bool"
    if kind == "float":
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, {"int": int, "str": str, "bool": bool, "dict": dict}[kind])


def _kind(hint: Any) -> tuple[str, bool]:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return _kind(args[0])[0], True
    return _KINDS[typing.get_origin(hint) or hint], False


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
