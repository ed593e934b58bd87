"""A run's identity: what it computes, so two submissions that would compute the same thing are computed once.

The hash covers the resolved config without its labels (name, role, experiment, arm), the seed (a config
field), the content of the data and weights it reads where they are files (folders, `file:` weights), the
engine's own source and the versions of the libraries that compute (torch, timm). Built-in datasets are
generated deterministically by the engine, so their name and the engine's source identify them.
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from tl_core.runs.config import RunConfig

LABELS = ("name", "role", "experiment", "arm")
FOLDER = "folder:"
WEIGHTS_FILE = "file:"


@lru_cache(maxsize=1)
def engine_version() -> str:
    """A hash of the engine's Python source: any change to the engine is a new identity."""
    root = Path(__file__).resolve().parents[1]  # tl_core
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    import timm  # timm loads in a second; only a fingerprint needs its version
    import torch

    return {"torch": torch.__version__, "timm": timm.__version__}


def folder_signature(path: str) -> str:
    """Relative path, size and modification time of every file under a folder (links not followed)."""
    digest = hashlib.sha256()
    root = Path(path)
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            file = Path(folder) / name
            stat = file.lstat()
            digest.update(f"{file.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def file_hash(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def data_signatures(config: RunConfig) -> dict[str, str]:
    out = {}
    for role in ("source", "target"):
        name = getattr(config, role)
        if name.startswith(FOLDER) and Path(name[len(FOLDER):]).is_dir():
            out[role] = folder_signature(name[len(FOLDER):])
    if config.weights.startswith(WEIGHTS_FILE) and Path(config.weights[len(WEIGHTS_FILE):]).is_file():
        out["weights"] = file_hash(config.weights[len(WEIGHTS_FILE):])
    return out


def fingerprint(config: RunConfig) -> str:
    """The identity of a resolved (validated) config: equal for runs that would compute the same result."""
    what = {k: v for k, v in config.to_dict().items() if k not in LABELS}
    payload = {"config": what, "data": data_signatures(config), "engine": engine_version(),
               "libraries": library_versions()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]
