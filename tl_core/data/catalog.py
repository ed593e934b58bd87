"""Dataset names and class lists without building anything, for validating a config up front."""
from __future__ import annotations

from pathlib import Path

from .attribute_shapes import CLASSES as ATTRIBUTE_SHAPES
from .builtin import BUILTINS
from .domain import DIGIT_CLASSES
from .folder import class_folders
from .shapes import CLASSES as SHAPES
from .torchvision_sets import SETS

FOLDER_PREFIX = "folder:"


def dataset_names() -> list[str]:
    return [*BUILTINS, *SETS]


def dataset_classes(name: str) -> tuple[str, ...] | None:
    """The class names a dataset will have, or None if unknown.

    For a folder these are its class sub-folders; one without images is dropped later, when it is loaded.
    """
    if name == "shapes":
        return SHAPES
    if name == "attribute-shapes":
        return ATTRIBUTE_SHAPES
    if name in BUILTINS:
        return DIGIT_CLASSES
    if name in SETS:
        return SETS[name].classes
    if name.startswith(FOLDER_PREFIX):
        root = Path(name[len(FOLDER_PREFIX):])
        if root.is_dir():
            return tuple(d.name for d in class_folders(root))
    return None
