"""Lessons 7–10 on recorded-looking runs: their pictures (means over seeds, chance and collision lines, task A over
task B's epochs) and their verdicts (met / not met / undecided by t-intervals over seeds)."""
import pytest

from tl_core.lessons import SEEDS, lesson, stage_configs, verdict
from tl_core.records.run_view import RunView
from tl_view import lesson_views as lv


def fake(config, accs, status="finished", **summary) -> RunView:
    per_epoch = summary.pop("per_epoch", {})
    metrics = [{"epoch": i + 1, "target_acc": a, **{k: v[i] for k, v in per_epoch.items()}} for i, a in enumerate(accs)]
    return RunView.of(config, {"status": status, "target_acc": accs[-1], "run_id": f"r-{config.arm}-{config.seed}",
                               **summary}, metrics)


def planned(key: str):
    return stage_configs(lesson(key), 0, False, [])  # every arm once per seed


def test_multitask_is_met_when_every_seed_gains_and_undecided_when_they_disagree():
    configs = planned("multitask")
    gain = {"alone": 0.40, "fine-tuned": 0.60, "joint": 0.70}
    runs = [fake(c, [0.2, gain[c.arm] + 0.01 * c.seed]) for c in configs]
    judged = verdict("multitask", runs)
    assert judged.outcome == "met" and "95% interval" in judged.text
    mixed = [fake(c, [0.2, 0.5 + (0.1 if c.seed == 0 else -0.1) * (c.arm == "joint")]) for c in configs]
    assert verdict("multitask", mixed).outcome == "undecided"


def test_self_supervised_not_met_when_rotation_loses_on_every_seed():
    runs = [fake(c, [0.3, {"scratch": 0.6, "rotation": 0.5, "supervised": 0.8}[c.arm] + 0.01 * c.seed])
            for c in planned("self-supervised")]
    assert verdict("self-supervised", runs).outcome == "not met"
    fig, = lv.lesson_figures("self-supervised", runs)
    assert [t.name for t in fig.data] == [f"scratch ({SEEDS} seeds)", f"rotation-pretrained (no labels) ({SEEDS} seeds)",
                                          f"supervised on task A ({SEEDS} seeds)"]
    assert fig.data[0].y[-1] == pytest.approx(sum(0.6 + 0.01 * s for s in range(SEEDS)) / SEEDS)


def test_zero_shot_draws_chance_and_the_collision_cap_and_judges_both():
    runs = [fake(c, [0.9 if c.arm == "all-attributes" else 0.5]) for c in planned("zero-shot")]
    judged = verdict("zero-shot", runs)
    assert judged.outcome == "met" and "chance 0.250" in judged.text and "at most 0.50" in judged.text
    fig, = lv.lesson_figures("zero-shot", runs)
    lines = " ".join(a.text for a in fig.layout.annotations)
    legend = " ".join(t.name or "" for t in fig.data if t.showlegend is not False)
    assert "chance 25.0%" in lines and "best possible without colour 50.0%" in legend  # in the legend: no overprint
    assert "50.0%" not in lines
    above_cap = [fake(c, [0.9 if c.arm == "all-attributes" else 0.7]) for c in planned("zero-shot")]
    assert verdict("zero-shot", above_cap).outcome == "not met"


def test_forgetting_curves_start_before_task_b_and_bars_name_the_sizes():
    runs = []
    for c in planned("forgetting"):
        after = [0.9, 0.9] if c.arm == "progressive" else [0.5, 0.3]
        runs.append(fake(c, [0.6, 0.8], source_acc_start=0.9, source_acc=after[-1],
                         source_acc_own_bn=(after[-1] + 0.9) / 2, per_epoch={"source_acc": after},
                         model_params=70_000 if c.arm == "progressive" else 33_000))
    judged = verdict("forgetting", runs)
    assert judged.outcome == "met" and "0.900 before task B" in judged.text and "70,000" in judged.text
    curves, bars = lv.lesson_figures("forgetting", runs)
    tuned = next(t for t in curves.data if t.name.startswith("fine-tuned"))
    assert list(tuned.x) == [0, 1, 2] and list(tuned.y) == [0.9, 0.5, 0.3]
    restored = [t for t in curves.data if t.legendgroup == "restored"]
    assert [list(t.y) for t in restored] == [[pytest.approx(0.6)], [pytest.approx(0.9)]]  # fine-tuned, progressive
    assert all(t.x[0] > 2 for t in restored) and [t.showlegend for t in restored] == [True, False]  # one legend entry
    assert any("70.0k parameters" in text for text in bars.layout.xaxis.ticktext)
