from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from tl_core.runs.schema import spec
from tl_core.strategies.base import StepOutput, Strategy
from tl_core.strategies.param_groups import discriminative_param_groups
from tl_core.strategies.registry import register


@dataclass
class FineTuneSettings:
    lr_decay: float = spec(0.6, "Each earlier layer group learns at this fraction of the next one's rate (1: all "
                           "the same).", label="learning-rate decay per layer group", low=0.01, high=1.0)
    head_epochs: int = spec(0, "Two-stage recipe: train only the head for this many epochs first.", low=0, high=500)
    stage2_lr_factor: float = spec(0.1, "After the head-only stage, the whole network continues at this fraction "
                                   "of the learning rate.", low=0.001, high=1.0)


@register("fine-tune")
class FineTune(Strategy):
    """Start from transferred weights, freeze the first K layer groups, train the rest with discriminative rates."""

    summary = "Start from transferred weights, freeze the first layers, and keep training the rest at smaller rates."
    Settings = FineTuneSettings
    needs_pretrained_weights = True

    def __init__(self, settings=None):
        super().__init__(settings)
        self.head_only = self.settings.head_epochs > 0
        self._lr_multiplier = 1.0

    def param_groups(self, model, lr):
        if self.head_only:
            return [{"params": list(model.head.parameters()), "lr": lr, "lr_scale": 1.0}]
        return discriminative_param_groups(model, lr * self._lr_multiplier, self.settings.lr_decay)

    def epoch_started(self, model, epoch):
        if self.head_only and epoch > self.settings.head_epochs:
            self.head_only = False
            self._lr_multiplier = self.settings.stage2_lr_factor
            return True
        return False

    def loss(self, model, batch, progress):
        if not self.head_only:
            return super().loss(model, batch, progress)
        model.backbone.eval()  # stage one: the backbone is a fixed feature extractor, statistics included
        with torch.no_grad():
            features = model.features(batch.x)
        logits = model.head(features)
        return StepOutput(F.cross_entropy(logits, batch.y), logits)
