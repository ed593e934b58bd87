from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from tl_core.backbones import freeze_first, layer_groups
from tl_core.strategies.base import StepOutput, Strategy
from tl_core.strategies.registry import register
from tl_core.train.task import Examples, encode


@dataclass
class LinearProbeSettings:
    cache_features: bool = True  # compute the frozen backbone's features once instead of every epoch


@register("linear-probe")
class LinearProbe(Strategy):
    """Feature extraction: the backbone is frozen whole and only a new linear head trains.

    With `cache_features` the backbone runs once over every split and the loop then trains the head on
    feature vectors, which is what makes a probe take seconds.
    """

    summary = "Feature extraction: freeze the whole backbone and train only a new linear head."
    Settings = LinearProbeSettings
    needs_pretrained_weights = True

    def prepare(self, model, task, config):
        freeze_first(model.backbone, len(layer_groups(model.backbone)))
        model.backbone.eval()
        if self.settings.cache_features:
            task.labelled = encode(model, task.labelled, config.batch_size * 4)
            task.val = encode(model, task.val, config.batch_size * 4)
            task.test = encode(model, task.test, config.batch_size * 4)
            task.input_is_features = True

    def param_groups(self, model, lr):
        return [{"params": list(model.head.parameters()), "lr": lr, "lr_scale": 1.0}]

    def _features(self, model, x):
        if x.dtype != torch.uint8:
            return x
        model.backbone.eval()
        with torch.no_grad():
            return model.features(x)

    def loss(self, model, batch, progress):
        logits = model.head(self._features(model, batch.x))
        return StepOutput(F.cross_entropy(logits, batch.y), logits)

    def predict(self, model, x):
        return model.head(self._features(model, x))
