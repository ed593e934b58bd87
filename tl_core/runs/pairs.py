"""Which runs belong together, read from store rows (`RunStore.list`): a run's baseline or compared run, the run
to draw it against, the experiment a baseline belongs to, an owner's newest Experiment-page experiment. The pages
draw what these say."""
from __future__ import annotations

from tl_core.runs import identity
from tl_core.runs.baselines import lesson_twin
from tl_core.runs.status import Status
from tl_core.strategies import strategy_class


def baseline_of(row: dict, rows: list[dict]) -> str | None:
    """The run drawn beside `row`: the baseline of its pair, the run a 'versus' experiment compares it with, or
    in a lesson the same seed's arm that is its strategy's baseline (DANN's twin at domain weight 0)."""
    compared = identity.compared_run(row.get("experiment") or "")
    if compared:
        return compared
    kind = (identity.parse(row.get("experiment") or "") or identity.Experiment(identity.Kind.BENCH, "")).kind
    if kind is identity.Kind.PAIR:
        for other in rows:
            if other["run_id"] != row["run_id"] and other.get("experiment") == row["experiment"] \
                    and other.get("role") != row.get("role"):
                return other["run_id"]
    if kind is identity.Kind.LESSON:
        return lesson_twin(row, rows)
    return None


def comparison_of(row: dict, rows: list[dict]) -> str | None:
    """The run to draw `row` against: its recorded baseline (`baseline_of`); else the newest finished run from
    scratch on the same target, backbone and label budget (`rows` newest first); None when there is none."""
    recorded = baseline_of(row, rows)
    if recorded or _from_scratch(row):
        return recorded
    for other in rows:
        if (other["run_id"] != row["run_id"] and _from_scratch(other) and other["target"] == row["target"]
                and other["backbone"] == row["backbone"] and other["labels_per_class"] == row["labels_per_class"]
                and other["status"] == Status.FINISHED):
            return other["run_id"]
    return None


def _from_scratch(row: dict) -> bool:
    """A run of the strategy that ignores its weights: the 'without transfer' case (scratch)."""
    return not strategy_class(row["strategy"]).uses_weights


def is_twin(row: dict) -> bool:
    """True for the baseline of an experiment (drawn beside its main run, not a run of its own)."""
    return row.get("role") == identity.Role.BASELINE


def experiment_of(row: dict, rows: list[dict]) -> dict:
    """The watch dict that shows `row`: a baseline shows the experiment it belongs to."""
    partner = baseline_of(row, rows)
    if is_twin(row) and partner:
        return {"run": partner, "baseline": row["run_id"]}
    return {"run": row["run_id"], "baseline": partner}


def latest_experiment(rows: list[dict], who: str) -> dict | None:
    """This owner's newest Experiment-page experiment (the main run, not its baseline), as a watch dict; a lesson
    arm or a feasibility stage is not what the Experiment page shows."""
    for row in rows:
        if row.get("owner") == who and not is_twin(row) and \
                identity.is_experiment_page_run(row.get("role") or "", row.get("experiment") or ""):
            return {"run": row["run_id"], "baseline": baseline_of(row, rows)}
    return None
