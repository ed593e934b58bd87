"""Schedules match their formulas; gradient reversal is the identity forward and exactly −λ backward; the
domain discriminator is as deep as DANN's settings say."""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from tl_core.backbones import create_backbone
from tl_core.networks.model import TransferModel
from tl_core.strategies import build_strategy
from tl_core.train.grl import DomainDiscriminator, GradientReversal, GradientReverse
from tl_core.train.schedules import (
    constant_factor,
    cosine_factor,
    dann_lambda,
    dann_lr_factor,
    discriminative_lr_scales,
    warmup_cosine_factor,
)


def test_dann_lambda_formula():
    assert dann_lambda(0.0) == 0.0
    assert dann_lambda(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert dann_lambda(1.0) == pytest.approx(0.99991, abs=1e-5)
    assert dann_lambda(1.0) == pytest.approx(2 / (1 + math.exp(-10)) - 1, rel=1e-12)


def test_dann_lr_factor_formula():
    assert dann_lr_factor(0.0) == 1.0
    assert dann_lr_factor(0.5) == pytest.approx(6**-0.75)
    assert dann_lr_factor(1.0) == pytest.approx(11**-0.75)


def test_progress_is_clipped_and_nan_rejected():
    assert dann_lambda(-0.3) == 0.0 and dann_lambda(7.0) == dann_lambda(1.0)
    assert dann_lr_factor(2.0) == dann_lr_factor(1.0)
    with pytest.raises(ValueError):
        dann_lambda(float("nan"))


def test_cosine_warmup_and_constant():
    assert constant_factor(0.3) == 1.0
    assert cosine_factor(0.0) == 1.0 and cosine_factor(0.5) == pytest.approx(0.5)
    assert cosine_factor(1.0, final=0.1) == pytest.approx(0.1)
    assert warmup_cosine_factor(0.0) == 0.0
    assert warmup_cosine_factor(0.025, warmup=0.05) == pytest.approx(0.5)
    assert warmup_cosine_factor(0.05, warmup=0.05) == pytest.approx(1.0)
    assert warmup_cosine_factor(1.0, warmup=0.05) == pytest.approx(0.0)


def test_discriminative_lr_scales():
    assert discriminative_lr_scales(3, 0.3) == pytest.approx([0.09, 0.3, 1.0])
    assert discriminative_lr_scales(1, 0.5) == [1.0]
    assert discriminative_lr_scales(4, 1.0) == [1.0, 1.0, 1.0, 1.0]
    with pytest.raises(ValueError):
        discriminative_lr_scales(0, 0.5)
    with pytest.raises(ValueError):
        discriminative_lr_scales(3, 0.0)


@pytest.mark.parametrize("lambda_", [0.3, 1.0])
def test_gradient_reversal_is_identity_forward_and_minus_lambda_backward(lambda_):
    torch.manual_seed(0)
    x = torch.randn(4, 5, requires_grad=True)
    upstream = torch.randn(4, 5)
    y = GradientReversal()(x, lambda_)
    assert torch.equal(y, x)
    (grad,) = torch.autograd.grad(y, x, grad_outputs=upstream)
    assert torch.equal(grad, upstream * -lambda_)
    (grad_fn,) = torch.autograd.grad(GradientReverse.apply(x, lambda_), x, grad_outputs=upstream)
    assert torch.equal(grad_fn, grad)


def test_gradient_reversal_holds_no_state():
    layer = GradientReversal()
    x = torch.ones(2, 3, requires_grad=True)
    for _ in range(3):
        layer(x, 0.5)
    (grad,) = torch.autograd.grad(layer(x, 0.5).sum(), x)
    assert torch.equal(grad, torch.full((2, 3), -0.5))
    assert list(layer.parameters()) == [] and list(layer.buffers()) == []


def test_domain_discriminator_outputs_one_logit_per_row():
    torch.manual_seed(0)
    discriminator = DomainDiscriminator(16, hidden=8)
    features = torch.randn(6, 16, requires_grad=True)
    logits = discriminator(GradientReversal()(features, 1.0))
    assert logits.shape == (6,)
    F.binary_cross_entropy_with_logits(logits, torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])).backward()
    assert features.grad is not None and all(p.grad is not None for p in discriminator.parameters())


def test_the_discriminator_has_as_many_hidden_layers_as_its_depth():
    for depth in (1, 2, 3):
        discriminator = DomainDiscriminator(16, hidden=8, dropout=0.0, depth=depth)
        linears = [m for m in discriminator if isinstance(m, torch.nn.Linear)]
        assert [m.out_features for m in linears] == [8] * depth + [1]
        assert discriminator(torch.randn(4, 16)).shape == (4,)


def test_dann_builds_the_discriminator_its_settings_name():
    model = TransferModel(create_backbone("small_cnn", "random", 16), 4)
    config = SimpleNamespace(freeze=0)
    for depth in (1, 3):
        build_strategy("dann", {"depth": depth, "hidden": 8}).prepare(model, None, config)
        linears = [m for m in model.domain_head if isinstance(m, torch.nn.Linear)]
        assert [m.out_features for m in linears] == [8] * depth + [1]
