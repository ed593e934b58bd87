"""Progressive networks (Rusu et al. 2016): learn task B in a new column, keep task A's column frozen.

Fine-tuning task A's network on task B overwrites what A needed (catastrophic forgetting). A progressive network
never changes column A: it adds a new column for B, of the same shape and from random weights, whose every layer
also reads column A's previous layer through a trainable lateral adapter:

    h_i^B = f( W_i^B h_{i-1}^B + U_i h_{i-1}^A )

so B reuses A's features without being able to alter them, at the price of a network that grows with every
task. Implemented for `small_cnn`, whose layers the laterals connect.
"""
from __future__ import annotations

import torch
from torch import nn

from tl_core.backbones import create_backbone, freeze_first, layer_groups
from tl_core.errors import ConfigError
from tl_core.strategies.base import Strategy
from tl_core.strategies.registry import register


class ProgressiveBackbone(nn.Module):
    """Column A (frozen, `task_a_column`) and column B joined by lateral adapters; returns column B's features."""

    def __init__(self, column_a: nn.Module, column_b: nn.Module):
        super().__init__()
        self.column_a, self.column_b = column_a, column_b
        widths = [column_a.stem[0].out_channels] + [block[0].out_channels for block in column_a.blocks]
        self.laterals = nn.ModuleList([nn.Conv2d(w, w, kernel_size=1) for w in widths[:-1]]
                                      + [nn.Linear(widths[-1], widths[-1])])
        self.num_features, self.head_hidden_size = column_b.num_features, column_b.head_hidden_size

    @property
    def task_a_column(self) -> nn.Module:
        return self.column_a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.column_a, self.column_b
        with torch.no_grad():
            ha = [a.stem(x)]
            for block in a.blocks:
                ha.append(block(ha[-1]))
            pooled_a = a.global_pool(ha[-1])
        hb = b.stem(x)
        for block, lateral, h in zip(b.blocks, self.laterals, ha):
            hb = block(hb + lateral(h))
        return b.pre_logits(b.global_pool(hb) + self.laterals[-1](pooled_a))


@register("progressive")
class Progressive(Strategy):
    summary = ("Progressive network: task A's network stays frozen as column A; a new column learns task B and "
               "reads column A through lateral adapters, so A cannot be forgotten (small_cnn).")
    needs_pretrained_weights = True
    uses_freeze = False
    freeze_note = "A progressive network keeps task A's column frozen whole and trains a new column whole."
    step_images = (1.0, 1.0)  # column B trains; frozen column A only passes the batch forward
    eval_passes = 2.0  # an image is evaluated through column A and column B

    def check_config(self, config) -> None:
        if config.backbone != "small_cnn":
            raise ConfigError(f"progressive joins the layers of small_cnn columns; choose --backbone small_cnn, "
                              f"not {config.backbone}.")

    def effective_config(self, config):
        return config.replace(freeze=0)  # column A is frozen whole, column B trains whole

    def prepare(self, model, task, config):
        column_a = model.backbone
        freeze_first(column_a, len(layer_groups(column_a)))
        column_b = create_backbone(config.backbone, "random", config.img_size)
        model.replace_backbone(ProgressiveBackbone(column_a, column_b))
