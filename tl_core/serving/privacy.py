"""Private data: a run on a user's own folder or upload is theirs and the teacher's to see — its curves, images,
class names and config; what leaves the server (a download) names no server path.

    may_see(actor, row)           # which recorded runs a page lists (`RunStore` rows, or their RunViews)
    public_config(config_dict)    # folder:/srv/lab/data/user/flowers → folder:flowers; an upload → a placeholder
    public_summary(summary)       # no run directory, host or pid; server paths in messages replaced
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tl_core.machine.paths import data_dir, runs_dir
from tl_core.runs.config import RunConfig
from tl_core.serving.confine import name_under, upload_root, weights_root
from tl_core.serving.owners import CLI, Actor, may_act

FOLDER = "folder:"
WEIGHTS_FILE = "file:"
UPLOADED = "<your uploaded folder>"  # stands for a folder outside the data root (an upload's session folder)
YOUR_WEIGHTS = "<your weights file>"
SERVER_ONLY = ("run_dir", "host", "pid", "pid_started")  # summary keys about the server, not the run


def is_private(config: RunConfig | dict[str, Any]) -> bool:
    """Does the run read a user's own images (a folder or an upload) as its source or target?"""
    values = config.to_dict() if isinstance(config, RunConfig) else config
    return any(str(values.get(k) or "").startswith(FOLDER) for k in ("source", "target"))


def may_see(by: str | Actor, row: dict[str, Any]) -> bool:
    """May `by` see this run (an index row, `RunStore.get`)? Runs on built-in datasets are everyone's; a private
    run is its owner's and the teacher's."""
    return not is_private(row["config"]) or may_act(by, row.get("owner") or CLI)


def _under_root(value: str, prefix: str, root, placeholder: str) -> str:
    """`prefix + path` as a download may name it: the path relative to `root`, else `placeholder`."""
    if not value.startswith(prefix):
        return value
    path = value[len(prefix):]
    relative = name_under(path, root)
    return f"{prefix}{relative}" if relative != path else f"{prefix}{placeholder}"


def public_dataset(name: str) -> str:
    """A dataset as a download may name it: a folder relative to the data root, else a placeholder."""
    return _under_root(name, FOLDER, upload_root(), UPLOADED)


def public_weights(weights: str) -> str:
    """A weights file as a download may name it: relative to the weights root, else a placeholder."""
    return _under_root(weights, WEIGHTS_FILE, weights_root(), YOUR_WEIGHTS)


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    """A run's config (`RunConfig.to_dict`) for a download: datasets and weights named under their roots."""
    public = {**config, "source": public_dataset(config.get("source") or ""),
              "target": public_dataset(config.get("target") or ""),
              "weights": public_weights(config.get("weights") or "")}
    return _scrubbed(public)


def public_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A run's summary for a download: without what only the server needs, server paths in its texts replaced."""
    return _scrubbed({k: v for k, v in summary.items() if k not in SERVER_ONLY})


def _roots() -> list[tuple[str, str]]:
    """(server path, what a download says instead), longest first; each path as given and resolved."""
    named = [(runs_dir(), "<runs>"), (data_dir(), "<data>"), (upload_root(), "<data root>"),
             (weights_root(), "<weights root>"), (Path.cwd(), "<server>")]
    pairs = {text: label for path, label in named
             for text in (str(path.absolute()), os.path.realpath(path)) if len(text) > 1}
    return sorted(pairs.items(), key=lambda pair: -len(pair[0]))


def _scrubbed(value: Any, roots: list[tuple[str, str]] | None = None) -> Any:
    roots = _roots() if roots is None else roots
    if isinstance(value, str):
        for path, label in roots:
            value = value.replace(path, label)
        return value
    if isinstance(value, dict):
        return {k: _scrubbed(v, roots) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(v, roots) for v in value]
    return value
