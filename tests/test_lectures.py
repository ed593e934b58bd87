"""Lessons 7–10 in the engine: rotation pretraining learns its pretext task without labels; zero-shot by
attributes, multitask learning and progressive networks each learn above their baseline on tiny data (their
verdicts: tests/test_lessons.py and tests/test_lecture_views.py)."""
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from tl_core.backbones import create_backbone
from tl_core.data import load_domain
from tl_core.data.attributes import class_attributes
from tl_core.errors import ConfigError
from tl_core.lessons import collision_cap
from tl_core.networks.model import TransferModel
from tl_core.networks.pretrain import checkpoint_path
from tl_core.networks.ssl import all_rotations, network_key
from tl_core.runs.config import RunConfig
from tl_core.runs.runner import run_config
from tl_core.runs.validation import validate_config
from tl_core.strategies.zero_shot import ZeroShot


def _tiny(**changes) -> RunConfig:
    config = RunConfig(source="digits", target="digits", backbone="small_cnn", weights="random", strategy="scratch",
                       freeze=0, labels_per_class=None, epochs=2, img_size=16, snapshot_size=0, pretrain_epochs=2,
                       device="cpu")
    return config.replace(**changes)


def _finished(config: RunConfig, runs_dir) -> dict:
    summary = run_config(config, runs_dir)
    assert summary["status"] == "finished", summary.get("reason")
    return summary


def test_rotations_label_each_image_by_its_quarter_turns():
    images = torch.arange(2 * 3 * 4 * 4, dtype=torch.uint8).view(2, 3, 4, 4)
    rotated = all_rotations(images, limit=10, seed=0)
    assert rotated.y.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert torch.equal(rotated.x[2], torch.rot90(images[0], 1, dims=(1, 2)))
    assert len(all_rotations(images, limit=1, seed=0)) == 4


@pytest.mark.slow
def test_rotation_pretraining_learns_its_pretext_without_labels_and_is_cached(runs_dir):
    config = _tiny(weights="ssl:rotation:target", strategy="fine-tune", freeze=1, labels_per_class=5, epochs=1)
    summary = _finished(config, runs_dir)
    assert summary["target_acc"] > 0.2
    path = checkpoint_path(network_key(config))
    assert path.exists()  # cached like `source`: the next run reads it
    model = TransferModel(create_backbone("small_cnn", "random", 16), 4)
    model.load_state_dict(load_file(str(path)))
    held_out = all_rotations(load_domain("digits", 16).val.images, 10_000, seed=0)
    with torch.no_grad():
        rotation_acc = (model.eval()(held_out.x).argmax(1) == held_out.y).float().mean().item()
    assert rotation_acc > 0.25 + 0.25, rotation_acc  # chance is one in four rotations


def test_unknown_self_supervised_weights_are_refused():
    with pytest.raises(ConfigError, match="ssl:rotation"):
        validate_config(_tiny(weights="ssl:jigsaw", strategy="fine-tune"))


@pytest.mark.slow
def test_zero_shot_names_unseen_classes_and_collides_without_an_attribute(runs_dir):
    common = dict(target="attribute-shapes", strategy="zero-shot", epochs=3, labels_per_class=60)
    full = _finished(_tiny(**common), runs_dir)
    chance = 1 / len(class_attributes("attribute-shapes").unseen)
    assert full["target_acc"] > chance + 0.25, full["target_acc"]
    partial = _finished(_tiny(settings={"attributes": "shape,fill"}, **common), runs_dir)
    cap = collision_cap("attribute-shapes", class_attributes("attribute-shapes").unseen, ["shape", "fill"])
    assert cap == 0.5 and partial["target_acc"] <= cap + 1e-6


def test_zero_shot_refuses_a_target_without_attributes_and_unknown_classes():
    with pytest.raises(ConfigError, match="attributes"):
        validate_config(_tiny(target="shapes", strategy="zero-shot"))
    with pytest.raises(ConfigError, match="no class"):
        validate_config(_tiny(strategy="zero-shot", settings={"unseen": "2,eleven"}))
    # with 2 held out, no seen digit leaves segment c dark: that value could never be learned
    with pytest.raises(ConfigError, match="segment c = off, so no predictor can learn it"):
        validate_config(_tiny(target="digits", strategy="zero-shot", settings={"unseen": "2,6,9"}))


def test_zero_shot_divides_each_attribute_by_its_prior_among_the_seen_classes():
    """Lampert et al.'s DAP: a value rare among the seen classes (segment e lit for 2 of the 7 seen digits) must
    not sink every unseen class that has it. Predicted attributes equal to the priors make every class equal."""
    strategy = ZeroShot()
    strategy.check_config(_tiny(target="digits", strategy="zero-shot"))
    table = class_attributes("digits")
    classes = list(table.signatures)
    strategy.unseen_mask = torch.tensor([c in table.unseen for c in classes])
    strategy.value_of = torch.tensor([[table.value_index(c, a) for c in classes] for a in table.groups])
    seen = strategy.value_of[:, ~strategy.unseen_mask]
    strategy.log_prior = [torch.log(torch.bincount(v, minlength=2).float() / len(v)) for v in seen]
    model = SimpleNamespace(head=SimpleNamespace(split=lambda x: torch.split(x, [2] * 7, dim=1)))
    logits = torch.cat([p.unsqueeze(0) for p in strategy.log_prior], dim=1)  # softmax of each block = its prior
    scores = strategy._class_scores(model, logits, strategy.unseen_mask)[0]
    unseen = scores[strategy.unseen_mask]
    assert torch.allclose(unseen, torch.zeros_like(unseen), atol=1e-5), unseen


@pytest.mark.slow
def test_multitask_lifts_a_label_poor_task_above_training_it_alone(runs_dir):
    """The rich task here is the same images fully labelled, through its own head: what the poor head gains can
    only come through the shared layers."""
    common = dict(source="digits", target="digits", labels_per_class=1, epochs=3)
    alone = _finished(_tiny(**common), runs_dir)
    joint = _finished(_tiny(strategy="multitask", **common), runs_dir)
    assert joint["target_acc"] > alone["target_acc"] + 0.05, (joint["target_acc"], alone["target_acc"])


@pytest.mark.slow
def test_progressive_network_keeps_task_a_while_fine_tuning_forgets_it(runs_dir):
    common = dict(source="digits", target="shapes", weights="source", labels_per_class=20, epochs=3,
                  measure_forgetting=True)
    tuned = _finished(_tiny(strategy="fine-tune", settings={"lr_decay": 1.0}, **common), runs_dir)
    progressive = _finished(_tiny(strategy="progressive", **common), runs_dir)
    assert progressive["source_acc"] == pytest.approx(progressive["source_acc_start"], abs=1e-9)
    assert tuned["source_acc"] < tuned["source_acc_start"] - 0.1, (tuned["source_acc"], tuned["source_acc_start"])
    # A's own BatchNorm statistics give some of it back, never more than it had; the frozen column loses nothing
    assert tuned["source_acc"] <= tuned["source_acc_own_bn"] <= tuned["source_acc_start"] + 0.02, tuned
    assert progressive["source_acc_own_bn"] == pytest.approx(progressive["source_acc_start"], abs=0.02)
    assert progressive["target_acc"] > 0.1 + 0.15  # ten shapes: it learns task B
    assert progressive["model_params"] > 1.9 * tuned["model_params"]  # two columns and the laterals
    assert progressive["frozen_params"] > 0


def test_the_progressive_column_is_built_in_the_models_layout():
    """Column B is made after the model, so it must be put in the model's channels-last layout: left in the default
    one, a progressive step cost 2.5 plain steps instead of 1.4 (bench/step_costs.py), and lesson 10's card
    promised half the time its progressive runs took."""
    from tl_core.strategies import build_strategy

    model = TransferModel(create_backbone("small_cnn", "random", 16), 10)
    build_strategy("progressive", {}).prepare(model, None, _tiny(strategy="progressive", weights="source"))
    column_b = [p for p in model.backbone.column_b.parameters() if p.ndim == 4]
    assert column_b and all(p.is_contiguous(memory_format=torch.channels_last) for p in column_b)
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    assert model.backbone.column_b.stem(model.normalise(images)).is_contiguous(memory_format=torch.channels_last)


def test_forgetting_is_measured_only_from_a_network_that_learned_task_a():
    with pytest.raises(ConfigError, match="weights 'source'"):
        validate_config(_tiny(measure_forgetting=True))


@pytest.mark.slow
def test_forgetting_is_measured_only_when_asked(runs_dir):
    unasked = _finished(_tiny(source="digits", target="shapes", weights="source", strategy="fine-tune",
                              labels_per_class=5, epochs=1), runs_dir)
    assert not {"source_acc_start", "source_acc", "source_acc_own_bn"} & set(unasked)


def test_progressive_needs_small_cnn():
    with pytest.raises(ConfigError, match="small_cnn"):
        validate_config(_tiny(strategy="progressive", backbone="resnet18"))
