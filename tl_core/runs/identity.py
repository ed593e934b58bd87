"""What a run is for — its role, its experiment and its arm — built and parsed here and nowhere else.

A run's `name` is a label for people. Which run is the baseline of which, which lesson arm a run is, which
feasibility stage it belongs to: all of that is read from three fields of its config:

    role        Role: main, baseline, reference, teacher, student, lesson-arm, feasibility, bench
    experiment  "pair:<token>" | "versus:<run id>" | "lesson:<lesson key>:<token>" | "feasibility:<check id>"
                | "bench:<name>" | "" (a lone run)
    arm         which arm of the experiment, a short id the experiment's planner chose ("fine-tune", "freeze",
                "probe", ...); numbers such as the freeze depth are read from the config itself, not the arm

Records written before these fields existed carried a free-form `group` and meaning in the name; `upgrade_legacy`
infers the three fields from them once, when such a record is read.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    MAIN = "main"  # a run a person asked for
    BASELINE = "baseline"  # the comparison drawn beside a main run ("without transfer", "without adaptation")
    REFERENCE = "reference"  # a ceiling drawn for orientation, e.g. train on target
    TEACHER = "teacher"
    STUDENT = "student"
    LESSON_ARM = "lesson-arm"
    FEASIBILITY = "feasibility"
    BENCH = "bench"



class Kind(StrEnum):
    PAIR = "pair"  # a main run with its baseline(s), submitted together
    VERSUS = "versus"  # a main run compared with an existing run
    LESSON = "lesson"
    FEASIBILITY = "feasibility"
    BENCH = "bench"


@dataclass(frozen=True)
class Experiment:
    kind: Kind
    key: str  # pair: a token; versus: the compared run's id; lesson: the lesson key; feasibility: the check id
    token: str = ""  # lessons: one press of the lesson's button

    def __str__(self) -> str:
        return ":".join(p for p in (self.kind.value, self.key, self.token) if p)


def new_pair() -> str:
    return str(Experiment(Kind.PAIR, secrets.token_hex(4)))


def versus(run_id: str) -> str:
    return str(Experiment(Kind.VERSUS, run_id))


def new_lesson(lesson_key: str) -> str:
    return str(Experiment(Kind.LESSON, lesson_key, secrets.token_hex(3)))


def lesson_prefix(lesson_key: str) -> str:
    """Every experiment id of this lesson starts with this (for finding a lesson's newest press)."""
    return f"{Kind.LESSON.value}:{lesson_key}:"


def feasibility(check_id: str) -> str:
    return str(Experiment(Kind.FEASIBILITY, check_id))


def new_feasibility_check() -> tuple[str, str]:
    """(a new check id, its experiment id): the check's chain and its runs share the experiment id."""
    check_id = secrets.token_hex(4)
    return check_id, feasibility(check_id)


def feasibility_prefix() -> str:
    """Every feasibility check's experiment id starts with this (for finding an owner's newest check)."""
    return f"{Kind.FEASIBILITY.value}:"


def bench(name: str) -> str:
    return str(Experiment(Kind.BENCH, name))


def parse(text: str) -> Experiment | None:
    """The structured experiment id, or None for a lone run (or text that is not an experiment id)."""
    kind, _, rest = (text or "").partition(":")
    if kind not in Kind.__members__.values() or not rest:
        return None
    kind = Kind(kind)
    if kind is Kind.LESSON:
        key, _, token = rest.partition(":")
        return Experiment(kind, key, token)
    return Experiment(kind, rest)


def compared_run(experiment: str) -> str | None:
    """The run a 'versus' experiment compares with."""
    parsed = parse(experiment)
    return parsed.key if parsed and parsed.kind is Kind.VERSUS else None


def is_experiment_page_run(role: str, experiment: str) -> bool:
    """A run a person set up on the Experiment page (or the CLI): a main run or its baseline, alone, in a pair
    or versus an earlier run. Not a lesson arm, a feasibility stage or a bench run."""
    parsed = parse(experiment)
    return role in (Role.MAIN, Role.BASELINE) and (parsed is None or parsed.kind in (Kind.PAIR, Kind.VERSUS))


def lesson_key(experiment: str) -> str | None:
    parsed = parse(experiment)
    return parsed.key if parsed and parsed.kind is Kind.LESSON else None


_LEGACY_PAIR, _LEGACY_VERSUS = "exp-", "vs-"
_LEGACY_FEASIBILITY_STAGES = ("probe", "fine-tune", "curve")
_LEGACY_TWIN_STRATEGY = "scratch"  # what the old 'without transfer' twins were trained with: a fact of old records


def upgrade_legacy(data: dict[str, Any]) -> dict[str, Any]:
    """A config dict written before roles existed, with `role`, `experiment` and `arm` inferred from its
    `group` and (for the old twins, lesson arms and teachers, whose meaning lived there) its `name`."""
    data = dict(data)
    group, name = str(data.pop("group", "") or ""), str(data.get("name", "") or "")
    role, experiment, arm = Role.MAIN, "", ""
    if group.startswith(_LEGACY_PAIR):
        experiment = str(Experiment(Kind.PAIR, group[len(_LEGACY_PAIR):]))
        if data.get("strategy") == _LEGACY_TWIN_STRATEGY and name.startswith("without transfer"):
            role = Role.BASELINE
    elif group.startswith(_LEGACY_VERSUS):
        experiment = versus(group[len(_LEGACY_VERSUS):])
    elif group.startswith("lesson:"):
        experiment = group
        role, arm = Role.LESSON_ARM, _legacy_lesson_arm(name, data)
        if name.startswith("teacher"):
            role = Role.TEACHER
        elif name.startswith("student"):
            role = Role.STUDENT
    elif "/" in group and group.rsplit("/", 1)[-1] in _LEGACY_FEASIBILITY_STAGES:
        check, stage = group.rsplit("/", 1)
        experiment, role, arm = feasibility(check), Role.FEASIBILITY, stage
    elif group.startswith("bench-"):
        experiment, role = bench(group[len("bench-"):]), Role.BENCH
    data.update(role=role.value, experiment=experiment, arm=arm)
    return data


def _legacy_lesson_arm(name: str, data: dict[str, Any]) -> str:
    if name.startswith("with transfer"):
        return "with"
    if name.startswith("without transfer"):
        return "without"
    if name.startswith("freeze "):
        return "freeze"
    if name.startswith("teacher"):
        return "teacher"
    if name == "student, distilled":
        return "distilled"
    if name == "student, labels only":
        return "labels-only"
    if "frozen" in name:
        return "frozen"
    if "fine-tuned" in name:
        return "fine-tuned"
    return {"scratch": "scratch", "linear probe": "linear-probe", "fine-tune": "fine-tune",
            "source only": "source-only", "DANN": "dann"}.get(name, str(data.get("strategy", "")))
