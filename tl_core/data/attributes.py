"""Class attributes: each class of a dataset described by one value per attribute (its signature).

Zero-shot learning by attributes reads them: attribute predictors learn on the seen classes, and an unseen class
is recognised by its signature. Two datasets have them: `attribute-shapes` (shape, fill, colour) and the digit
domains (the seven segments of a digital display, each on or off).
"""
from __future__ import annotations

from dataclasses import dataclass

from . import attribute_shapes
from .domain import DIGIT_CLASSES

# Which of the segments a (top) … g (middle) a seven-segment display lights for each digit.
_SEGMENTS = "abcdefg"
_LIT = {"0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg", "5": "acdfg", "6": "acdefg",
        "7": "abc", "8": "abcdefg", "9": "abcdfg"}


@dataclass(frozen=True)
class ClassAttributes:
    groups: dict[str, tuple[str, ...]]  # attribute → its values, in order
    signatures: dict[str, tuple[str, ...]]  # class → one value per attribute, in the order of `groups`
    unseen: tuple[str, ...]  # the classes held out by default

    def value_index(self, cls: str, group: str) -> int:
        position = list(self.groups).index(group)
        return self.groups[group].index(self.signatures[cls][position])


def _shapes() -> ClassAttributes:
    signatures = {name: (shape, fill, colour) for name, (colour, fill, shape)
                  in zip(attribute_shapes.CLASSES, attribute_shapes.SIGNATURES)}
    # every attribute value stays among the seen classes; the four unseen ones differ pairwise only in colour
    unseen = ("red filled circle", "blue filled circle", "red outline triangle", "blue outline triangle")
    return ClassAttributes(dict(attribute_shapes.ATTRIBUTES), signatures, unseen)


def _digits() -> ClassAttributes:
    groups = {f"segment {s}": ("off", "on") for s in _SEGMENTS}
    signatures = {d: tuple("on" if s in _LIT[d] else "off" for s in _SEGMENTS) for d in DIGIT_CLASSES}
    # every segment is lit and dark among the seven seen digits (only 2 leaves segment c dark, so 2 stays seen);
    # the three horizontal segments light alike for 3, 6 and 9
    return ClassAttributes(groups, signatures, ("3", "6", "9"))


def class_attributes(dataset: str) -> ClassAttributes | None:
    """The dataset's class attributes, or None when it has none."""
    if dataset == "attribute-shapes":
        return _shapes()
    if dataset in ("digits", "synth-digits", "fonts-plain", "digits-m"):
        return _digits()
    return None
