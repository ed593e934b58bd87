"""A lesson's runs in stages: each arm once per seed, the next stage planned from the finished ones, and the
lesson's runs read back from the run store."""
from __future__ import annotations

import functools
from collections.abc import Sequence

from tl_core.lessons.catalog import LESSONS, Lesson
from tl_core.networks import ssl
from tl_core.records.run_view import RunView, snapshots_on_disk
from tl_core.runs import identity
from tl_core.runs.config import RunConfig
from tl_core.runs.status import Status


def seed_count(lesson: Lesson, quick: bool = False, seeds: int | None = None) -> int:
    """How many seeds each arm runs: `seeds` when given, else the lesson's own (one for a quick version)."""
    return seeds if seeds is not None else 1 if quick else lesson.seeds


def stage_configs(lesson: Lesson, index: int, quick: bool, previous: Sequence[RunView],
                  seeds: int | None = None, first_seed: int = 0) -> list[RunConfig]:
    """Stage `index`'s configs once per seed (`first_seed`, …: the page's are 0 …, a confirmation's fresh ones);
    each seed's copy sees only the earlier runs of its own seed (its students learn from the teacher of their
    seed)."""
    configs = []
    for seed in range(first_seed, first_seed + seed_count(lesson, quick, seeds)):
        mine = [r for r in previous if r.seed == seed]
        configs += [c.replace(seed=seed) for c in lesson.stages[index](quick, mine)]
    return configs


def needs_pretraining(lesson: Lesson, seeds: int | None = None) -> bool:
    """Whether its first runs will pretrain a network first (not shipped or cached: adds a minute or more)."""
    return any(ssl.needs_pretraining(c) for c in stage_configs(lesson, 0, False, [], seeds))


def latest_experiment(rows: Sequence[dict], key: str) -> str | None:
    """The experiment id of the newest recorded run of this lesson (`rows` as `RunStore.list` gives them)."""
    newest = max((r for r in rows if identity.lesson_key(r.get("experiment") or "") == key),
                 key=lambda r: r.get("created") or 0, default=None)
    return newest["experiment"] if newest else None


def experiment_run_ids(rows: Sequence[dict], experiment: str) -> list[str]:
    """The experiment's run ids in the order they were submitted."""
    return [r["run_id"] for r in sorted((r for r in rows if r.get("experiment") == experiment),
                                        key=lambda r: (r.get("created") or 0, r["run_id"]))]


def plan_next(lesson: Lesson, runs: Sequence[RunView], experiment: str, quick: bool = False,
              seeds: int | None = None) -> tuple[str, list[RunConfig]]:
    """The next stage to submit, given the lesson's runs so far in submission order (all of them ended).

    ("stage N", configs) — the configs tagged with `experiment`; ("done", []) when every stage has its runs;
    ("blocked", []) when a later stage needs runs of an earlier one that did not finish (e.g. no teacher).
    """
    submitted = 0
    for i in range(len(lesson.stages)):
        previous = list(runs[:submitted])
        if i and any(r.status != Status.FINISHED for r in previous):
            return "blocked", []
        configs = stage_configs(lesson, i, quick, previous, seeds)
        if len(runs) <= submitted:
            return f"stage {i + 1}", [c.replace(experiment=experiment) for c in configs]
        submitted += len(configs)
    return "done", []


def stages_left(lesson: Lesson, runs: Sequence[RunView] = (), quick: bool = False,
                seeds: int | None = None) -> list[list[RunConfig]]:
    """Every stage not submitted yet, given the lesson's runs so far in submission order (none: the whole
    plan), for estimating how long it takes. A later stage that needs runs not finished yet (students need their
    teacher's run id) is planned as if they had finished as submitted."""
    previous = list(runs)
    stages, submitted = [], 0
    for i in range(len(lesson.stages)):
        configs = stage_configs(lesson, i, quick, previous[:submitted], seeds)
        if len(previous) < submitted + len(configs):
            stages.append(configs)
            previous += [RunView.of(c, {"run_id": f"planned-{i}-{k}", "status": Status.FINISHED})
                         for k, c in enumerate(configs)]
        submitted += len(configs)
    return stages


@functools.cache
def timed_networks() -> tuple[tuple[str, int], ...]:
    """(backbone, image size) of every run the lessons plan, in lesson order, each once: what a server times
    before anyone presses, so that no card is left "timing" at its press (lesson 5's students are a smaller
    network than every other lesson's)."""
    return tuple(dict.fromkeys((c.backbone, c.img_size) for item in LESSONS for stage in stages_left(item)
                               for c in stage))


def collect(run_ids: list[str], store) -> list[RunView]:
    """The lesson's runs as `RunView` records with their evaluation.json and snapshots, read from the run store
    (unfinished ones too). Their metrics and evaluation are shared with every other reader of the same files: never
    change them."""
    runs, rows = [], store.get_many(list(run_ids))
    for run_id in run_ids:
        row = rows.get(run_id)
        if row is not None:
            path = store.run_dir(run_id)
            runs.append(RunView.of(row["config"], row["summary"], path.look_at_metrics(),
                                   path.look_at_json("evaluation.json"), snapshots_on_disk(path.snapshots_dir)))
    return runs
