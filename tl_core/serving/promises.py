"""How long until a card's runs are done: every stage of its plan laid out on the job manager's slots as the
manager will run them, behind the other owners' runs that take a slot first.

A card (a lesson, a feasibility check, Train) owns some runs: those it has submitted (`mine`: running or
queued) and the stages it will submit when the earlier ones have ended (`stages`, planned now). Its own runs
are its work, never "ahead" of it. The layout is a small simulation of `JobManager`: `slots` runs at a time,
the next run taken from a copy of its fair queue (`tl_core.serving.fair_queue`), a stage queued only once every run of
the stage before it has ended (`tl_core.serving.chains` looks about once a second). Each run lasts what
`tl_core.serving.calibration` estimates, or, once it trains, what its own pace says is left (`Job.eta_seconds`).

    p = promise(manager, owner, [stage_1, stage_2])            # at press time: nothing submitted yet
    p = promise(manager, owner, later_stages, mine=chain.ids)   # while it runs: what is left
    p.total_s, p.work_s, p.wait_s, p.runs_ahead

No Streamlit here; the words are `tl_view.views.promise_text`'s.
"""
from __future__ import annotations

import heapq
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tl_core import lessons
from tl_core.data.splits import TRAIN_VAL_TEST
from tl_core.errors import ConfigError
from tl_core.feasibility import pipeline
from tl_core.records.run_view import RunView
from tl_core.runs.config import RunConfig
from tl_core.serving import calibration
from tl_core.serving.fair_queue import FairQueue

STAGE_GAP_S = 1.0  # a chain's next stage is queued at the chain runner's next look (`ChainRunner.poll_s`)


@dataclass(frozen=True)
class Promise:
    total_s: float  # from now until the card's last run has ended
    work_s: float  # the same with no other owner's run on the server: the card's own runs, stage after stage
    pretrain_s: float  # of the card's own time: networks pretrained first (once, then cached)
    runs: int  # the card's runs not ended yet, planned stages included
    runs_ahead: int  # other owners' runs that hold a slot before the card's last run ends
    pace_runs: int  # finished runs the pace comes from (0: batches timed on this server)

    @property
    def wait_s(self) -> float:
        """What the other owners' runs add to the card's own time."""
        return max(0.0, self.total_s - self.work_s)


@dataclass(frozen=True)
class _Run:
    key: str
    owner: str
    seconds: float
    mine: bool


def lay_out(slots: int, running: Sequence[_Run], queue: FairQueue, runs: dict[str, _Run],
            later: Sequence[Sequence[_Run]], owner: str, stage_gap_s: float = STAGE_GAP_S) -> tuple[float, int]:
    """(seconds until the last of the card's runs ends, other owners' runs started before then) when `running`
    hold slots now, `queue` holds the waiting runs (`runs` says how long each takes, by key), and the card
    queues each of the `later` stages under `owner` once all of its runs so far have ended."""
    queue = queue.copy()
    ends: list[tuple[float, int, _Run]] = []
    for order, run in enumerate(running):
        heapq.heappush(ends, (run.seconds, order, run))
    order = len(running)
    later = [list(stage) for stage in later if stage]
    outstanding = sum(r.mine for r in running) + sum(runs[k].mine for k in queue.order())
    others = ahead = sum(not r.mine for r in running)
    now, free = 0.0, max(0, slots - len(running))
    stage_at = 0.0 if not outstanding and later else None
    while True:
        if stage_at is not None and stage_at <= now:
            for run in later.pop(0):
                queue.append(owner, run.key)
                runs[run.key] = run
                outstanding += 1
            stage_at = None
        while free and len(queue):
            run = runs[queue.popleft()]
            free -= 1
            if run.mine:
                ahead = others  # the other owners' runs that took a slot before this one of the card's
            else:
                others += 1
            heapq.heappush(ends, (now + run.seconds, order, run))
            order += 1
        if not outstanding and not later:
            return now, ahead
        upcoming = ([stage_at] if stage_at is not None else []) + ([ends[0][0]] if ends else [])
        if not upcoming:  # nothing runs and nothing comes: the plan cannot go on
            return now, ahead
        now = min(upcoming)
        while ends and ends[0][0] <= now:
            _, _, run = heapq.heappop(ends)
            free += 1
            if run.mine:
                outstanding -= 1
                if not outstanding and later:
                    stage_at = now + stage_gap_s


def _left(manager, run_id: str, view, estimate) -> float:
    """Seconds left of a run in flight: its own pace's ETA once it trains, else its estimate less the time it has
    had (0 when it cannot be estimated: it still takes its turn)."""
    if view is None or not view.active:
        return 0.0
    if view.eta_seconds is not None:
        return view.eta_seconds
    if estimate is None:
        return 0.0
    job = manager.job(run_id)
    had = time.time() - job.started_at if job is not None and job.started_at is not None else 0.0
    return max(0.0, estimate.total_s - had)


def promise(manager, owner: str, stages: Sequence[Sequence[RunConfig]], mine: Sequence[str] = (),
            rows: list[dict] | None = None, wait: bool = False,
            sizes: tuple[int, int, int] | None = None) -> Promise | None:
    """The card's promise now: `stages` are the stages it has yet to submit (in order), `mine` the run ids it
    has submitted. None while this server's pace is still being timed (`wait=False`)."""
    rows = calibration.finished_rows(manager.store) if rows is None else rows
    mine = set(mine)
    running_ids, queue = manager.schedule_state()
    in_flight = running_ids + queue.order()
    views = {run_id: manager.view(run_id) for run_id in in_flight}
    planned = [c for stage in stages for c in stage]
    # Every run estimated in the order they will start: a network several of them start from is pretrained by
    # the first only. A run that trains already has its own pace (`eta_seconds`).
    unpaced = [r for r in in_flight if views[r] is not None and views[r].eta_seconds is None]
    jobs = [(views[r].config, None, False) for r in unpaced] + [(c, sizes, wait) for c in planned]
    estimates = []
    for config, sized, must in jobs:
        try:
            estimates.append(calibration.estimate_run(config, rows, wait=must, sizes=sized))
        except ConfigError:  # a run recorded before today's bounds: it still takes its turn, unestimated
            estimates.append(None)
    estimates = calibration.pretrained_once([c for c, _, _ in jobs], estimates)
    own = estimates[len(unpaced):]
    if any(e is None for e in own):  # this server's pace is still being timed
        return None
    left_by_id = dict(zip(unpaced, estimates))
    runs = {r: _Run(r, views[r].owner if views[r] is not None else "", _left(manager, r, views[r], left_by_id.get(r)),
                    r in mine) for r in in_flight}
    estimates = own
    later, at = [], 0
    for s, stage in enumerate(stages):
        later.append([_Run(f"plan-{s}-{i}", owner, estimates[at + i].total_s, True) for i in range(len(stage))])
        at += len(stage)
    running = [runs[r] for r in running_ids]
    total, ahead = lay_out(manager.slots, running, queue, dict(runs), later, owner)
    alone_queue = FairQueue()
    for run_id in queue.order():
        if run_id in mine:
            alone_queue.append(owner, run_id)
    work, _ = lay_out(manager.slots, [r for r in running if r.mine], alone_queue, dict(runs), later, owner)
    pace_runs = max((e.pace.runs for e in estimates), default=0)
    return Promise(total, work, sum(e.pretrain_s for e in estimates),
                   sum(len(s) for s in later) + sum(r.mine for r in runs.values()), ahead, pace_runs)


def lesson_promise(manager, owner: str, lesson, runs: Sequence[RunView] = (), mine: Sequence[str] = (),
                   seeds: int | None = None, rows: list[dict] | None = None, wait: bool = False) -> Promise | None:
    """A lesson card's promise: at press time (`runs`, `mine` empty) its whole plan, every stage, every seed;
    while it runs (`runs`: the lesson's runs so far in submission order, `mine`: their ids), what is left."""
    return promise(manager, owner, lessons.stages_left(lesson, runs, seeds=seeds), mine, rows, wait)


def check_promise(manager, owner: str, plan, num_images: int, images_per_class: int, num_classes: int,
                  mine: Sequence[str] = (), done: Sequence[str] = (), rows: list[dict] | None = None,
                  wait: bool = False) -> Promise | None:
    """A feasibility check's promise on a folder of `num_images` images in `num_classes` classes (the smallest
    with `images_per_class`): at press time every stage; while it runs (`mine`: its run ids, `done`: the stages
    it has submitted), what is left."""
    views = [f"fold-{k}" for k in range(plan.settings.folds)]
    train = round(num_images * TRAIN_VAL_TEST[0])
    stages = pipeline.stages_left(plan, views, images_per_class, done)
    return promise(manager, owner, stages, mine, rows, wait, sizes=(train, num_images - train, num_classes))
