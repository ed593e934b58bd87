"""Choosing without target labels: reverse validation (tl_core.selection, `python -m tl_core select`), and the
feasibility sweep's winner, give the same choice when the target-test labels are scrambled."""
import json
from dataclasses import replace

import pytest
import torch

from tl_core.cli import main
from tl_core.errors import ConfigError
from tl_core.records.run_dir import RunDir
from tl_core.runs.config import RunConfig
from tl_core.selection import REVERSE as METRIC
from tl_core.selection import (TARGET_VAL, Scored, candidates, choose, metric_for, parse_grid,
                               reverse_validation_accuracy, select)


def _digits(img_size: int = 16):
    from tl_core.data import load_domain

    return load_domain("digits", img_size)


@pytest.mark.slow
def test_reverse_validation_rewards_pseudo_labels_that_hold_on_the_source(data_dir):
    """The reverse network learns whatever the pseudo-labels say: right ones score high on the source
    validation split, consistently wrong ones (every class renamed) near 0, one class the constant classifier."""
    digits = _digits()
    train, val = digits.train, digits.val
    score = lambda pseudo: reverse_validation_accuracy(train.images, pseudo, val.images, val.labels, 10, 16)  # noqa: E731
    assert score(train.labels) > 0.7
    assert score((train.labels + 1) % 10) < 0.1
    assert score(torch.zeros_like(train.labels)) == pytest.approx(float((val.labels == 0).float().mean()))


@pytest.mark.slow
def test_the_reverse_model_trains_from_random_weights_on_the_pseudo_labelled_target(data_dir, monkeypatch):
    """Input space, as Zhong et al. and Ganin et al.: a fresh network is fitted to (target images, pseudo-labels)
    through the one loop, and scored on the source validation split."""
    from tl_core.train import loop

    seen = {}
    real_fit = loop.fit

    def spy(model, task, strategy, **kwargs):
        seen.update(x=task.labelled.x, y=task.labelled.y, test=task.test.y, strategy=strategy.name,
                    weights=[p.detach().clone() for p in model.parameters()])
        return real_fit(model, task, strategy, **{**kwargs, "epochs": 1})

    monkeypatch.setattr(loop, "fit", spy)
    digits = _digits()
    images, pseudo = digits.train.images[:200], torch.arange(200) % 10
    acc = reverse_validation_accuracy(images, pseudo, digits.val.images, digits.val.labels, 10, 16, seed=3)
    assert seen["x"] is images and torch.equal(seen["y"], pseudo) and seen["strategy"] == "scratch"
    assert torch.equal(seen["test"], digits.val.labels) and 0.0 <= acc <= 1.0
    torch.manual_seed(3)
    from tl_core.backbones import create_backbone
    fresh = list(create_backbone("small_cnn", "random", 16).parameters())
    assert torch.equal(seen["weights"][0], fresh[0])  # random weights, not the forward network's


def test_reverse_validation_refuses_mismatched_rows(data_dir):
    digits = _digits()
    with pytest.raises(ValueError, match="one label per image"):
        reverse_validation_accuracy(digits.val.images, digits.val.labels[:-1], digits.val.images, digits.val.labels,
                                    10, 16)


def test_grid_is_typed_by_the_schema_and_expands_in_order():
    grid = parse_grid(["lr=0.01,0.03", "domain_weight=0.3,1"], "dann")
    assert grid == {"lr": [0.01, 0.03], "domain_weight": [0.3, 1.0]}
    assert candidates(grid)[:2] == [{"lr": 0.01, "domain_weight": 0.3}, {"lr": 0.01, "domain_weight": 1.0}]
    for bad, message in ((["lr=fast"], "lr"), (["nonsense=1"], "no setting nonsense"), (["lr"], "KEY=V1"),
                         (["seed=1,2"], "--seeds")):
        with pytest.raises(ConfigError, match=message):
            parse_grid(bad, "dann")


def test_choice_skips_unfinished_candidates_and_keeps_the_first_of_a_tie():
    done = lambda acc: {"status": "finished", METRIC: acc}  # noqa: E731
    scored = [Scored({"lr": 1}, [done(0.8)]), Scored({"lr": 2}, [done(0.9), {"status": "diverged"}]),
              Scored({"lr": 3}, [done(0.8)])]
    assert choose(scored).candidate == {"lr": 1}
    assert choose([Scored({"lr": 2}, [{"status": "failed"}])]) is None


def _base() -> RunConfig:
    return RunConfig(source="digits", target="digits-m", backbone="small_cnn", weights="random", strategy="dann",
                     freeze=0, labels_per_class=None, epochs=1, img_size=16, snapshot_size=0, device="cpu")


def _scramble_target_test_labels(monkeypatch, scramble_test_labels):
    """Every run (and every domain the selection loads) sees the target-test labels permuted, and the target's
    training labels too (reverse validation pseudo-labels the target training images; it must not peek)."""
    from tl_core import data as data_module

    scramble_test_labels()
    load = data_module.load_domain

    def scrambled_domain(name, *args, **kwargs):
        domain = load(name, *args, **kwargs)
        if name != _base().target:
            return domain
        g = torch.Generator().manual_seed(2)
        train, test = domain.train.labels, domain.test.labels  # the target's training labels as well
        return replace(domain, train=replace(domain.train, labels=train[torch.randperm(len(train), generator=g)]),
                       test=replace(domain.test, labels=test[torch.randperm(len(test), generator=g)]))

    monkeypatch.setattr(data_module, "load_domain", scrambled_domain)


@pytest.mark.slow
def test_select_chooses_the_same_without_the_target_test_labels(tmp_path, data_dir, monkeypatch,
                                                                scramble_test_labels):
    grid = parse_grid(["lr=0.003,0.03"], "dann")
    seen = select(_base(), grid, [0], tmp_path / "a")
    assert seen.chosen is not None and all(s.score is not None for s in seen.scored)
    record = json.loads(open(seen.record).read())
    assert record["metric"] == METRIC and record["chosen"] == seen.chosen
    run_id = seen.scored[0].runs[0]["run_id"]
    assert RunDir(tmp_path / "a" / run_id).read_summary()[METRIC] == pytest.approx(seen.scored[0].score)

    _scramble_target_test_labels(monkeypatch, scramble_test_labels)
    blind = select(_base(), grid, [0], tmp_path / "b")
    assert blind.chosen == seen.chosen
    assert [s.score for s in blind.scored] == pytest.approx([s.score for s in seen.scored])


@pytest.mark.slow
def test_feasibility_winner_is_the_same_without_the_target_test_labels(tmp_path, data_dir, monkeypatch,
                                                                      scramble_test_labels):
    from tl_core.feasibility.demo_data import write_shapes_folder
    from tl_core.feasibility.results import run_plan
    from tl_core.feasibility.sweep import Candidate, SweepSettings, plan_probe_stage, summarise

    settings = SweepSettings(img_size=16, probe_epochs=2, folds=2, batch_size=32, pretrain_epochs=1, device="cpu",
                             check_id="blind")
    views = [f"folder:{write_shapes_folder(tmp_path / f'f{k}', 3, 8, seed=k)}" for k in range(2)]
    plan = plan_probe_stage(views, [Candidate("small_cnn", "source", "digits"), Candidate("small_cnn", "random")],
                            settings)
    seen = summarise(run_plan(plan, tmp_path / "seen"))
    _scramble_target_test_labels(monkeypatch, scramble_test_labels)
    blind = summarise(run_plan(plan, tmp_path / "blind"))
    assert blind.best.label == seen.best.label
    assert [s.label for s in blind.probe] == [s.label for s in seen.probe]


def test_cli_select_rejects_a_bad_grid_in_one_line(capsys, runs_dir):
    assert main(["select", "--strategy", "dann", "--source", "digits", "--target", "digits",
                 "--grid", "lr=fast"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "lr" in err and "\n" not in err


@pytest.mark.slow
def test_a_strategy_trained_on_target_labels_is_chosen_on_the_target_validation_split(tmp_path, data_dir,
                                                                                      scramble_test_labels):
    """Fine-tuning's settings (lr_decay was chosen while looking at target-test accuracy) are re-checked on the
    target's validation split: the score is each run's final val_acc, and permuting the test labels changes
    nothing."""
    assert metric_for("fine-tune") == TARGET_VAL and metric_for("dann") == METRIC
    base = replace(_base(), strategy="fine-tune", labels_per_class=10)
    grid = parse_grid(["lr=0.0003,0.01"], "fine-tune")
    seen = select(base, grid, [0], tmp_path / "a")
    assert seen.metric == TARGET_VAL
    assert [s.score for s in seen.scored] == [s.runs[0]["val_acc"] for s in seen.scored]
    assert "test split is never read" in json.loads(open(seen.record).read())["reads"]

    scramble_test_labels()
    blind = select(base, grid, [0], tmp_path / "b")
    assert blind.chosen == seen.chosen
    assert [s.score for s in blind.scored] == pytest.approx([s.score for s in seen.scored])
