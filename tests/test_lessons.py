"""Every lesson plans valid runs (each arm once per seed), a shortened version of each runs through to its
verdict on tiny data, each lesson's verdict is met, not met or undecided on data built to be so, and no verdict
is given before every seed has finished."""
import pytest

from tl_core.lessons import LESSONS, SEEDS, collect, lesson, plan_next, stage_configs, verdict
from tl_core.records.run_view import RunView
from tl_core.records.store import RunStore
from tl_core.runs.config import RunConfig
from tl_core.runs.runner import run_config
from tl_core.runs.validation import validate_config


@pytest.mark.parametrize("item", LESSONS, ids=lambda item: item.key)
def test_full_lessons_plan_valid_configs(item, data_dir):
    fake_previous = [RunView.of(RunConfig(name="the big one", role="teacher"), {"run_id": "x", "status": "finished"})]
    for stage in item.stages:
        configs = stage(False, fake_previous)
        assert configs
        for config in configs:
            if config.strategy != "distill":  # a distill config names a teacher run that exists only once trained
                validate_config(config)
    assert item.explanation and item.expectation


@pytest.mark.slow
@pytest.mark.parametrize("item", LESSONS, ids=lambda item: item.key)
def test_quick_lesson_runs_to_its_verdict(item, runs_dir):
    """One seed per arm: the runs reach the verdict, which says it has no interval and decides nothing."""
    runs, ids = [], []
    for stage in item.stages:
        for config in stage(True, runs):
            summary = run_config(config.replace(device="cpu"), runs_dir)
            assert summary["status"] == "finished", summary["reason"]
            ids.append(summary["run_id"])
        runs = collect(ids, RunStore(runs_dir))
    judged = verdict(item.key, runs, seeds=1)
    assert judged.outcome == "undecided" and "(one seed: no interval)" in judged.text, judged.text
    assert judged.effect is not None and "Measured over 1 seed." in judged.text


def test_every_arm_runs_once_per_seed_and_students_learn_from_their_own_seeds_teacher():
    item = lesson("distillation")
    teachers = stage_configs(item, 0, False, [])
    assert [c.seed for c in teachers] == list(range(SEEDS)) and item.seeds == SEEDS >= 5
    done = [RunView.of(c, {"run_id": f"t{c.seed}", "status": "finished"}) for c in teachers]
    students = plan_next(item, done, "lesson:distillation:x")[1]
    assert len(students) == 3 * SEEDS
    for config in students:
        assert config.settings.get("teacher", f"t{config.seed}") == f"t{config.seed}"
    assert {c.labels_per_class for c in teachers + students} == {10}  # the teacher sees no more target labels
    assert {c.backbone for c in teachers} == {"small_cnn"} and {c.backbone for c in students} == {"small_cnn_tiny"}
    assert len(stage_configs(lesson("why-transfer"), 0, False, [], seeds=7)) == 21


# ------------------------------------------------------------------------------ verdicts on data built to be so

SPREAD = (0.6, -0.6, 0.4, -0.4, 0.0, 0.2, -0.2)  # per seed, times a scale: mean 0 over the first five seeds


def _accuracy(key: str, config, effect: float) -> float:
    """A run's target accuracy when the lesson's primary contrast (on its claimed side) is `effect`."""
    arm, freeze, budget = config.arm, config.freeze, config.labels_per_class
    if key == "why-transfer":
        return 0.8 + effect * (arm == "fine-tune")
    if key == "how-many-labels":
        return 0.6 + effect * (arm == "with" and budget == 1)
    if key == "which-layers":
        return 0.8 - effect * (arm == "freeze-distant" and freeze == max(c.freeze for c in planned(key)))
    if key == "domain-shift":
        return 0.5 + effect * (arm == "dann")
    if key == "distillation":
        return {"teacher": 0.9, "distilled": 0.7 + effect}.get(arm, 0.7)
    if key == "negative-transfer":
        return {"fine-tuned": 0.8 - effect, "related-fine-tuned": 0.85, "frozen": 0.5}.get(arm, 0.8)
    if key == "self-supervised":
        return {"rotation": 0.7 + effect, "supervised": 0.8}.get(arm, 0.7)
    if key == "zero-shot":
        return 0.25 + effect if arm == "all-attributes" else 0.45  # chance 1/4; without colour under its cap
    if key == "multitask":
        return 0.6 + effect * (arm == "joint")
    if key == "forgetting":
        return 0.7
    raise KeyError(key)


def planned(key: str, previous=()) -> list:
    item = lesson(key)
    configs = stage_configs(item, 0, False, [])
    return configs + (stage_configs(item, 1, False, previous) if len(item.stages) > 1 else [])


def built_runs(key: str, effect: float, scale: float) -> list[dict]:
    """The lesson's planned runs, finished, with the primary contrast `effect` + SPREAD × `scale` on each seed."""
    item = lesson(key)
    teachers = [RunView.of(c, {"run_id": f"t{c.seed}", "status": "finished"})
                for c in stage_configs(item, 0, False, [])]
    runs = []
    for config in planned(key, teachers):
        per_seed = effect + SPREAD[config.seed] * scale
        acc = _accuracy(key, config, per_seed)
        forgot = per_seed if config.arm == "fine-tuned" else 0.0
        rid = f"{config.arm}-{config.seed}-{config.freeze}-{config.labels_per_class}"
        runs.append(RunView.of(config, history=[{"epoch": 1, "target_acc": acc}], evaluation={},
                               summary={"run_id": rid, "status": "finished", "target_acc": acc, "source_acc_start": 0.9,
                                        "source_acc": 0.9 - 2 * forgot, "source_acc_own_bn": 0.9 - forgot,
                                        "domain_confusion_n": 60,
                                        "domain_confusion_acc": 0.5 if config.arm == "dann" else 0.95}))
    return runs


@pytest.mark.parametrize("item", LESSONS, ids=lambda item: item.key)
def test_each_lesson_is_met_not_met_or_undecided_as_its_data_say(item, data_dir):
    least = item.claim.min_effect
    met = verdict(item.key, built_runs(item.key, 3 * least, 0.01))
    assert met.outcome == "met", met.text
    assert met.seeds == SEEDS and (met.low > 0 if item.claim.side == "above" else met.high < 0)
    none = verdict(item.key, built_runs(item.key, 0.0, 0.005))
    assert none.outcome == "not met", none.text
    noisy = verdict(item.key, built_runs(item.key, least, 3 * least))  # the interval spans 0 and the minimum
    assert noisy.outcome == "undecided", noisy.text
    assert f"Measured over {SEEDS} seeds." in noisy.text


def test_forgetting_that_only_the_batchnorm_statistics_explain_is_not_met(data_dir):
    """Lesson 10's claim is about the weights: a fine-tuned network whose task A comes back once A's BatchNorm
    statistics are restored has not forgotten A in the sense the lecture means, however far it fell before."""
    runs = built_runs("forgetting", 0.0, 0.005)
    for run in runs:
        if run.arm == "fine-tuned":
            run.summary["source_acc"] = 0.3  # a deep fall with B's statistics …
    judged = verdict("forgetting", runs)
    assert judged.outcome == "not met", judged.text  # … that A's own statistics give back
    assert "0.300 with B's BatchNorm statistics" in judged.text and "the statistics give back 0.6" in judged.text


def test_when_a_control_sets_the_badge_the_words_say_so():
    """Lesson 5 once read "✗ not met" over a text that ended "Undecided: the interval includes 0": the main
    comparison was undecided and a control failed. Here lesson 6: its unrelated source loses against scratch,
    but the related source loses just as much, so the loss is the protocol's."""
    runs = built_runs("negative-transfer", 0.2, 0.01)
    for run in runs:
        if run.arm == "related-fine-tuned":
            run.summary["target_acc"] = 0.6 + 0.001 * run.seed  # loses like the unrelated one
    judged = verdict("negative-transfer", runs)
    assert judged.outcome == "not met" and "the effect is at least the 0.03 worth teaching" in judged.text
    assert "So the claim is not met: the related source, fine-tuned the same way, must not lose against scratch, " \
           "and it does not." in judged.text
    met = verdict("negative-transfer", built_runs("negative-transfer", 0.2, 0.01))
    assert met.outcome == "met" and "So the claim is" not in met.text


def test_distillation_reports_soft_against_hard_labels_beside_its_verdict_without_letting_it_set_the_badge():
    runs = built_runs("distillation", 0.3, 0.01)
    for run in runs:
        if run.arm == "pseudo-labels":
            run.summary["target_acc"] = 0.99  # the hard-label student beats the soft one on every seed
    judged = verdict("distillation", runs)
    assert judged.outcome == "met" and "ahead of the teacher's hard labels (0.99)" in judged.text


def test_distillation_says_how_much_smaller_the_students_are():
    runs = built_runs("distillation", 0.3, 0.01)
    for run in runs:
        run.summary["model_params"] = 33306 if run.arm == "teacher" else 8850
    assert "Each student has 8,850 parameters, the teacher 33,306." in verdict("distillation", runs).text


def test_a_real_but_small_effect_is_not_worth_a_met():
    small = verdict("why-transfer", built_runs("why-transfer", 0.04, 0.02))
    assert small.outcome == "undecided" and small.low > 0 and "falls short of the 0.05" in small.text
    tiny = verdict("why-transfer", built_runs("why-transfer", 0.02, 0.002))
    assert tiny.outcome == "not met" and tiny.low > 0 and "rules out an effect of 0.05" in tiny.text


def test_no_verdict_before_every_seed_has_finished():
    runs = built_runs("why-transfer", 0.2, 0.01)
    at = next(i for i, r in enumerate(runs) if r.arm == "linear-probe" and r.seed == 4)
    runs[at] = RunView.of(runs[at].config, {**runs[at].summary, "status": "running", "target_acc": None})  # training
    judged = verdict("why-transfer", runs)
    assert judged.outcome == "waiting" and not judged.badged and judged.effect is None
    assert judged.text == f"{SEEDS - 1} of {SEEDS} seeds finished — no verdict yet."
    queued = [r for r in runs if r.seed < 2 or r.arm != "fine-tune"]
    assert verdict("why-transfer", queued).text == f"2 of {SEEDS} seeds finished — no verdict yet."


def test_a_lesson_whose_arms_fail_says_which():
    runs = built_runs("why-transfer", 0.2, 0.01)
    at = next(i for i, r in enumerate(runs) if r.arm == "fine-tune" and r.seed == 3)
    runs[at] = RunView.of(runs[at].config, {**runs[at].summary, "status": "failed", "target_acc": None,
                                            "reason": "out of patience"})
    judged = verdict("why-transfer", runs)
    assert judged.outcome == "incomplete" and not judged.badged
    assert "fine-tune, seed 3 (failed: out of patience)" in judged.text


def test_negative_transfer_fails_when_the_related_source_loses_too():
    runs = built_runs("negative-transfer", 0.1, 0.01)
    for run in runs:
        if run.arm == "related-fine-tuned":
            run.summary["target_acc"] = 0.72 + 0.001 * run.seed
    judged = verdict("negative-transfer", runs)
    assert judged.outcome == "not met" and "the loss is the protocol, not the source" in judged.text


def test_negative_transfer_fails_its_own_control_with_random_weights():
    """Random weights in place of either source: both transfer arms are the same run, so the source's share of
    any loss is exactly nothing, and must not pass for negative transfer."""
    runs = built_runs("negative-transfer", 0.1, 0.01)
    tuned = {r.seed: r.summary["target_acc"] for r in runs if r.arm == "fine-tuned"}
    for run in runs:
        if run.arm == "related-fine-tuned":
            run.summary["target_acc"] = tuned[run.seed]
    judged = verdict("negative-transfer", runs)
    assert judged.outcome == "not met" and "+0.00 (95% interval +0.00 to +0.00) above the unrelated one" in judged.text


def test_how_many_labels_reports_where_transfer_stops_paying():
    gains = {1: 0.3, 5: 0.15, 10: 0.0, 50: -0.02, None: -0.02}
    runs = built_runs("how-many-labels", 0.0, 0.0)
    for run in runs:
        budget, seed = run.config.labels_per_class, run.seed
        with_transfer = run.arm == "with"
        run.summary["target_acc"] = 0.6 + 0.01 * SPREAD[seed] * with_transfer + gains[budget] * with_transfer
    judged = verdict("how-many-labels", runs)
    assert judged.outcome == "met" and "stops paying from 10 per class" in judged.text


def test_unknown_lesson_names_the_valid_ones():
    with pytest.raises(KeyError, match="why-transfer"):
        lesson("nope")


def test_dann_is_met_only_when_its_domain_confusion_falls_by_the_stated_least_fall_too():
    from tl_core.lessons.verdicts import CONFUSION_FALL

    runs = built_runs("domain-shift", 0.2, 0.01)
    assert verdict("domain-shift", runs).outcome == "met"
    for run in runs:
        if run.arm == "dann":  # a real fall, but smaller than the least worth teaching
            run.summary["domain_confusion_acc"] = 0.95 - CONFUSION_FALL / 2 + 0.001 * run.seed
    judged = verdict("domain-shift", runs)
    assert judged.outcome == "not met" and f"a fall counts from {CONFUSION_FALL:.2f}" in judged.text
    assert "its domain confusion must also fall by at least 0.10, and it does not" in judged.text
