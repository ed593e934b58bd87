"""The feasibility check: the pipeline end to end on a generated ImageFolder zip (tiny epochs), the fold views,
the sweep's planning and aggregation, the label-curve extrapolation on synthetic numbers, and the
recommendation's grid cell and numbers for constructed inputs."""
import dataclasses
import math
import re

import numpy as np
import pytest

from tl_core.feasibility.demo_data import write_shapes_folder, zip_folder
from tl_core.feasibility.label_curve import (budgets_for, extrapolate, plan_label_curve, summarise_label_curve,
                                             train_images_per_class)
from tl_core.feasibility.recommend import clearly_better, recommend
from tl_core.feasibility.results import RunResult, Score
from tl_core.feasibility.sweep import (FINETUNE, PROBE, Candidate, SettingScore, SweepReport, SweepSettings,
                                       finetune_depths, plan_finetune_stage, plan_probe_stage, summarise)
from tl_core.runs.config import RunConfig
from tl_view.feasibility_report import write_report

TINY = SweepSettings(img_size=16, probe_epochs=2, finetune_epochs=1, scratch_epochs=1, finetune_depths=1, folds=2,
                     batch_size=32, pretrain_epochs=1, device="cpu", check_id="test")
SOURCE = Candidate("small_cnn", "source", "digits")  # 1,797 images: pretrains in seconds, unlike synth-digits


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("TL_OFFLINE", "1")


# ---------------------------------------------------------------- label-curve extrapolation (pure)


def test_extrapolation_recovers_a_power_law():
    n = np.array([1, 2, 5, 10, 20, 40], dtype=float)
    truth = lambda x: 0.95 - 0.6 * np.power(x, -0.7)  # noqa: E731
    e = extrapolate(np.tile(n, 2), truth(np.tile(n, 2)), folds=[0] * 6 + [1] * 6)
    assert e.method == "power law"
    assert e.params == pytest.approx((0.95, 0.6, 0.7), abs=1e-3)
    assert e.current_labels == 40
    assert e.predicted_2x == pytest.approx(truth(80), abs=1e-4)
    assert e.predicted_4x == pytest.approx(truth(160), abs=1e-4)
    assert e.still_paying_off and e.gain_per_doubling == pytest.approx(truth(80) - truth(40), abs=1e-4)


def test_extrapolation_with_folds_and_noise_is_deterministic():
    rng = np.random.default_rng(0)
    n = np.repeat([1, 2, 5, 10, 20], 3).astype(float)
    acc = 0.9 - 0.5 * n ** -0.5 + rng.normal(0, 0.02, n.size)
    first, second = extrapolate(n, acc), extrapolate(n, acc)
    assert first == second
    assert 0 <= first.current_acc <= first.predicted_2x <= first.predicted_4x <= 1


def test_a_flat_curve_is_not_paying_off():
    e = extrapolate([1, 2, 5, 10, 20], [0.8, 0.8, 0.8, 0.8, 0.8])
    assert not e.still_paying_off and e.gain_per_doubling == pytest.approx(0, abs=1e-3)


def test_few_budgets_fall_back_to_log_linear_and_predictions_stay_in_range():
    e = extrapolate([5, 20], [0.7, 0.98])
    assert e.method == "log-linear"
    assert e.predicted_2x <= 1.0 and e.predicted_4x == 1.0  # clipped
    assert e.verdict == "undecided" and not e.still_paying_off  # no folds: no band to judge by
    one = extrapolate([20, 20], [0.5, 0.6])
    assert one.method == "none" and not one.still_paying_off and one.current_acc == pytest.approx(0.55)
    assert extrapolate([], []).method == "none"
    assert extrapolate([1, 2, float("nan"), 5], [0.2, 0.3, 0.4, float("nan")]).method == "log-linear"


def test_budgets_are_only_those_the_data_allows():
    assert budgets_for(35) == [1, 2, 5, 10, 20, None]
    assert budgets_for(14) == [1, 2, 5, 10, None]
    assert budgets_for(2) == [1, None]
    assert budgets_for(1) == [None]
    assert train_images_per_class(50) == 35 and train_images_per_class(20) == 14


# ---------------------------------------------------------------- recommendation (constructed inputs)


def setting(stage, candidate, strategy, accs, labels=20.0, freeze=4, confusion=None, val_accs=None) -> SettingScore:
    accs = tuple(accs)
    mean, sd = float(np.mean(accs)), float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0
    score = Score(mean, sd, accs, len(accs), 0, (), 1.0, ("a", "b"), (mean, mean), ((5, 1), (1, 5)), labels,
                  val_accs=tuple(val_accs) if val_accs is not None else accs)
    return SettingScore(stage, candidate, strategy, freeze, 4, ("stem", "block 1", "block 2", "head"), score,
                        confusion)


def sweep_of(transfer_accs, random_accs, finetune_accs=None, labels=20.0, freeze=2, confusion=None) -> SweepReport:
    transfer = Candidate("small_cnn", "source", "synth-digits")
    probe = [setting(PROBE, transfer, "linear-probe", transfer_accs, labels, confusion=confusion)]
    if random_accs is not None:
        probe.append(setting(PROBE, Candidate("small_cnn", "random"), "linear-probe", random_accs, labels))
    probe.sort(key=lambda s: -s.score.target_acc_mean)
    finetune = [setting(FINETUNE, transfer, "fine-tune", finetune_accs, labels, freeze)] if finetune_accs else []
    return SweepReport(tuple(probe), tuple(finetune), 0, 12.0)


def test_small_similar_reads_the_measured_numbers():
    sweep = sweep_of([0.84, 0.87, 0.90], [0.55, 0.60, 0.65], [0.88, 0.91, 0.94])
    r = recommend(sweep)
    assert r.cell == "small-similar"
    assert r.headline.startswith("Feature extraction with small_cnn (synth-digits weights) reaches 0.87 ± 0.03 "
                                 "with 20 images per class; fine-tuning the last two layer groups (block 2, head) "
                                 "adds 4 points")
    assert "linear head" in r.advice
    assert "beat random ones by 27 points" in r.text
    assert "Here the measurements favour fine-tuning" in r.advice  # measurement wins over the grid
    assert r.best["strategy"] == "fine-tune" and r.best["freeze"] == 2


@pytest.mark.parametrize("transfer, random_, labels, cell", [
    ([0.80, 0.82], [0.60, 0.62], 150.0, "large-similar"),
    ([0.61, 0.63], [0.60, 0.62], 20.0, "small-different"),
    ([0.61, 0.63], [0.60, 0.62], 300.0, "large-different"),
    ([0.50, 0.52], [0.70, 0.72], 10.0, "small-different"),  # negative transfer
])
def test_grid_cells_come_from_the_evidence(transfer, random_, labels, cell):
    r = recommend(sweep_of(transfer, random_, labels=labels))
    assert r.cell == cell
    assert f"{labels:.0f} labelled images per class" in r.text


def test_negative_transfer_says_trail_and_recommends_scratch():
    r = recommend(sweep_of([0.50, 0.52], [0.70, 0.72], [0.60, 0.62], freeze=0))
    assert "trail random ones by 20 points" in r.text
    assert r.headline.startswith("No pretrained network in this check clearly helps these images: feature "
                                 "extraction with small_cnn (synth-digits weights) reaches 0.51 ± 0.01")
    assert "fine-tuning the whole network adds 10 points (0.61 ± 0.01)" in r.headline
    assert r.strategy == "scratch" and "no transferred setting beat learning without transfer" in r.advice
    assert "(best: linear probe · small_cnn (random weights), 0.71 ± 0.01, against 0.61 ± 0.01" in r.advice


def test_scratch_from_the_label_curve_can_win():
    from tl_core.feasibility.label_curve import CurvePoint, LabelCurve

    sweep = sweep_of([0.80, 0.82], [0.70, 0.72], [0.83, 0.85], labels=35.0)
    scratch_all = setting(PROBE, Candidate("small_cnn", "random"), "scratch", [0.95, 0.97], 35.0).score
    scratch_few = setting(PROBE, Candidate("small_cnn", "random"), "scratch", [0.5, 0.5], 5.0).score
    e = extrapolate([5, 35], [0.7, 0.81])
    curve = LabelCurve((), (CurvePoint(5, 5.0, scratch_few), CurvePoint(None, 35.0, scratch_all)), e, e)
    r = recommend(sweep, curve)
    assert r.headline.startswith("Training from scratch with every label reaches 0.96 ± 0.01 with 35 images per "
                                 "class, the best measured here; the labels are its cost: it needs about 35")
    assert r.strategy == "scratch" and r.best["label"] == "training from scratch with every label"
    assert "Without transfer, training small_cnn from scratch with every label reaches 0.96 ± 0.01." in r.evidence
    close = LabelCurve((), (CurvePoint(None, 35.0, setting(PROBE, Candidate("small_cnn", "random"), "scratch",
                                                                  [0.84, 0.84]).score),), e, e)
    assert recommend(sweep, close).strategy == "fine-tune"


def test_domain_confusion_decides_when_there_is_no_random_baseline():
    assert recommend(sweep_of([0.8, 0.8], None, confusion=0.62)).similarity == "similar"
    r = recommend(sweep_of([0.8, 0.8], None, confusion=0.97))
    assert r.similarity == "different" and "0.97" in r.text
    assert recommend(sweep_of([0.8, 0.8], None)).similarity == "unknown"


def test_a_source_that_barely_beats_random_weights_is_not_recommended_and_the_missing_imagenet_is_said():
    """The issue's case: a digits network on photos probes 0.81 against 0.79 for random weights."""
    r = recommend(sweep_of([0.79, 0.81, 0.83], [0.77, 0.79, 0.81], labels=30.0))
    assert r.headline.startswith("No pretrained network in this check clearly helps these images")
    assert "is not recommended" in r.headline and r.strategy == "scratch"
    assert r.best["weights"] == "random"
    assert "No ImageNet-pretrained backbone was tried" in r.caveat and "synth-digits" in r.caveat
    assert "--weights imagenet" in r.caveat and "weights file" in r.caveat and r.caveat in r.text
    clear = recommend(sweep_of([0.90, 0.91, 0.92], [0.77, 0.79, 0.81], labels=30.0))
    assert clear.headline.startswith("Feature extraction with small_cnn (synth-digits weights) reaches 0.91")
    assert "No ImageNet-pretrained backbone was tried" in clear.caveat  # still only a digits source
    imagenet = Candidate("resnet18", "imagenet")
    with_imagenet = SweepReport((setting(PROBE, imagenet, "linear-probe", [0.9, 0.92]),
                                 setting(PROBE, Candidate("resnet18", "random"), "linear-probe", [0.5, 0.52])), (), 0, 1.0)
    assert recommend(with_imagenet).caveat == ""


def test_fine_tuning_that_loses_or_ties_is_said_so_and_curve_is_quoted():
    from tl_core.feasibility.label_curve import LabelCurve

    loses = recommend(sweep_of([0.80, 0.82], [0.5, 0.5], [0.70, 0.72], freeze=3))
    assert "fine-tuning the last layer group (head) loses 10 points" in loses.headline
    ties = recommend(sweep_of([0.80, 0.82], [0.5, 0.5], [0.805, 0.82], freeze=0))
    assert "fine-tuning the whole network makes no difference" in ties.headline
    n = [1, 2, 5, 10, 20] * 3
    e = extrapolate(n, [0.3, 0.45, 0.6, 0.7, 0.78, 0.32, 0.46, 0.61, 0.72, 0.8, 0.29, 0.44, 0.6, 0.69, 0.77],
                    folds=[0] * 5 + [1] * 5 + [2] * 5)
    curve = LabelCurve((), (), e, e)
    r = recommend(sweep_of([0.80, 0.82], [0.5, 0.5]), curve)
    assert e.gain_low >= 0.01
    assert (f"more labels are still paying off ({100 * e.gain_low:+.0f} to {100 * e.gain_high:+.0f} points at 40 "
            "per class, 95% band over folds)") in r.headline
    assert recommend(SweepReport((), (), 3, 0.0)) is None


def test_finetune_depths_follow_the_grid():
    assert finetune_depths(4, small=True, similar=True) == [3, 2]
    assert finetune_depths(4, small=False, similar=True) == [2, 0]
    assert finetune_depths(4, small=False, similar=False) == [2, 0]
    assert finetune_depths(4, small=True, similar=False, count=3) == [2, 3]
    assert all(0 <= d < 5 for d in finetune_depths(5, small=True, similar=None, count=3))


# ---------------------------------------------------------------- planning and aggregation


def fake_result(config: RunConfig, acc: float | None, classes=("a", "b"), labelled=40) -> RunResult:
    if acc is None:
        return RunResult(config, {"status": "failed", "reason": "boom", "seconds": 0.5})
    summary = {"status": "finished", "target_acc": acc, "val_acc": acc, "seconds": 2.0, "labelled_examples": labelled}
    evaluation = {"classes": list(classes), "per_class_acc": [acc, acc], "per_class_count": [5, 5],
                  "confusion": [[4, 1], [1, 4]], "misclassified": []}
    return RunResult(config, summary, evaluation)


def test_plans_are_valid_configs_and_partial_results_aggregate(tmp_path, runs_dir):
    views = [f"folder:{write_shapes_folder(tmp_path / f'f{k}', 2, 5, seed=k)}" for k in range(2)]
    candidates = [SOURCE, Candidate("small_cnn", "random")]
    probe = plan_probe_stage(views, candidates, TINY)
    assert len(probe) == 4 and {(c.experiment, c.role, c.arm) for c in probe} == {("feasibility:test", "feasibility", "probe")}
    assert all(c.strategy == "linear-probe" and c.labels_per_class is None for c in probe)
    assert probe[0].snapshot_size > 0 and all(c.snapshot_size == 0 for c in probe[1:])
    assert probe[1].source == views[0]  # random weights: the source is never used, so no extra dataset loads
    from tl_core.runs.validation import validate_config

    for config in probe:
        validate_config(config)

    results = [fake_result(probe[0], 0.9), fake_result(probe[1], 0.6)]  # fold 1 has not arrived
    partial = summarise(results, planned=probe)
    assert partial.pending == 2 and partial.best.candidate == SOURCE
    assert partial.transfer_gain == pytest.approx(0.3)
    results += [fake_result(probe[2], 0.8), fake_result(probe[3], None)]
    full = summarise(results, planned=probe)
    assert full.pending == 0
    best = full.best_transfer_probe
    assert best.score.fold_accs == (0.9, 0.8) and best.score.target_acc_mean == pytest.approx(0.85)
    assert best.score.confusion == ((8, 2), (2, 8)) and best.score.labels_per_class == 20
    assert full.random_probe.score.failed == 1 and "boom" in full.random_probe.score.failures[0]

    finetune = plan_finetune_stage(results, views, dataclasses.replace(TINY, finetune_depths=2))
    assert {(c.backbone, c.weights, c.source) for c in finetune} == {("small_cnn", "source", "digits")}
    assert sorted({c.freeze for c in finetune}) == [2, 3] and len(finetune) == 4
    for config in finetune:
        validate_config(config)

    curve = plan_label_curve(views, SOURCE, TINY, [2, None])
    assert len(curve) == 8 and {c.strategy for c in curve} == {"linear-probe", "scratch"}
    assert {c.labels_per_class for c in curve} == {2, None}
    points = summarise_label_curve([fake_result(c, 0.5 if c.labels_per_class == 2 else 0.8,
                                                labelled=4 if c.labels_per_class == 2 else 10) for c in curve])
    assert [p.labels_per_class for p in points.transfer] == [2, 5]
    assert points.extrapolation.method == "log-linear"


def test_fold_views_have_disjoint_test_sets(tmp_path):
    import torch

    from tl_core.data import load_domain
    from tl_core.feasibility.prepare import prepare_dataset
    from tl_core.feasibility.validate import validate_folder

    report = validate_folder(write_shapes_folder(tmp_path / "shapes", num_classes=3, per_class=15))
    prepared = prepare_dataset(report, tmp_path / "session", folds=3)
    assert prepared.folds == 3 and prepare_dataset(report, tmp_path / "session", folds=3) == prepared
    domains = [load_domain(view, 16) for view in prepared.views]
    pools = [torch.cat([d.train.images, d.val.images, d.test.images]) for d in domains]
    assert all(sorted(map(bytes, p.numpy())) == sorted(map(bytes, pools[0].numpy())) for p in pools)
    tests = [{bytes(x) for x in d.test.images.numpy()} for d in domains]
    assert all(len(t) == 9 for t in tests)
    assert not (tests[0] & tests[1]) and not (tests[0] & tests[2]) and not (tests[1] & tests[2])


# ---------------------------------------------------------------- end to end


@pytest.mark.slow
def test_pipeline_end_to_end_on_a_generated_zip(tmp_path, runs_dir):
    from tl_core.feasibility.pipeline import run_feasibility

    data = zip_folder(write_shapes_folder(tmp_path / "shapes", num_classes=3, per_class=20), prefix="shapes/")
    seen = []
    result = run_feasibility(data, tmp_path / "session", TINY, candidates=[SOURCE, Candidate("small_cnn", "random")],
                             budgets=(2, None), curve_folds=1, runs_dir=runs_dir,
                             on_result=lambda stage, r: seen.append((stage, r.summary["status"])))
    assert result.validation.counts == {"circle": 20, "square": 20, "triangle": 20}
    assert all(status == "finished" for _, status in seen), seen
    assert [s for s, _ in seen].count("probe") == 4 and [s for s, _ in seen].count("fine-tune") == 2
    assert [s for s, _ in seen].count("curve") == 4

    sweep = result.sweep
    assert sweep.pending == 0 and len(sweep.probe) == 2 and len(sweep.finetune) == 1
    assert sweep.finetune[0].candidate == SOURCE  # stage 2 fine-tunes transferred weights, whichever probed best
    best = sweep.best_transfer_probe
    assert best.score.runs == 2 and 0 <= best.score.target_acc_mean <= 1
    assert best.score.classes == ("circle", "square", "triangle")
    assert sum(map(sum, best.score.confusion)) == 2 * 3 * 4  # two folds × three classes × four test images
    assert best.domain_confusion_acc is not None and 0 <= best.domain_confusion_acc <= 1

    r = result.recommendation
    assert r is not None and r.size == "small" and r.similarity in ("similar", "different")
    assert f"{best.score.target_acc_mean:.2f} ± {best.score.target_acc_sd:.2f}" in r.headline
    assert "with 14 images per class" in r.headline  # 70 % of 20 train images per class
    ft = sweep.best_finetune
    delta = round(abs(ft.score.target_acc_mean - best.score.target_acc_mean) * 100)
    assert f"{ft.score.target_acc_mean:.2f} ± {ft.score.target_acc_sd:.2f}" in r.headline
    assert (f"{delta} point" in r.headline) or "makes no difference" in r.headline

    curve = result.curve
    assert [p.budget for p in curve.transfer] == [2, None] and [p.budget for p in curve.scratch] == [2, None]
    assert curve.transfer[0].labels_per_class == 2 and curve.transfer[1].labels_per_class == 14

    md, page = write_report(result, tmp_path / "out")
    text = md.read_text()
    assert r.headline in text and "| circle | 20 |" in text and "## How many labels?" in text
    html = page.read_text()
    assert html.count("Plotly.newPlot") >= 4 and 'src="https://cdn' not in html
    assert len(re.findall(r"<script type=\"text/javascript\">/\*\*", html)) <= 1  # plotly.js inlined once
    assert result.seconds["total"] > 0 and math.isfinite(sweep.seconds)


@pytest.mark.slow
def test_probe_stage_through_the_job_manager_gives_partial_results(tmp_path, runs_dir):
    from tl_core.feasibility.prepare import prepare_dataset
    from tl_core.feasibility.results import results_from_jobs
    from tl_core.feasibility.validate import validate_folder
    from tl_core.serving.jobs import JobManager

    report = validate_folder(write_shapes_folder(tmp_path / "shapes", num_classes=2, per_class=10))
    prepared = prepare_dataset(report, tmp_path / "session", folds=2)
    configs = plan_probe_stage(prepared.views, [Candidate("small_cnn", "random")], TINY)
    manager = JobManager(runs_dir, slots=1)
    ids = [manager.submit(c, owner="test") for c in configs]
    results, pending = results_from_jobs(manager, ids)
    assert len(results) + pending == 2
    for run_id in ids:
        manager.wait(run_id, timeout_s=120)
    results, pending = results_from_jobs(manager, ids)
    assert pending == 0 and all(r.ok and r.evaluation for r in results)
    sweep = summarise(results, planned=configs)
    assert sweep.pending == 0 and sweep.best.score.runs == 2


def test_next_stage_walks_probe_fine_tune_curve_then_done(tmp_path):
    """The page's loop without training: submit what next_stage returns, feed results back, assemble."""
    from tl_core.feasibility.pipeline import Plan, assemble, next_stage
    from tl_core.feasibility.prepare import prepare_dataset
    from tl_core.feasibility.validate import validate_folder

    prepared = prepare_dataset(validate_folder(write_shapes_folder(tmp_path / "s", 2, 10)), tmp_path / "session", 2)
    plan = Plan(TINY, (SOURCE, Candidate("small_cnn", "random")), budgets=(2, 5, 50, None), curve_folds=1)
    stages, results = [], []
    accs = {"probe": 0.8, "fine-tune": 0.85, "curve": 0.7}
    while True:
        stage, configs = next_stage(prepared, plan, results)
        stages.append((stage, len(configs)))
        if stage == "done":
            break
        results += [fake_result(c, accs[stage] - 0.2 * (c.weights == "random"), labelled=4 * (c.labels_per_class or 7))
                    for c in configs]
    assert stages == [("probe", 4), ("fine-tune", 2), ("curve", 6), ("done", 0)]  # budget 50 > 7 train images
    sweep, curve, recommendation = assemble(results)
    assert sweep.best.stage == "fine-tune" and [p.budget for p in curve.transfer] == [2, 5, None]
    assert recommendation.similarity == "similar" and "0.85 ± 0.00" in recommendation.headline
    partial_sweep, no_curve, early = assemble(results[:1], planned=[r.config for r in results])
    assert partial_sweep.pending == 5 and no_curve is None and early is not None


def text_file_named_zip(tmp):
    (tmp / "x.zip").write_bytes(b"not a zip")
    return tmp / "x.zip"


@pytest.mark.parametrize("make, words", [
    (text_file_named_zip, "not a zip archive"),
    (lambda tmp: write_shapes_folder(tmp / "one", num_classes=1, per_class=5), "at least two classes"),
    (lambda tmp: tmp / "missing", "is not a folder"),
])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, runs_dir, capsys, make, words):
    from tl_view.feasibility_cli import main

    path = make(tmp_path)
    code = main([str(path), "--out", str(tmp_path / "out"), "--session-dir", str(tmp_path / "session"),
                 "--runs-dir", str(runs_dir)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ") and words in err
    assert not (tmp_path / "out").exists()


def test_differences_within_the_spread_do_not_flip_the_advice():
    from tl_core.feasibility.label_curve import CurvePoint, LabelCurve

    noisy = sweep_of([0.78, 1.0], [0.40, 0.50], [0.80, 1.0])  # small-similar; fine-tune +1 point, sd 0.15
    r = recommend(noisy)
    assert r.cell == "small-similar" and r.strategy == "linear-probe"
    assert "cannot tell them apart" in r.advice
    scratch = setting(PROBE, Candidate("small_cnn", "random"), "scratch", [0.94, 0.94]).score
    e = extrapolate([5, 14], [0.7, 0.9])
    r = recommend(noisy, LabelCurve((), (CurvePoint(None, 14.0, scratch),), e, e))
    assert r.strategy == "linear-probe" and "but training from scratch" not in r.headline
    assert "from scratch with every label reaches 0.94 ± 0.00" in r.text


def test_partial_sweep_says_what_is_not_measured_yet():
    r = recommend(sweep_of([0.80, 0.82], [0.79, 0.81], labels=150.0))  # large-different, no fine-tune yet
    assert r.cell == "large-different" and r.strategy == "scratch"  # the source barely beats random weights
    assert "Fine-tuning has not been measured yet; so far the best setting is linear probe" in r.advice


# ---------------------------------------------------------------- held-out reporting, bands, one fold


def test_the_winner_is_chosen_on_validation_and_reported_on_test():
    transfer = Candidate("small_cnn", "source", "synth-digits")
    lucky = setting(PROBE, transfer, "linear-probe", [0.95, 0.93], val_accs=[0.70, 0.72])  # best test, worse val
    steady = setting(FINETUNE, transfer, "fine-tune", [0.85, 0.83], freeze=2, val_accs=[0.90, 0.88])
    sweep = SweepReport((lucky,), (steady,), 0, 1.0)
    assert sweep.best is steady
    r = recommend(sweep)
    assert r.best["strategy"] == "fine-tune" and r.best["target_acc_mean"] == pytest.approx(0.84)
    assert "played no part in the choice" in r.text


def test_one_fold_is_undecided_not_zero_spread():
    transfer = Candidate("small_cnn", "source", "synth-digits")
    probe = setting(PROBE, transfer, "linear-probe", [0.70])
    finetune = setting(FINETUNE, transfer, "fine-tune", [0.90], freeze=2)
    assert not clearly_better(finetune.score, probe.score)  # 20 points, but no spread to judge by
    random_ = setting(PROBE, Candidate("small_cnn", "random"), "linear-probe", [0.40])
    r = recommend(SweepReport((probe, random_), (finetune,), 0, 1.0))
    assert r.cell == "small-similar" and "(one fold)" in r.headline and "± 0.00" not in r.text
    assert "Undecided between" in r.advice


def test_label_curve_band_decides_only_when_its_lower_edge_does():
    n = [1, 2, 5, 10, 20] * 3
    noisy = [0.3, 0.5, 0.55, 0.5, 0.62, 0.5, 0.35, 0.6, 0.7, 0.6, 0.2, 0.6, 0.45, 0.75, 0.55]
    e = extrapolate(n, noisy, folds=[0] * 5 + [1] * 5 + [2] * 5)
    assert e.gain_low < 0.01 <= e.gain_high and e.verdict == "undecided" and not e.still_paying_off
    assert len(e.band_n) == len(e.band_low) == len(e.band_high) > 2
    assert all(lo <= hi for lo, hi in zip(e.band_low, e.band_high))
    assert extrapolate(n, noisy, folds=[0] * 5 + [1] * 5 + [2] * 5) == e  # seeded
    one = extrapolate([1, 2, 5, 10, 20], [0.3, 0.45, 0.6, 0.7, 0.78], folds=[0] * 5)
    assert one.verdict == "undecided" and not one.band_n and one.gain_low != one.gain_low


def test_plentiful_labels_lead_with_scratch_and_say_what_the_labels_cost():
    """Issue 24's check: feature extraction 0.96 with 10 per class, scratch 1.00 with every label (from 20 per
    class on), and features told apart with accuracy 0.89 although the probe gain says 'similar'."""
    from tl_core.feasibility.label_curve import CurvePoint, LabelCurve

    sweep = sweep_of([0.95, 0.97], [0.60, 0.62], labels=10.0, confusion=0.89)
    random = Candidate("small_cnn", "random")
    points = [CurvePoint(b, float(b), setting(PROBE, random, "scratch", accs, float(b)).score)
              for b, accs in ((5, [0.7, 0.72]), (10, [0.9, 0.92]), (20, [1.0, 1.0]))]
    points.append(CurvePoint(None, 35.0, setting(PROBE, random, "scratch", [1.0, 1.0], 35.0).score))
    e = extrapolate([5, 35], [0.7, 1.0])
    r = recommend(sweep, LabelCurve((), tuple(points), e, e), domain_confusion_acc=0.89)
    assert r.headline.startswith("Training from scratch with every label reaches 1.00 ± 0.00 with 35 images per "
                                 "class, the best measured here")
    assert "it needs about 20 labelled images per class" in r.headline
    assert "feature extraction with small_cnn (synth-digits weights) reaches 0.96 ± 0.01" in r.headline
    told = next(line for line in r.evidence if "told apart with accuracy 0.89" in line)
    assert r.similarity == "similar" and "yet" in told and "decides 'similar'" in told
