"""Gradient reversal and the domain discriminator of DANN.

Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation", ICML 2015. The features θ_f
should help the label classifier and fool the domain classifier θ_d:

    θ_f ← θ_f − μ (∂L_y/∂θ_f − λ ∂L_d/∂θ_f),    θ_d ← θ_d − μ ∂L_d/∂θ_d

One backward pass does both when a layer between the features and the domain classifier is the
identity going forward and multiplies the gradient by −λ going back.

>>> import torch
>>> features = torch.randn(8, 16, requires_grad=True)
>>> discriminator = DomainDiscriminator(16, hidden=32)
>>> domain = torch.tensor([0.0] * 4 + [1.0] * 4)           # 0 = source, 1 = target
>>> logits = discriminator(GradientReversal()(features, 0.5))
>>> loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, domain)
>>> loss.backward()  # the discriminator descends on L_d, the features ascend on 0.5 · L_d
"""
import torch
from torch import nn


class GradientReverse(torch.autograd.Function):
    """y = x going forward; ∂L/∂x = −λ · ∂L/∂y going back. No gradient flows to λ.

    >>> x = torch.ones(3, requires_grad=True)
    >>> GradientReverse.apply(x, 0.3).sum().backward()
    >>> x.grad
    tensor([-0.3000, -0.3000, -0.3000])
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, lambda_: float) -> torch.Tensor:
        ctx.lambda_ = float(lambda_)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad_output * -ctx.lambda_, None


class GradientReversal(nn.Module):
    """Module form of ``GradientReverse``. λ is an argument of every call (use ``dann_lambda(progress)``);
    the layer holds no state and no counter, so evaluation passes never move the schedule.

    >>> GradientReversal()(torch.zeros(2, 4), 1.0).shape
    torch.Size([2, 4])
    """

    def forward(self, x: torch.Tensor, lambda_: float) -> torch.Tensor:
        return GradientReverse.apply(x, lambda_)


class DomainDiscriminator(nn.Sequential):
    """MLP features (N, in_features) → one domain logit per row, shape (N,): `depth` hidden layers of `hidden`
    units, each ReLU then dropout.

    Train it with ``binary_cross_entropy_with_logits`` (numerically stable; never sigmoid + BCE).
    Pass source and target features in one batch so both domains share each step.
    Ganin et al. (JMLR 2016) use two hidden layers of 1024 units (one of 100 for MNIST); 256 do as well for
    small_cnn's 128 features.

    >>> DomainDiscriminator(16, hidden=32)(torch.randn(5, 16)).shape
    torch.Size([5])
    >>> sum(isinstance(m, nn.Linear) for m in DomainDiscriminator(16, hidden=32, depth=3))
    4
    """

    def __init__(self, in_features: int, hidden: int = 256, dropout: float = 0.5, depth: int = 2):
        if depth < 1:
            raise ValueError(f"a discriminator needs at least one hidden layer, not {depth}")
        layers = []
        for width_in in [in_features] + [hidden] * (depth - 1):
            layers += [nn.Linear(width_in, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        super().__init__(*layers, nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return super().forward(features).squeeze(-1)
