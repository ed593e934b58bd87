"""Built domains on disk: plain tensors and class names, written atomically, read with weights_only=True."""
import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from .domain import Domain, Split

_SPLITS = ("train", "val", "test")


def content_hash(*parts: str | bytes | Path) -> str:
    """sha256 hex of the parts in order: text and bytes as given, a path by its file's bytes (not its name)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.read_bytes() if isinstance(part, Path) else part.encode() if isinstance(part, str) else part
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def cached(path: Path, version: int, build: Callable[[], Domain]) -> Domain:
    """The domain stored at `path`, or `build()` saved there first (also when the file is from another version)."""
    domain = _read(path, version)
    if domain is None:
        domain = build()
        _write_atomic(path, version, domain)
    return domain


def _read(path: Path, version: int) -> Domain | None:
    try:
        payload = torch.load(path, weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError):
        return None  # missing or unreadable: built again and overwritten
    if payload.get("version") != version:
        return None
    splits = {s: Split(payload[f"{s}_images"], payload[f"{s}_labels"]) for s in _SPLITS}
    return Domain(payload["name"], tuple(payload["classes"]), **splits)


def _write_atomic(path: Path, version: int, domain: Domain) -> None:
    """Temp file in the same folder + os.replace, so a reader never sees half a file."""
    payload: dict = {"version": version, "name": domain.name, "classes": list(domain.classes)}
    for s in _SPLITS:
        split = getattr(domain, s)
        payload[f"{s}_images"], payload[f"{s}_labels"] = split.images.contiguous(), split.labels.contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is for every user of the data folder
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
