"""Per-owner limits on a shared server: runs queued or running at once, and each run's wall time.

A class shares one queue: these keep one browser (or one shared link opened thirty times) from filling it. The
teacher and the command line (the server's own user) are exempt. Each limit comes from the environment; 0 turns
it off.
"""
from __future__ import annotations

import os

from tl_core.errors import UserError
from tl_core.serving.owners import CLI, Actor

# The largest lesson stage queues 50 runs (how-many-labels: 10 arms × 5 seeds) and a feasibility stage at most
# 20 (5 folds × 4 candidates): either fits, with an experiment's run and baseline beside it.
DEFAULT_MAX_QUEUED = 60
DEFAULT_MAX_RUN_SECONDS = 3600  # the lessons' runs take minutes on a CPU; an hour is a run gone wrong


class QuotaExceeded(UserError):
    """More than one owner's share of the server."""


def max_queued_per_owner() -> int:
    """Runs one owner may have queued or running: `$TL_MAX_QUEUED_PER_OWNER` (0: no limit)."""
    return int(os.environ.get("TL_MAX_QUEUED_PER_OWNER", DEFAULT_MAX_QUEUED))


def max_run_seconds() -> float:
    """Wall time one run may take once started: `$TL_MAX_RUN_SECONDS` (0: no limit)."""
    return float(os.environ.get("TL_MAX_RUN_SECONDS", DEFAULT_MAX_RUN_SECONDS))


def exempt(actor: Actor) -> bool:
    return actor.teacher or actor.owner == CLI


def check_room(actor: Actor, in_flight: int, adding: int = 1) -> None:
    """QuotaExceeded unless `actor`, who has `in_flight` runs queued or running, may queue `adding` more."""
    limit = max_queued_per_owner()
    if exempt(actor) or not limit or in_flight + adding <= limit:
        return
    runs = f"{in_flight} run{'s' if in_flight != 1 else ''}"
    what = f"This queues {adding} runs, and you have {runs}" if adding > 1 else f"You already have {runs}"
    raise QuotaExceeded(f"{what} queued or running; the limit per user on this server is {limit}. Wait for one to "
                        "finish, or stop one (on the Experiment, Lessons or Feasibility page), then try again.")


def time_limit_for(actor: Actor) -> float | None:
    """Seconds `actor`'s runs may take once started; None without a limit."""
    limit = max_run_seconds()
    return None if exempt(actor) or limit <= 0 else limit


def over_time(limit_s: float) -> tuple[str, str]:
    """(reason, hint) recorded on a run stopped at the time limit."""
    return (f"It ran longer than this server's limit of {_duration(limit_s)} per run (TL_MAX_RUN_SECONDS).",
            "Make the run smaller — fewer epochs, a smaller image size or backbone — or ask the teacher to run it.")


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
