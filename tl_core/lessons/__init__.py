"""Classroom lessons: each one a short explanation, the runs that demonstrate it, its claim and a measured verdict.

    catalog.py   the ten lessons: text, stage functions (one seed's runs), the claim stated before any run
    plans.py     every arm once per seed, the next stage from the finished ones, the runs read back (`collect`)
    claims.py    Claim, Verdict, progress (k of n seeds), per-seed paired values
    verdicts.py  all ten verdicts on the lab's one statistic, and `verdict`: none until every seed has finished

Runs of a lesson share its experiment id (`tl_core.runs.identity.new_lesson`), so they show together on the Runs page
and go through the same job queue. No Streamlit here.
"""
from tl_core.lessons import plans
from tl_core.lessons.catalog import FREEZE_DEPTHS, LABEL_BUDGETS, LESSONS, SEEDS, Lesson, lesson
from tl_core.lessons.claims import Claim, Verdict
from tl_core.lessons.plans import (collect, experiment_run_ids, latest_experiment, needs_pretraining, plan_next,
                                   seed_count, stage_configs, stages_left, timed_networks)
from tl_core.lessons.verdicts import VERDICTS, collision_cap, verdict, zero_shot_setting

__all__ = [
    "FREEZE_DEPTHS", "LABEL_BUDGETS", "LESSONS", "SEEDS", "VERDICTS", "Claim", "Lesson",
    "Verdict", "collect", "collision_cap", "experiment_run_ids", "latest_experiment", "lesson", "needs_pretraining",
    "plan_next", "plans", "seed_count", "stage_configs", "stages_left", "timed_networks", "verdict",
    "zero_shot_setting",
]
