"""Paths typed in the browser are names under configured roots, never free paths (those stay a CLI privilege).

One rule for every page: a relative name, no '..', resolved with links and kept inside its root; an absolute
path is refused before anything on disk is looked at, so the answer never reveals whether it exists.
Folders live under the data root the Feasibility page uses; weights files under `$TL_WEIGHTS_ROOT`.
"""
from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from tl_core.errors import UserError
from tl_core.feasibility.uploads import resolve_server_folder, upload_root
from tl_core.runs.config import RunConfig

FOLDER, WEIGHTS_FILE = "folder:", "file:"


class PathRefused(UserError):
    """A path from the browser that is not a name under its root."""


def weights_root() -> Path:
    """Where weights files a browser may name live: `$TL_WEIGHTS_ROOT`, else `data/weights`."""
    return Path(os.environ.get("TL_WEIGHTS_ROOT") or "data/weights")


def name_under(path: str, root: str | os.PathLike) -> str:
    """`path` as a name relative to `root` when it lies inside it (to fill the form from a recorded run); else
    `path` unchanged (the form will then refuse it)."""
    real_root, real = Path(os.path.realpath(root)), Path(os.path.realpath(path))
    return str(real.relative_to(real_root)) if real.is_relative_to(real_root) and real != real_root else path


def confined_folder(name: str) -> Path:
    """The class folder `name` under the data root (the Feasibility page's rule), resolved."""
    return resolve_server_folder(name)


def confined_weights_file(name: str, root: str | os.PathLike | None = None) -> Path:
    """The weights file `name` under the weights root, resolved; links leading out of the root are refused."""
    root = Path(root) if root is not None else weights_root()
    text = (name or "").strip()
    if not text:
        raise PathRefused(f"Name a weights file under the weights root {root} (e.g. 'resnet18-mine.safetensors').")
    if "\x00" in text or text.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", text):
        raise PathRefused(f"'{name}' is not a file name under the weights root: give a name relative to {root}, "
                          "not a full path.")
    parts = PurePosixPath(text.replace("\\", "/")).parts
    if ".." in parts:
        raise PathRefused(f"'{name}' points outside the weights root ('..'): give a file inside {root}.")
    real_root = Path(os.path.realpath(root))
    path = Path(os.path.realpath(root.joinpath(*parts)))
    if not path.is_relative_to(real_root):
        raise PathRefused(f"'{name}' leads outside the weights root (through a link): copy the file into {root}.")
    if not path.is_file():
        raise PathRefused(f"There is no weights file '{name}' under {root}.")
    return path


def confine_config(config: RunConfig) -> RunConfig:
    """`config` with its folder datasets and weights file as resolved paths under their roots (a recorded run's
    paths are read as names under them, as the form does); the refusal is raised before the disk is asked about
    anything outside the roots, so it reads the same whether such a path exists or not."""
    changes = {}
    for role in ("source", "target"):
        name = getattr(config, role)
        if name.startswith(FOLDER):
            changes[role] = f"{FOLDER}{confined_folder(name_under(name[len(FOLDER):], upload_root()))}"
    if config.weights.startswith(WEIGHTS_FILE):
        name = name_under(config.weights[len(WEIGHTS_FILE):], weights_root())
        changes["weights"] = f"{WEIGHTS_FILE}{confined_weights_file(name)}"
    return config.replace(**changes)


__all__ = ["PathRefused", "confine_config", "confined_folder", "confined_weights_file", "name_under", "upload_root",
           "weights_root"]
