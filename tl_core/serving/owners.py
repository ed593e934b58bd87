"""Who may act on a run: its owner, or the teacher. The CLI is the owner "" (the local user).

A browser proves who it is with a secret (kept in a cookie); the owner id recorded on its runs is a hash of that
secret, so an owner id seen anywhere cannot be used to act as its owner.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tl_core.errors import UserError

CLI = ""  # the owner of runs started from the command line
MIN_TOKEN_CHARS = 12  # a teacher token shorter than this is refused
MAX_UNLOCK_FAILURES, UNLOCK_WINDOW_S = 5, 300.0  # wrong teacher tokens one owner may try per window


class NotOwner(UserError):
    """An action on a run that belongs to someone else."""


@dataclass(frozen=True)
class Actor:
    """Who asks: an owner id, and whether this session unlocked teacher mode."""

    owner: str
    teacher: bool = False


def as_actor(by: str | Actor) -> Actor:
    return by if isinstance(by, Actor) else Actor(by)


def owner_id(secret: str) -> str:
    """The owner id recorded on a browser's runs: derived from its secret, and useless without it."""
    return hashlib.sha256(f"transfer-lab-owner:{secret}".encode()).hexdigest()[:16]


def may_act(by: str | Actor, run_owner: str) -> bool:
    actor = as_actor(by)
    return actor.teacher or hmac.compare_digest(actor.owner, run_owner or CLI)


def check_may_act(by: str | Actor, run_owner: str, action: str, run_id: str) -> None:
    """Raise NotOwner unless `by` may `action` (e.g. "stop") the run."""
    if not may_act(by, run_owner):
        whose = "the command line's" if (run_owner or CLI) == CLI else "another user's"
        raise NotOwner(f"Run {run_id} is {whose}: only its owner (or the teacher) can {action} it.")


def describe_owner(run_owner: str, viewer: str) -> str:
    """What the pages show in a 'by' column: never another user's id."""
    if (run_owner or CLI) == CLI:
        return "command line"
    return "you" if hmac.compare_digest(run_owner, viewer) else "another user"


class WeakToken(UserError):
    """A teacher token too short to resist guessing: teacher mode stays off until the server has a longer one."""


def teacher_token(secrets: dict | None = None) -> str:
    """The token that unlocks teacher mode: `$TL_TEACHER_TOKEN`, else `teacher_token` in the given secrets
    (the dashboard passes .streamlit/secrets.toml); "" means nobody is teacher. WeakToken when it is shorter
    than MIN_TOKEN_CHARS."""
    token = os.environ.get("TL_TEACHER_TOKEN") or str((secrets or {}).get("teacher_token") or "")
    if token and len(token) < MIN_TOKEN_CHARS:
        raise WeakToken(f"The teacher token has {len(token)} characters; it needs at least {MIN_TOKEN_CHARS}. "
                        "Start the server with a longer TL_TEACHER_TOKEN "
                        "(e.g. `python -c \"import secrets; print(secrets.token_urlsafe(16))\"`).")
    return token


class UnlockAttempts:
    """Wrong teacher tokens counted per owner: after `max_failures` within `window_s` seconds, that owner's next
    tries are refused (the right token too) until the oldest failure is older than the window."""

    def __init__(self, max_failures: int = MAX_UNLOCK_FAILURES, window_s: float = UNLOCK_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic):
        self.max_failures, self.window_s, self.clock = max_failures, window_s, clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def try_unlock(self, owner: str, entered: str, token: str) -> bool:
        """Is `entered` the token? UserError while `owner` has too many recent failures."""
        now = self.clock()
        with self._lock:
            recent = [t for t in self._failures.get(owner, []) if now - t < self.window_s]
            if len(recent) >= self.max_failures:
                wait_s = math.ceil(self.window_s - (now - recent[0]))
                later = f"{math.ceil(wait_s / 60)} min" if wait_s >= 60 else f"{wait_s} s"
                raise UserError(f"Too many wrong teacher tokens from this browser: try again in {later}.")
            ok = is_teacher_token(entered, token)
            if not ok:
                recent.append(now)
            self._failures[owner] = recent if not ok else []
            return ok


def is_teacher_token(entered: str, token: str) -> bool:
    return bool(token) and bool(entered) and hmac.compare_digest(entered.encode(), token.encode())


class Teachers:
    """The owner ids that unlocked teacher mode, held by the server (not by a tab), so a reload keeps it. Each is
    remembered with a digest of the token it was unlocked with: a server restarted with another token asks again."""

    def __init__(self) -> None:
        self._unlocked: dict[str, str] = {}
        self._lock = threading.Lock()

    def unlock(self, owner: str, entered: str, token: str) -> bool:
        if not owner or not is_teacher_token(entered, token):
            return False
        with self._lock:
            self._unlocked[owner] = _digest(token)
        return True

    def leave(self, owner: str) -> None:
        with self._lock:
            self._unlocked.pop(owner, None)

    def is_teacher(self, owner: str, token: str) -> bool:
        with self._lock:
            held = self._unlocked.get(owner)
        return bool(token) and held is not None and hmac.compare_digest(held, _digest(token))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
