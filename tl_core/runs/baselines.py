"""The baseline drawn beside a run, each arm at its own recipe. What "without" means is the strategy's own
answer (`Strategy.baseline`): by default *without transfer*, scratch on the same labelled target images for the
same number of steps at scratch's own learning rate; distill's is *without the teacher*, DANN's *without
adaptation*; scratch and source-only have none: they are the baselines. Here the twin gets its role and name.
"""
from __future__ import annotations

from tl_core.runs.config import RunConfig
from tl_core.runs.identity import Role
from tl_core.strategies import strategy_class

ARM_LABELS = {"without-transfer": "without transfer", "without-teacher": "without the teacher",
              "without-adaptation": "without adaptation"}
ARM_RECIPES = {
    "without-transfer": "scratch from random weights on the same labelled images for the same number of steps, "
                        "at scratch's own learning rate",
    "without-teacher": "the same student trained on its labels alone, at scratch's own learning rate",
    "without-adaptation": "the identical DANN recipe (optimiser, learning rate, schedules, steps) with the "
                          "adversarial weight at 0 and shared BatchNorm statistics: source-only training",
}


def baseline_for(config: RunConfig) -> RunConfig | None:
    """The baseline run of `config` (role baseline; its arm says which kind), or None when it has none."""
    cls = strategy_class(config.strategy)
    twin = cls.baseline(config)
    if twin is None:
        return None
    what = f"{cls.baseline_label} ({config.name})" if config.name else cls.baseline_label
    return twin.replace(role=Role.BASELINE.value, name=what)


def lesson_twin(row: dict, rows: list[dict]) -> str | None:
    """In a lesson, the run of the same seed whose arm is `row`'s baseline (DANN's twin at domain weight 0), among
    store rows (`RunStore.list`); None when the lesson has no such arm."""
    twin = strategy_class(row["strategy"]).baseline(RunConfig.from_dict(row["config"]))
    if twin is None:
        return None
    return next((other["run_id"] for other in rows
                 if other["run_id"] != row["run_id"] and other.get("experiment") == row.get("experiment")
                 and other.get("arm") == twin.arm and other["config"].get("seed") == twin.seed), None)
