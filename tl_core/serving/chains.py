"""Runs in stages: submit a stage, wait until all its runs have ended, plan the next stage from their results.

A lesson's second stage needs the first stage's finished runs (distillation needs its teacher); the feasibility
check goes probe → fine-tune → label curve. A page could submit the next stage from its polling fragment, but
then nothing moves while the tab shows another page or is closed. So one process-wide `ChainRunner` (held in
the dashboard's `st.cache_resource`, like the JobManager) owns the chains: a daemon thread looks at them about once a second,
and the pages only read them. No Streamlit call happens on that thread — it talks to the JobManager only.

    chain = runner.start("lesson:why-transfer:ab12", owner, plan_next)   # plan_next(run ids) -> (stage, configs)
    chain.ids, chain.stage, chain.done, chain.error                        # what a page draws from
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from tl_core.errors import UserError
from tl_core.runs.config import RunConfig
from tl_core.serving.owners import Actor, as_actor
from tl_core.serving.quotas import QuotaExceeded, exempt

PlanNext = Callable[[list[str]], tuple[str, list[RunConfig]]]  # (stage name, configs); [] when nothing is left


@dataclass
class Chain:
    key: str  # the runs' experiment id (lessons) or the check's id (feasibility)
    owner: str
    plan_next: PlanNext = field(repr=False)
    teacher: bool = False  # started by the teacher: exempt from the per-owner limits (`tl_core.serving.quotas`)
    context: dict = field(default_factory=dict, repr=False)  # what the page needs to draw (e.g. the validation)
    ids: list[str] = field(default_factory=list)
    stages: list[tuple[str, list[str]]] = field(default_factory=list)  # (stage, its run ids) in order
    planned: list[RunConfig] = field(default_factory=list, repr=False)
    done: bool = False
    stopped: bool = False
    error: str = ""
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None

    @property
    def stage(self) -> str:
        return self.stages[-1][0] if self.stages else ""

    @property
    def actor(self) -> Actor:
        return Actor(self.owner, self.teacher)

    @property
    def kind(self) -> str:
        """What the key names before its first ':' (feasibility, lesson)."""
        return self.key.split(":", 1)[0]

    @property
    def seconds(self) -> float:
        return (self.ended_at or time.time()) - self.started_at


class ChainRunner:
    def __init__(self, manager, poll_s: float = 1.0):
        self.manager = manager
        self.poll_s = poll_s
        self._chains: dict[str, Chain] = {}
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ what pages call

    def start(self, key: str, owner: str | Actor, plan_next: PlanNext, context: dict | None = None,
              only_one: str = "") -> Chain:
        """Plan and submit the first stage now (so the page has run ids at once); later stages follow on their own.
        Raises whatever planning or `JobManager.submit` raises (ConfigError, QuotaExceeded...), with nothing left
        half-submitted in the chain. `only_one` (e.g. "feasibility check"): the owner may have one chain of this
        key's kind in flight (QuotaExceeded otherwise; the teacher is exempt)."""
        actor = as_actor(owner)
        chain = Chain(key, actor.owner, plan_next, actor.teacher, dict(context or {}))
        with self._lock:
            if only_one and not exempt(actor) and any(
                    c.owner == chain.owner and c.kind == chain.kind and not c.done for c in self._chains.values()):
                raise QuotaExceeded(f"You already have a {only_one} in progress: wait for it to finish, or stop "
                                    f"it, then start this one (one {only_one} at a time per user).")
            self._advance(chain)
            self._chains[key] = chain
            self._ensure_thread()
        return chain

    def get(self, key: str) -> Chain | None:
        with self._lock:
            return self._chains.get(key)

    def latest(self, owner: str, prefix: str = "") -> Chain | None:
        """This owner's newest chain whose key starts with `prefix` (a reloaded tab finds its check again)."""
        with self._lock:
            mine = [c for c in self._chains.values() if c.owner == owner and c.key.startswith(prefix)]
        return max(mine, key=lambda c: c.started_at) if mine else None

    def stop(self, key: str) -> None:
        """Stop every run of the chain (queued ones leave the queue) and plan nothing more."""
        with self._lock:
            chain = self._chains.get(key)
            if chain is None:
                return
            chain.stopped, chain.done = True, True
            chain.ended_at = chain.ended_at or time.time()
            ids = list(chain.ids)
        for run_id in ids:
            try:
                self.manager.stop(run_id, by=chain.actor)
            except UserError:
                pass  # a run others share keeps going for them

    def stop_all(self) -> None:
        with self._lock:
            keys = [k for k, c in self._chains.items() if not c.done]
        for key in keys:
            self.stop(key)

    def tick(self) -> None:
        """Advance every chain whose current stage has ended (the thread calls this; tests may too)."""
        with self._lock:
            for chain in list(self._chains.values()):
                if not chain.done and not self._pending(chain):
                    try:
                        self._advance(chain)
                    except QuotaExceeded:
                        continue  # the owner's other runs fill their share: this stage waits for room
                    except Exception as err:  # a planning bug must end this chain, not the thread
                        chain.error, chain.done = f"{type(err).__name__}: {err}", True
                        chain.ended_at = time.time()

    # ------------------------------------------------------------------ internals

    def _pending(self, chain: Chain) -> int:
        pending = 0
        for run_id in chain.ids:
            view = self.manager.view(run_id)
            if view is not None and view.active:
                pending += 1
        return pending

    def _advance(self, chain: Chain) -> None:
        stage, configs = chain.plan_next(list(chain.ids))
        if not configs:
            chain.done, chain.ended_at = True, time.time()
            return
        self.manager.check_room(chain.actor, len(configs))
        ids = []
        try:
            for config in configs:
                ids.append(self.manager.submit(config, owner=chain.actor))
        except Exception:
            for run_id in ids:  # all or nothing: a half-submitted stage would confuse the next plan
                self.manager.stop(run_id, by=chain.actor)
            raise
        chain.ids += ids
        chain.stages.append((stage, ids))
        chain.planned += configs

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="tl-chains", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(self.poll_s)
            self.tick()
            with self._lock:
                if all(c.done for c in self._chains.values()):
                    self._thread = None  # `start` makes a new thread when there is work again
                    return
