"""Datasets as Domains of uint8 N×3×H×W tensors: built-in digits, torchvision sets and image folders.

`load_domain(name, img_size)` is the one entry point; see ARCHITECTURE.md for the contract.
"""
import os

from tl_core.machine import paths

from ..errors import DatasetError
from .builtin import BUILTINS, load_builtin
from .catalog import FOLDER_PREFIX, dataset_names
from .domain import DatasetInfo, Domain, Split
from .folder import load_folder, scan_image_folder
from .splits import label_budget
from .torchvision_sets import SETS, is_downloaded, load_torchvision

__all__ = ["DatasetInfo", "Domain", "Split", "label_budget", "list_datasets", "load_domain", "scan_image_folder"]

MIN_IMG_SIZE, MAX_IMG_SIZE = 8, 512


def list_datasets(data_dir: str | os.PathLike | None = None) -> list[DatasetInfo]:
    """Every named dataset; `offline` is True when it can be loaded without the internet right now."""
    root = paths.data_dir(data_dir)
    infos = [DatasetInfo(name, builtin.description, True, "built-in") for name, builtin in BUILTINS.items()]
    infos += [
        DatasetInfo(name, spec.description, is_downloaded(name, root), "torchvision") for name, spec in SETS.items()
    ]
    return infos


def load_domain(name: str, img_size: int = 32, data_dir: str | os.PathLike | None = None) -> Domain:
    """The named dataset at img_size×img_size, 3 channels, with its fixed train/val/test split.

    Names: the built-ins, the torchvision sets (downloaded on first use), or `folder:PATH`.
    Raises DatasetError (unknown name, unusable folder) or OfflineError (a download that cannot happen).
    """
    if not isinstance(img_size, int) or not MIN_IMG_SIZE <= img_size <= MAX_IMG_SIZE:
        raise DatasetError(f"img_size must be a whole number from {MIN_IMG_SIZE} to {MAX_IMG_SIZE}, got {img_size!r}")
    if name.startswith(FOLDER_PREFIX):
        return load_folder(name[len(FOLDER_PREFIX) :], img_size)
    root = paths.data_dir(data_dir)
    if name in BUILTINS:
        return load_builtin(name, img_size, root)
    if name in SETS:
        return load_torchvision(name, img_size, root)
    raise DatasetError(f"unknown dataset {name!r}; valid names: {', '.join(dataset_names())}, {FOLDER_PREFIX}PATH")
