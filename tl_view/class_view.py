"""The Class view's words and grouping: every student's runs of one lesson or experiment, grouped by what they
computed, students named by number (never by id)."""
from __future__ import annotations

from collections import OrderedDict

from tl_core import identity
from tl_core.fingerprint import LABELS

KEYS = ("source", "target", "backbone", "weights", "strategy", "freeze", "labels_per_class", "epochs", "lr", "seed")


def topic_of(row: dict) -> str:
    """'lesson:<key>' for a lesson's runs, 'experiment' for the Experiment page's, '' for the rest."""
    key = identity.lesson_key(row.get("experiment") or "")
    if key:
        return f"lesson:{key}"
    parsed = identity.parse(row.get("experiment") or "")
    if parsed is None:
        return "experiment" if row.get("role") == identity.Role.MAIN else ""
    return "experiment" if parsed.kind in (identity.Kind.PAIR, identity.Kind.VERSUS) else ""


def student_names(rows: list[dict]) -> dict[str, str]:
    """Owner id → 'student 1', 'student 2', … in the order they first ran something (oldest first)."""
    names: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r.get("created") or 0):
        owner = row.get("owner") or ""
        if owner not in names:
            names[owner] = "command line" if not owner else f"student {sum(1 for o in names if o) + 1}"
    return names


def configuration(row: dict) -> tuple:
    config = {k: v for k, v in row["config"].items() if k not in LABELS}
    return tuple((k, repr(config.get(k))) for k in sorted(config))


def describe_configuration(config: dict) -> str:
    labels = config.get("labels_per_class")
    return (f"{config.get('strategy')} · {config.get('backbone')} ({config.get('weights')} weights, freeze "
            f"{config.get('freeze')}) · {config.get('source')} → {config.get('target')} · "
            f"{'all' if labels is None else labels} labels/class · {config.get('epochs')} epochs · lr "
            f"{config.get('lr'):g} · seed {config.get('seed')}")


def group_by_configuration(rows: list[dict]) -> list[list[dict]]:
    """Runs that computed the same thing together; the largest group first."""
    groups: OrderedDict[tuple, list[dict]] = OrderedDict()
    for row in sorted(rows, key=lambda r: r.get("created") or 0):
        groups.setdefault(configuration(row), []).append(row)
    return sorted(groups.values(), key=len, reverse=True)
