"""Runs are told apart by role, experiment and arm — never by their display names."""
import dataclasses
import itertools

import pytest

from tl_core.lessons import LESSONS, stage_configs, verdict
from tl_core.records.run_view import RunView
from tl_core.records.store import RunStore
from tl_core.runs import identity, pairs
from tl_core.runs.config import RunConfig
from tl_core.runs.identity import Kind
from tl_core.runs.status import Status
from tl_core.strategies import transfers
from tl_ui.live import CHART_SECONDS, refresh_seconds, same_epoch_delta
from tl_view import lesson_views as lv


def test_experiment_ids_are_built_and_parsed_in_one_place():
    pair = identity.new_pair()
    assert identity.parse(pair).kind is Kind.PAIR
    assert identity.compared_run(identity.versus("20261130-x")) == "20261130-x"
    lesson_id = identity.new_lesson("which-layers")
    assert identity.lesson_key(lesson_id) == "which-layers" and lesson_id.startswith(identity.lesson_prefix("which-layers"))
    assert identity.parse(identity.feasibility("abc")) == identity.Experiment(Kind.FEASIBILITY, "abc")
    assert identity.parse("") is None and identity.parse("free text") is None
    assert identity.lesson_key(pair) is None and identity.compared_run(pair) is None


@pytest.mark.parametrize("legacy, expected", [
    ({"group": "exp-ab12", "strategy": "scratch", "name": "without transfer (x)"}, ("baseline", "pair:ab12", "")),
    ({"group": "exp-ab12", "strategy": "fine-tune", "name": "x"}, ("main", "pair:ab12", "")),
    ({"group": "vs-20261130-r1", "strategy": "fine-tune", "name": ""}, ("main", "versus:20261130-r1", "")),
    ({"group": "lesson:which-layers:ff", "strategy": "fine-tune", "name": "freeze 2"},
     ("lesson-arm", "lesson:which-layers:ff", "freeze")),
    ({"group": "lesson:distillation:ff", "strategy": "target-only", "name": "teacher (resnet18)"},
     ("teacher", "lesson:distillation:ff", "teacher")),
    ({"group": "check1/fine-tune", "strategy": "fine-tune", "name": "fine-tune · fold 1"},
     ("feasibility", "feasibility:check1", "fine-tune")),
    ({"group": "", "strategy": "fine-tune", "name": "mine"}, ("main", "", "")),
])
def test_old_records_get_their_role_inferred_once_on_read(legacy, expected):
    written_before_roles = {k: v for k, v in {**RunConfig().to_dict(), **legacy}.items()
                            if k not in ("role", "experiment", "arm")}
    config = RunConfig.from_dict(written_before_roles)
    assert (config.role, config.experiment, config.arm) == expected
    assert RunConfig.from_json(config.to_json()) == config  # the new fields round-trip


def test_transfers_is_one_answer():
    assert transfers(RunConfig(weights="source", strategy="fine-tune"))
    assert not transfers(RunConfig(weights="random", strategy="scratch"))
    assert transfers(RunConfig(weights="random", strategy="dann"))  # learns from the source's labels
    assert transfers(RunConfig(weights="random", strategy="distill"))  # learns from a teacher
    assert transfers(RunConfig(weights="random", strategy="multitask"))  # learns from the source's labels
    assert not transfers(RunConfig(weights="random", strategy="target-only"))


def _fake(config: RunConfig, acc: float, rid: str, history=(0.5,)) -> RunView:
    return RunView.of(config, {"run_id": rid, "status": "finished", "target_acc": acc, "model_params": 1000,
                               "seconds": 1.0, "source_acc_start": 0.9, "source_acc": acc, "source_acc_own_bn": acc},
                      [{"epoch": i + 1, "target_acc": a} for i, a in enumerate(history)])


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda item: item.key)
def test_renaming_every_label_changes_no_verdict_or_picture(lesson):
    """Each lesson's planned runs, judged and drawn, then again with every name replaced by nonsense (and one
    named like another lesson's arm): the verdict and the figures' data are the same."""
    runs, previous = [], []
    for index in range(len(lesson.stages)):
        configs = stage_configs(lesson, index, False, previous)  # every seed: no verdict before all have finished
        for i, config in enumerate(configs):
            acc = 0.3 + 0.05 * (len(runs) % 7) + (0.2 if transfers(config) else 0.0)
            runs.append(_fake(config.replace(experiment="lesson:x:1"), acc, f"r{len(runs)}", (acc - 0.1, acc)))
        previous = list(runs)
    renamed = []
    for i, run in enumerate(runs):
        name = "scratch" if i == 0 else f"label {i} — freeze 9, teacher"
        renamed.append(dataclasses.replace(run, config=run.config.replace(name=name)))
    judged = verdict(lesson.key, runs)
    assert judged.outcome != "waiting" and judged == verdict(lesson.key, renamed)
    for fig_a, fig_b in itertools.zip_longest(lv.lesson_figures(lesson.picture, runs),
                                              lv.lesson_figures(lesson.picture, renamed)):
        ys_a = [list(t.y) if t.y is not None else None for t in fig_a.data]
        ys_b = [list(t.y) if t.y is not None else None for t in fig_b.data]
        assert ys_a == ys_b


def test_the_baseline_is_found_by_role_not_by_name(tmp_path):
    store = RunStore(tmp_path)
    experiment = identity.new_pair()
    rows = [{"run_id": "main", "role": "main", "experiment": experiment, "name": "without transfer (fake)"},
            {"run_id": "base", "role": "baseline", "experiment": experiment, "name": "my favourite run"},
            {"run_id": "other", "role": "main", "experiment": identity.new_pair(), "name": "without transfer"}]
    assert pairs.baseline_of(rows[0], rows) == "base"
    assert pairs.is_twin(rows[1]) and not pairs.is_twin(rows[0]) and not pairs.is_twin(rows[2])
    assert pairs.experiment_of(rows[1], rows) == {"run": "main", "baseline": "base"}
    assert store.list(role="baseline") == []


def test_a_lone_transfer_run_is_drawn_against_the_newest_finished_scratch_run_on_its_target():
    row = lambda rid, strategy, status="finished", target="digits-m": {  # noqa: E731
        "run_id": rid, "role": "main", "experiment": "", "strategy": strategy, "status": status, "target": target,
        "backbone": "small_cnn", "labels_per_class": 10}
    rows = [row("running", "scratch", status="running"), row("elsewhere", "scratch", target="digits"),
            row("newest", "scratch"), row("older", "scratch"), row("tuned", "fine-tune")]
    assert pairs.comparison_of(rows[-1], rows) == "newest"
    assert pairs.comparison_of(rows[2], rows) is None  # scratch is already the case without transfer
    pair = identity.new_pair()
    paired = [{**rows[-1], "experiment": pair}, {**row("twin", "scratch"), "role": "baseline", "experiment": pair}]
    assert pairs.comparison_of(paired[0], paired + rows[:4]) == "twin"  # its recorded baseline comes first


def test_the_live_badge_compares_the_same_epoch():
    config = RunConfig(epochs=5)
    running = RunView("a", config, Status.RUNNING, history=[{"epoch": 1, "target_acc": 0.7},
                                                             {"epoch": 2, "target_acc": 0.8}])
    finished = RunView("b", config, Status.FINISHED, summary={"target_acc": 0.95},
                       history=[{"epoch": e, "target_acc": 0.4 + 0.1 * e} for e in range(1, 6)])
    diff, when = same_epoch_delta(running, finished)
    assert diff == pytest.approx(0.8 - 0.6) and when == "at epoch 2"  # not 0.8 against the final 0.95
    waiting = RunView("c", config, Status.QUEUED)
    assert same_epoch_delta(running, waiting) == (None, "waiting for the other run's first epoch")


def test_the_live_view_redraws_charts_less_often_than_progress_and_stops_polling_when_runs_end():
    config = RunConfig()
    view = lambda status, epochs=0: RunView("r", config, status, history=[{"epoch": 1}] * epochs)  # noqa: E731
    progress, charts = refresh_seconds([view(Status.RUNNING, epochs=1), view(Status.QUEUED)])
    assert progress == 1.0 and charts == CHART_SECONDS > progress
    assert refresh_seconds([view(Status.RUNNING), None]) == (1.0, 1.0)  # its first point is drawn at once
    progress, charts = refresh_seconds([view(Status.QUEUED), None])
    assert progress == 3.0 and charts >= progress  # nothing moves in the queue: poll less
    assert refresh_seconds([view(Status.FINISHED), view(Status.FAILED)]) == (None, None)


def test_status_is_one_enum():
    assert all(s.active != s.terminal for s in Status)
    assert {s for s in Status if s.active} == {Status.QUEUED, Status.RUNNING}
    assert Status.of("finished") is Status.FINISHED and Status.of("nonsense") is Status.UNKNOWN
    assert Status.FINISHED == "finished"  # stored and compared as the string it always was
