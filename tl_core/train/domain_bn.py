"""BatchNorm statistics per domain: domain-specific batches (DANN) and AdaBN (Li et al., 2016).

A network trained on the source normalises every unit with the source's mean and variance. When a domain shift
lives in each unit's mean and variance (digits → digits-m: standardising each domain's features on its own
drops a linear domain probe from 0.93 to 0.43–0.56), normalising the target with the *target's* statistics
removes most of it:

- **AdaBN** (Li, Wang, Shi, Liu & Hou, "Revisiting Batch Normalization for Practical Domain Adaptation",
  2016): train on the source, then recompute every BatchNorm's running mean and variance on target images
  (`recompute_statistics`); the weights do not change.
- **Domain-specific batches** (DANN as Ganin et al. train it with a source batch and a target batch): each
  domain goes through the network as its own batch, so in training each is normalised with its own batch
  statistics, and each keeps its own running statistics for evaluation (`DomainStatistics`).

>>> import torch
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
>>> stats = DomainStatistics(net)
>>> with stats.use(net, "target"):
...     _ = net(torch.randn(8, 3, 6, 6) + 5)   # train mode: updates the target's running statistics only
>>> bool(stats.buffers["source"][0][0].abs().max() == 0)   # the source's are untouched
True
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

DOMAINS = ("source", "target")


def batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every BatchNorm layer of `model` that tracks running statistics, in module order."""
    return [m for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


NAMES = ("running_mean", "running_var", "num_batches_tracked")


def _refs(layers) -> list[tuple[torch.Tensor, ...]]:
    return [tuple(getattr(m, name) for name in NAMES) for m in layers]


def _point(layers, buffers) -> None:
    """Make each layer's buffers these tensors (re-pointed, never copied into: a training forward pass keeps its
    running statistics for the backward pass, and an in-place write would invalidate it)."""
    for m, tensors in zip(layers, buffers):
        for name, tensor in zip(NAMES, tensors):
            setattr(m, name, tensor)


class DomainStatistics:
    """One set of BatchNorm running statistics per domain for the same weights. Both start as copies of the
    model's current ones (the source network's). `use(model, domain)` points the layers at that domain's
    statistics for the duration of a block (in train mode the block updates them) and back afterwards."""

    def __init__(self, model: nn.Module, domains: tuple[str, ...] = DOMAINS):
        start = _refs(batch_norms(model))
        self.buffers = {d: [tuple(t.detach().clone() for t in b) for b in start] for d in domains}

    @contextmanager
    def use(self, model: nn.Module, domain: str) -> Iterator[None]:
        layers = batch_norms(model)
        previous = _refs(layers)
        _point(layers, self.buffers[domain])
        try:
            yield
        finally:
            _point(layers, previous)

    def load(self, model: nn.Module, domain: str) -> None:
        """Leave the model with copies of `domain`'s statistics (e.g. the target's, before saving a target model)."""
        _point(batch_norms(model), [tuple(t.clone() for t in b) for b in self.buffers[domain]])


@torch.no_grad()
def recompute_statistics(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> None:
    """AdaBN: replace every BatchNorm's running mean and variance by their average over `images` (uint8 or
    float, through `model.features` when it has one), weights unchanged. The model is left in eval mode."""
    layers = batch_norms(model)
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches below
    model.train()
    encode = getattr(model, "features", model)
    try:
        for i in range(0, len(images), batch_size):
            encode(images[i:i + batch_size])
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        model.eval()
