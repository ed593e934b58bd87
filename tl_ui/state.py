"""Process-wide resources (the job manager, the UMAP warm-up) and per-tab state (who I am, what I watch).

Runs live in the job manager and the run store, never in `st.session_state`: a tab keeps only run ids, and
a reloaded tab finds its runs again through the browser's secret, kept in a cookie the server sets (`owner`).
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from tl_core.errors import UserError
from tl_core.machine.paths import runs_dir
from tl_core.serving.owners import Actor, Teachers, UnlockAttempts, owner_id, teacher_token
from tl_ui import owner_cookie


@st.cache_resource(show_spinner="Opening the run history…")
def _manager(path: str):
    from tl_core.serving.jobs import JobManager

    return JobManager(path)


def manager():
    """The one JobManager of this server process, for the runs directory in use ($TL_RUNS_DIR, else runs/).
    A server started with an executor it cannot use says so on every page instead of a traceback."""
    try:
        return _manager(str(Path(runs_dir()).resolve()))
    except UserError as err:
        st.error(f"This server cannot run anything: {err}")
        st.stop()


@dataclass
class Warmup:
    """UMAP's first use compiles for ~25 s; do it once, off the script thread, when the server starts."""

    done: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.time)
    seconds: float | None = None
    error: str = ""

    def run(self) -> None:
        try:
            from tl_core.analysis import warm_up_umap

            self.seconds = warm_up_umap()
        except Exception as err:  # UMAP is optional: the pages fall back to PCA
            self.error = f"{type(err).__name__}: {err}"
        finally:
            self.done.set()


@st.cache_resource(show_spinner=False)
def umap_warmup() -> Warmup:
    warmup = Warmup()
    if os.environ.get("TL_WARM_UMAP", "1") == "0":  # tests switch it off: they never draw UMAP
        warmup.error = "warm-up switched off (TL_WARM_UMAP=0)"
        warmup.done.set()
    else:
        threading.Thread(target=warmup.run, name="tl-umap-warmup", daemon=True).start()
    return warmup


@st.cache_resource(show_spinner=False)
def lesson_timings() -> threading.Thread | None:
    """Every network the lessons train, timed once per server in the background when it starts (after any timing
    in progress): untimed, lesson 5's students (a smaller network) left its card "timing" at the press while other
    lessons trained. `TL_TIME_AHEAD=0` switches it off (the tests do: they stub the timings)."""
    if os.environ.get("TL_TIME_AHEAD", "1") == "0":
        return None
    from tl_core.lessons import timed_networks
    from tl_core.machine.device import pick_device
    from tl_core.serving.calibration import time_ahead

    return time_ahead(timed_networks(), pick_device("auto").type)


def umap_ready() -> bool:
    warmup = umap_warmup()
    return warmup.done.is_set() and not warmup.error


def owner() -> str:
    """This browser's owner id: derived from the secret the server gave the browser in an HttpOnly cookie
    (`tl_ui.owner_cookie`), so a reload finds the same runs and nobody can act as another browser by editing a
    URL. A session with no such cookie (served without serve.py's middleware, or under AppTest, where a test
    may put `owner_secret` in the session state) gets a secret of its own for as long as it lasts."""
    state = st.session_state
    if "owner_secret" not in state:
        cookie = st.context.cookies.get(owner_cookie.COOKIE)
        state.owner_secret = cookie if owner_cookie.is_secret(cookie) else owner_cookie.new_secret()
    state.owner = owner_id(state.owner_secret)
    if "me" in st.query_params:  # the old public owner id in the URL means nothing any more
        del st.query_params["me"]
    return state.owner


@st.cache_resource(show_spinner=False)
def _teachers() -> Teachers:
    return Teachers()


def is_teacher() -> bool:
    """Teacher mode is held by the server for this browser's owner id: a reload (a new session) keeps it."""
    return _teachers().is_teacher(owner(), teacher_token(_secrets()))


def unlock_teacher(entered: str) -> bool:
    """Teacher mode for this browser when `entered` is the token the server was started with; UserError when
    this browser tried too many wrong ones lately (or the server's token is too short)."""
    token = teacher_token(_secrets())
    return unlock_attempts().try_unlock(owner(), entered, token) and _teachers().unlock(owner(), entered, token)


def leave_teacher() -> None:
    _teachers().leave(owner())


def teacher_configured() -> bool:
    """Whether this server was started with a teacher token (else nobody can be teacher)."""
    return bool(teacher_token(_secrets()))


@st.cache_resource
def unlock_attempts() -> UnlockAttempts:
    """Wrong teacher tokens per owner, for the whole server process."""
    return UnlockAttempts()


def _secrets() -> dict:
    try:
        return {"teacher_token": st.secrets.get("teacher_token", "")}
    except (FileNotFoundError, KeyError, OSError, ValueError):  # no secrets.toml
        return {}


def actor() -> Actor:
    """Who this session acts as when it stops or deletes a run."""
    return Actor(owner(), teacher=is_teacher())


def watched() -> dict | None:
    """The experiment this tab shows on the Experiment page: {'run': id, 'baseline': id or None}."""
    return st.session_state.get("watch")


def watch(run: str, baseline: str | None) -> None:
    st.session_state.watch = {"run": run, "baseline": baseline}
    st.query_params["run"] = run  # a reload (or a shared link) shows the same run
    mine = st.session_state.setdefault("my_runs", [])
    for rid in (run, baseline):
        if rid and rid not in mine:
            mine.insert(0, rid)


FORM_BACKUP = "form_backup"


def restore_widget(key: str, default) -> None:
    """Give a form widget its value before it is drawn: the one saved by `save_widgets` (Streamlit forgets widget
    values while the user visits another page), else `default`."""
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(FORM_BACKUP, {}).get(key, default)


def save_widgets(prefix: str, skip: tuple[str, ...] = ()) -> None:
    """Copy the values of the widgets whose keys start with `prefix` into plain session state."""
    backup = st.session_state.setdefault(FORM_BACKUP, {})
    for key in list(st.session_state):
        if isinstance(key, str) and key.startswith(prefix) and key not in skip:
            backup[key] = st.session_state[key]
@st.cache_resource(show_spinner=False)
def configure_threads() -> int:
    """Torch threads for the training workers of this server: $TL_TORCH_THREADS, else half the cores (at least 1).

    Measured on the 2-core lab machines while other processes ran: one thread trained small_cnn ~4× faster than
    two, because OpenMP threads spin-wait for cores the script thread and other processes also need. Left
    alone when OMP_NUM_THREADS is set.
    """
    import torch

    if os.environ.get("OMP_NUM_THREADS") and not os.environ.get("TL_TORCH_THREADS"):
        return torch.get_num_threads()
    threads = int(os.environ.get("TL_TORCH_THREADS") or max(1, (os.cpu_count() or 2) // 2))
    torch.set_num_threads(threads)
    return threads


@st.cache_resource(show_spinner=False)
def _runner(runs_path: str):
    from tl_core.serving.chains import ChainRunner

    return ChainRunner(manager())


def runner():
    """The one ChainRunner of this server process (next to the JobManager of the same runs directory)."""
    return _runner(str(Path(runs_dir()).resolve()))
