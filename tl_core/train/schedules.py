"""Schedules: pure functions of training progress ``p`` in [0, 1] (0 = first step, 1 = last step).

Each function clips ``p`` into [0, 1] and returns a multiplier; the loop multiplies the base value
(the learning rate μ0, or the adversarial weight) by it. No state, no step counters.

>>> round(dann_lambda(0.5), 4), round(dann_lr_factor(1.0), 4)
(0.9866, 0.1656)
"""
import math


def _progress(p: float) -> float:
    p = float(p)
    if math.isnan(p):
        raise ValueError("training progress p is NaN")
    return min(max(p, 0.0), 1.0)


def dann_lambda(p: float, gamma: float = 10.0) -> float:
    """Adversarial weight λ_p = 2 / (1 + exp(-γ·p)) − 1, rising from 0 to ≈1.

    Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation", ICML 2015 (γ = 10):
    the domain classifier's noisy early gradients are damped while the features are still random.
    λ(0) = 0, λ(0.5) ≈ 0.987, λ(1) ≈ 0.99991.
    """
    return 2.0 / (1.0 + math.exp(-gamma * _progress(p))) - 1.0


def dann_lr_factor(p: float, alpha: float = 10.0, beta: float = 0.75) -> float:
    """Learning-rate factor 1 / (1 + α·p)^β, so μ_p = μ0 · factor (Ganin & Lempitsky 2015: α = 10, β = 0.75).

    Falls from 1 at p = 0 to 11^-0.75 ≈ 0.166 at p = 1 with the defaults.
    """
    return 1.0 / (1.0 + alpha * _progress(p)) ** beta


def constant_factor(p: float) -> float:
    """Learning-rate factor 1 for every p (plain SGD/Adam with a fixed rate)."""
    _progress(p)
    return 1.0


def cosine_factor(p: float, final: float = 0.0) -> float:
    """Cosine decay final + (1 − final) · (1 + cos(π·p)) / 2: 1 at p = 0, ``final`` at p = 1.

    Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017 (one cycle, no restart).
    """
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * _progress(p)))


def warmup_cosine_factor(p: float, warmup: float = 0.05, final: float = 0.0) -> float:
    """Linear warm-up from 0 to 1 over the first ``warmup`` fraction of training, then ``cosine_factor``.

    Useful when fine-tuning a pretrained backbone: the new head's first large gradients do not wreck
    the pretrained weights.
    """
    if not 0.0 <= warmup < 1.0:
        raise ValueError(f"warmup must be a fraction in [0, 1), got {warmup}")
    p = _progress(p)
    if p < warmup:
        return p / warmup
    return cosine_factor((p - warmup) / (1.0 - warmup), final)


def discriminative_lr_scales(num_groups: int, decay: float) -> list[float]:
    """Per-group learning-rate scales for discriminative fine-tuning, input side first.

    The last group (the head) gets 1.0 and each earlier group ``decay`` times the next:
    scale_i = decay^(num_groups − 1 − i). Early layers hold generic features and move least
    (Howard & Ruder, "Universal Language Model Fine-tuning", ACL 2018).

    >>> discriminative_lr_scales(3, 0.5)
    [0.25, 0.5, 1.0]
    """
    if num_groups < 1:
        raise ValueError(f"num_groups must be at least 1, got {num_groups}")
    if not decay > 0.0:
        raise ValueError(f"decay must be positive, got {decay}")
    return [decay ** (num_groups - 1 - i) for i in range(num_groups)]
