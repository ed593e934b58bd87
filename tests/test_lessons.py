"""Every lesson plans valid runs (each arm once per seed), a shortened version of each runs to a measured verdict
on tiny data, and the verdicts test their claims with controls."""
import numpy as np
import pytest

from tl_core.lessons import LESSONS, collect, lesson, plan_next, stage_configs, verdict
from tl_core.records.store import RunStore
from tl_core.runner import run_config
from tl_core.validation import validate_config


@pytest.mark.parametrize("item", LESSONS, ids=lambda item: item.key)
def test_full_lessons_plan_valid_configs(item, data_dir):
    fake_previous = [{"config": {"name": "the big one", "role": "teacher"}, "summary": {"run_id": "x", "status": "finished"}}]
    for stage in item.stages:
        configs = stage(False, fake_previous)
        assert configs
        for config in configs:
            if config.strategy != "distill":  # a distill config names a teacher run that exists only once trained
                validate_config(config)
    assert item.explanation and item.expectation and item.minutes_on_cpu > 0


@pytest.mark.slow
@pytest.mark.parametrize("item", LESSONS, ids=lambda item: item.key)
def test_quick_lesson_runs_to_its_verdict(item, runs_dir):
    runs, ids = [], []
    for stage in item.stages:
        for config in stage(True, runs):
            summary = run_config(config.replace(device="cpu"), runs_dir)
            assert summary["status"] == "finished", summary["reason"]
            ids.append(summary["run_id"])
        runs = collect(ids, RunStore(runs_dir))
    judged = verdict(item.key, runs)
    assert judged.outcome in ("met", "not met", "undecided"), judged.text
    assert judged.low <= judged.effect <= judged.high and "interval" in judged.text
    assert "Measured over 1 seed." in judged.text


def test_every_arm_runs_once_per_seed_and_students_learn_from_their_own_seeds_teacher():
    item = lesson("distillation")
    teachers = stage_configs(item, 0, False, [])
    assert [c.seed for c in teachers] == [0, 1, 2] and item.seeds == 3
    done = [{"config": c.to_dict(), "summary": {"run_id": f"t{c.seed}", "status": "finished"}} for c in teachers]
    students = plan_next(item, done, "lesson:distillation:x")[1]
    assert len(students) == 9
    for config in students:
        assert config.settings.get("teacher", f"t{config.seed}") == f"t{config.seed}"
    assert {c.labels_per_class for c in teachers + students} == {10}  # the teacher sees no more target labels
    assert len(stage_configs(lesson("why-transfer"), 0, False, [], seeds=5)) == 15


def synthetic(config, rate: float, images: int = 359) -> dict:
    """A finished run whose per-image correctness is drawn at `rate` (seeded by the run's seed and arm)."""
    rng = np.random.default_rng([config.seed, sum(map(ord, config.arm))])
    correct = (rng.random(images) < rate).astype(int)
    return {"config": config.to_dict(), "metrics": [{"epoch": 1, "target_acc": rate}],
            "summary": {"run_id": f"{config.arm}-{config.seed}", "status": "finished", "target_acc": correct.mean()},
            "evaluation": {"test_correct": correct.tolist()}}


def negative_transfer_runs(rates: dict[str, float], identical: tuple[str, str] | None = None) -> list[dict]:
    """The lesson's planned runs with made-up outcomes; `identical` arms get the very same predictions (what two
    runs that differ only in an unused source give)."""
    runs = [synthetic(c, rates[c.arm]) for c in stage_configs(lesson("negative-transfer"), 0, False, [])]
    if identical:
        by_key = {(r["config"]["arm"], r["config"]["seed"]): r for r in runs}
        for run in runs:
            if run["config"]["arm"] == identical[1]:
                twin = by_key[(identical[0], run["config"]["seed"])]
                run.update(summary=twin["summary"], evaluation=twin["evaluation"])
    return runs


def test_negative_transfer_from_an_unrelated_source_with_a_control_that_holds_is_met():
    measured = {"fine-tuned": 0.88, "related-fine-tuned": 0.96, "frozen": 0.45, "scratch": 0.96}
    assert verdict("negative-transfer", negative_transfer_runs(measured)).outcome == "met"


def test_negative_transfer_fails_when_the_related_source_loses_too():
    protocol_loses = {"fine-tuned": 0.85, "related-fine-tuned": 0.86, "frozen": 0.45, "scratch": 0.96}
    judged = verdict("negative-transfer", negative_transfer_runs(protocol_loses))
    assert judged.outcome == "not met" and "the loss is the protocol, not the source" in judged.text


def test_negative_transfer_fails_its_own_control_with_random_weights():
    """Random weights in place of either source: both transfer arms are the same run, so the source's share of
    any loss is exactly nothing, and the frozen arm's large loss (0.25 against 0.94, as measured on the old
    lesson) must not pass for negative transfer."""
    random_weights = {"fine-tuned": 0.93, "related-fine-tuned": 0.93, "frozen": 0.25, "scratch": 0.94}
    runs = negative_transfer_runs(random_weights, identical=("fine-tuned", "related-fine-tuned"))
    judged = verdict("negative-transfer", runs)
    assert judged.outcome == "not met" and "+0.00 (95% interval +0.00 to +0.00) above the unrelated one" in judged.text


@pytest.mark.slow
def test_negative_transfer_lesson_run_with_random_weights_is_never_met(runs_dir):
    """The shortened lesson, its transfer arms trained from random weights instead of a source."""
    ids = []
    for config in stage_configs(lesson("negative-transfer"), 0, True, [], seeds=1):
        if config.arm != "scratch":
            config = config.replace(weights="random")
        summary = run_config(config.replace(device="cpu", epochs=2), runs_dir)
        assert summary["status"] == "finished", summary["reason"]
        ids.append(summary["run_id"])
    assert verdict("negative-transfer", collect(ids, RunStore(runs_dir))).outcome != "met"


def test_how_many_labels_reports_where_transfer_stops_paying():
    gains = {1: 0.3, 5: 0.15, 10: 0.0, 50: -0.02, None: -0.02}
    runs = [synthetic(c, 0.6 + (gains[c.labels_per_class] if c.arm == "with" else 0))
            for c in stage_configs(lesson("how-many-labels"), 0, False, [])]
    judged = verdict("how-many-labels", runs)
    assert judged.outcome == "met" and "stops paying from 10 per class" in judged.text


def test_which_layers_is_judged_on_the_difference_of_slopes():
    def runs(distant_drop: float) -> list[dict]:
        return [synthetic(c, 0.9 - (distant_drop if c.arm == "freeze-distant" else 0.1) * c.freeze / 4
                          if c.arm != "scratch" else 0.8) for c in stage_configs(lesson("which-layers"), 0, False, [])]

    assert verdict("which-layers", runs(0.5)).outcome == "met"
    assert verdict("which-layers", runs(0.1)).outcome == "undecided"  # both fall alike: no Yosinski shape
    assert verdict("which-layers", runs(0.0)).outcome == "not met"


def test_why_transfer_judges_the_margin_by_its_interval_not_its_sign():
    def runs(fine: float) -> list[dict]:
        return [synthetic(c, {"scratch": 0.86, "linear-probe": 0.77, "fine-tune": fine}[c.arm])
                for c in stage_configs(lesson("why-transfer"), 0, False, [])]

    assert verdict("why-transfer", runs(0.95)).outcome == "met"
    small = verdict("why-transfer", runs(0.88))  # about one standard error on 359 test images
    assert small.outcome == "undecided" and small.low < 0 < small.high


def test_unknown_lesson_names_the_valid_ones():
    with pytest.raises(KeyError, match="why-transfer"):
        lesson("nope")
