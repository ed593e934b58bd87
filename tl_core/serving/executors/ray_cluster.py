"""Which Ray cluster the ray executor joins — or the local Ray instance it starts when none is named.

`$TL_RAY_ADDRESS` (else Ray's own `$RAY_ADDRESS`) names a cluster: HOST:PORT, ray://HOST:PORT, or `auto` for one
already running on this machine. An address that does not answer is refused at once, saying what to do (Ray
itself would retry for minutes). With no address, a local instance is started in this process, as `ray.init()`
does when it has no cluster to join; it ends with the process.
"""
from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import ray

from tl_core.errors import ConfigError

PROBE_TIMEOUT_S = 5.0
PROJECT_ROOT = Path(__file__).resolve().parents[3]
# What the actor does not need of the project (Ray also leaves out what .gitignore lists: runs, data, .venv);
# .streamlit/ may hold secrets.toml (the teacher token), which must never leave this machine.
UPLOAD_EXCLUDES = [".git", ".streamlit", "tests", "bench", "assets/screenshots", "test-artifacts", "**/__pycache__"]


def cluster_address() -> tuple[str, str] | None:
    """(the address, the variable that named it), or None when neither variable is set."""
    for variable in ("TL_RAY_ADDRESS", "RAY_ADDRESS"):
        if os.environ.get(variable):
            return os.environ[variable], variable
    return None


def connect() -> bool:
    """Join the cluster once per process, sending the project's code with the job (Ray takes a local folder only
    for the whole job); True when this call started a local instance. A process that already joined one is kept
    as it is. ConfigError, saying what to do, when the named cluster does not answer."""
    if ray.is_initialized():
        return False
    named = cluster_address()
    if named is not None and named[0] != "auto":
        _check_answers(*named)
    try:
        ray.init(address=named[0] if named else "local", log_to_driver=False, logging_level=logging.ERROR,
                 runtime_env={"working_dir": str(PROJECT_ROOT), "excludes": UPLOAD_EXCLUDES})
    except ConnectionError:
        if named is None:
            raise
        raise ConfigError(_no_answer(*named)) from None
    return named is None


def _check_answers(address: str, variable: str) -> None:
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"${variable} must be HOST:PORT, ray://HOST:PORT or auto, not {address!r}.")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError:
        raise ConfigError(_no_answer(address, variable)) from None


def _no_answer(address: str, variable: str) -> str:
    where = f"runs on this machine (${variable}=auto)" if address == "auto" else f"answers at {address} (${variable})"
    return (f"No Ray cluster {where}: start one there (`ray start --head`) or correct the address; unset "
            "TL_RAY_ADDRESS and RAY_ADDRESS to train on a local Ray instance instead.")
