"""What "without" means per strategy: each baseline at its own recipe, the same data and steps."""
import pytest

from tl_core.runs.baselines import ARM_LABELS, ARM_RECIPES, baseline_for
from tl_core.runs.config import RunConfig
from tl_core.strategies import suggested_lr, transfers


def test_fine_tune_is_compared_with_scratch_at_scratchs_own_rate():
    config = RunConfig(strategy="fine-tune", weights="source", freeze=2, lr=0.03, labels_per_class=7, epochs=9)
    base = baseline_for(config)
    assert (base.strategy, base.weights, base.freeze) == ("scratch", "random", 0)
    assert base.lr == suggested_lr("scratch") != config.lr  # never the main run's rate
    assert (base.labels_per_class, base.epochs, base.batch_size, base.seed) == (7, 9, config.batch_size, config.seed)
    assert base.role == "baseline" and base.arm == "without-transfer" and not transfers(base)


def test_dann_is_compared_with_its_own_recipe_without_the_adversary():
    config = RunConfig(strategy="dann", source="synth-digits", target="digits", lr=suggested_lr("dann"),
                       settings={"gamma": 5.0})
    base = baseline_for(config)
    assert base.strategy == "dann" and base.lr == config.lr and base.settings == {"gamma": 5.0, "domain_weight": 0.0, "domain_bn": False}
    assert base.arm == "without-adaptation" and "domain weight 0" not in ARM_LABELS[base.arm]
    assert "adversarial weight at 0" in ARM_RECIPES[base.arm]


def test_distillation_is_compared_with_the_student_on_its_labels():
    base = baseline_for(RunConfig(strategy="distill", weights="random", settings={"teacher": "t"}))
    assert base.strategy == "scratch" and base.settings == {} and base.arm == "without-teacher"


@pytest.mark.parametrize("config", [RunConfig(strategy="scratch", weights="random"),
                                    RunConfig(strategy="source-only"),
                                    RunConfig(strategy="fine-tune", weights="random")])
def test_runs_that_are_baselines_themselves_get_none(config):
    assert baseline_for(config) is None


def test_in_a_lesson_dann_is_drawn_beside_its_own_seeds_twin():
    from tl_core.lessons import lesson, stage_configs
    from tl_core.runs.baselines import lesson_twin

    configs = stage_configs(lesson("domain-shift"), 0, False, [], seeds=2)
    rows = [{"run_id": f"{c.arm}-{c.seed}", "experiment": "lesson:domain-shift:abc", "arm": c.arm,
             "strategy": c.strategy, "config": c.to_dict()} for c in configs]
    dann_1 = next(r for r in rows if r["run_id"] == "dann-1")
    assert lesson_twin(dann_1, rows) == "without-adaptation-1"
    assert lesson_twin(next(r for r in rows if r["run_id"] == "without-adaptation-1"), rows) is None
    assert lesson_twin(dann_1, [r for r in rows if r["run_id"] != "without-adaptation-1"]) is None


def test_dann_says_why_its_training_loss_sits_above_its_twins(dann_step):
    """The learning curves drew DANN's loss at 0.70 against its twin's 0.03: the domain classifier's loss, near ln 2
    while it cannot tell the domains apart, counts in DANN's and not in the twin's. The chart's caption says so."""
    import math

    import torch
    from torch.nn import functional as F

    from tl_core.strategies import strategy_class

    images = torch.randint(0, 255, (16, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(8)

    def losses(weight: float) -> tuple[float, float]:
        out = dann_step({"domain_weight": weight}, images[:8], labels, images[8:])
        return out.loss.item(), F.cross_entropy(out.logits, labels).item()

    (dann, dann_labels), (twin, twin_labels) = losses(1.0), losses(0.0)
    assert twin == pytest.approx(twin_labels)  # the twin's loss is the labels' alone
    assert dann - dann_labels == pytest.approx(math.log(2), abs=0.1)  # DANN's adds the domain loss, near ln 2
    assert "0.69" in strategy_class("dann").loss_note and strategy_class("fine-tune").loss_note == ""


def test_a_dann_run_set_to_domain_weight_0_gets_no_note_about_a_domain_loss_it_does_not_have():
    from tl_core.runs.config import RunConfig
    from tl_core.strategies import strategy_class

    dann = strategy_class("dann")
    config = RunConfig(strategy="dann", source="synth-digits", target="digits-m")
    assert "0.69" in dann.loss_note_for(config.replace(settings={"domain_weight": 1.0}))
    assert dann.loss_note_for(config.replace(settings={"domain_weight": 0.0})) == ""
    assert strategy_class("distill").loss_note_for(RunConfig(strategy="distill")) != ""
