"""BatchNorm statistics per domain (tl_core.train.domain_bn): DANN's domain-specific batches, AdaBN, and the
permutation no-shift band of the domain-confusion probe."""
import numpy as np
import pytest
import torch
from torch import nn

from tl_core.analysis import domain_confusion, permutation_null_band
from tl_core.train.domain_bn import DomainStatistics, batch_norms, recompute_statistics


def _conv_bn(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))


# --- AdaBN ----------------------------------------------------------------------------------------------------


def test_adabn_undoes_an_affine_shift_of_the_inputs():
    """conv is linear, so a brightness/contrast shift of the inputs is a per-channel affine shift before
    BatchNorm: the statistics recomputed on the shifted images normalise it away exactly."""
    net = _conv_bn()
    images = torch.randn(64, 3, 8, 8)
    shifted = 2.0 * images + 3.0
    recompute_statistics(net, images)
    expected = net(images)
    assert not torch.allclose(net(shifted), expected, atol=1e-2)  # the source statistics do not fit the target
    recompute_statistics(net, shifted)
    assert torch.allclose(net(shifted), expected, atol=1e-3)
    assert not net.training


def test_adabn_changes_statistics_only():
    net = _conv_bn()
    weights = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k and "num_batches" not in k}
    recompute_statistics(net, torch.randn(32, 3, 8, 8) + 1)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in weights.items())
    assert batch_norms(net)[0].momentum == 0.1  # restored after the cumulative average


# --- domain-specific statistics -------------------------------------------------------------------------------


def test_each_domain_keeps_its_own_running_statistics():
    net = _conv_bn()
    stats = DomainStatistics(net)
    with stats.use(net, "target"):
        net(torch.randn(16, 3, 6, 6) + 5)
    with stats.use(net, "source"):
        net(torch.randn(16, 3, 6, 6))
    target_mean, source_mean = stats.buffers["target"][0][0], stats.buffers["source"][0][0]
    assert not torch.allclose(target_mean, source_mean)
    assert torch.equal(batch_norms(net)[0].running_mean, torch.zeros(4))  # outside a block: untouched
    stats.load(net, "target")
    assert torch.equal(batch_norms(net)[0].running_mean, target_mean)


def test_domain_specific_batches_normalise_the_source_without_the_target(dann_step):
    """With domain_bn, the source half of a step is normalised by source statistics alone: what the target batch
    holds does not change the source predictions. Sharing one batch (the default) mixes them."""
    g = torch.Generator().manual_seed(2)
    dark = torch.randint(0, 60, (8, 3, 16, 16), dtype=torch.uint8, generator=g)
    bright = torch.randint(190, 255, (8, 3, 16, 16), dtype=torch.uint8, generator=g)
    source = torch.randint(0, 255, (8, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))

    def source_logits(domain_bn: bool, target: torch.Tensor) -> torch.Tensor:
        return dann_step({"domain_bn": domain_bn}, source, torch.zeros(8, dtype=torch.long), target).logits

    assert torch.allclose(source_logits(True, dark), source_logits(True, bright))
    assert not torch.allclose(source_logits(False, dark), source_logits(False, bright))


@pytest.mark.slow
def test_a_domain_bn_run_saves_the_target_statistics_and_its_baseline_shares_one(tiny, runs_dir):
    from tl_core.records.run_dir import RunDir
    from tl_core.runs.baselines import baseline_for
    from tl_core.runs.runner import run_config

    config = tiny.replace(strategy="dann", labels_per_class=None, epochs=1, snapshot_size=60,
                          settings={"domain_bn": True})
    summary = run_config(config, runs_dir)
    assert summary["status"] == "finished", summary["reason"]
    state = RunDir(runs_dir / summary["run_id"]).load_weights()
    assert 0.0 <= summary["domain_confusion_acc"] <= 1.0
    first_bn = next(k for k in state if k.endswith("running_mean"))
    assert state[first_bn].abs().sum() > 0
    assert baseline_for(config).settings["domain_bn"] is False and baseline_for(config).settings["domain_weight"] == 0


# --- the permutation no-shift band ----------------------------------------------------------------------------


@pytest.mark.slow
def test_permutation_band_brackets_chance_on_one_distribution_and_a_shift_lands_above_it():
    rng = np.random.default_rng(0)
    same_a, same_b = rng.standard_normal((80, 6)), rng.standard_normal((80, 6))
    band = permutation_null_band(same_a, same_b, draws=40, seed=1, folds=3)
    assert band.low < 0.5 < band.high and band.high - band.low < 0.3
    assert (band.n_per_domain, band.repeats) == (80, 40)
    assert band.low <= domain_confusion(same_a, same_b, folds=3).acc <= band.high
    shifted = same_b + 0.8
    assert domain_confusion(same_a, shifted, folds=3).acc > permutation_null_band(same_a, shifted, draws=40,
                                                                                   seed=1, folds=3).high
    assert permutation_null_band(same_a, same_b, draws=40, seed=1, folds=3) == band  # seeded


def test_permutation_band_uses_percentiles_not_the_extreme_draws(monkeypatch):
    import importlib

    module = importlib.import_module("tl_core.analysis.domain_confusion")

    accs = iter(np.linspace(0.40, 0.60, 200))
    monkeypatch.setattr(module, "domain_confusion",
                        lambda *a, **k: module.DomainConfusion(next(accs), 0.0, 0.0))
    band = module.permutation_null_band(np.zeros((10, 2)), np.ones((10, 2)), draws=200)
    assert band.low == pytest.approx(0.405) and band.high == pytest.approx(0.595)  # not the extremes 0.40, 0.60


def test_permutation_band_refuses_too_few_rows():
    with pytest.raises(ValueError, match="rows per domain"):
        permutation_null_band(np.zeros((1, 3)), np.zeros((5, 3)))
