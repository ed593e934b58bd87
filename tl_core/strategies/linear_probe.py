from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from tl_core.backbones import freeze_first, layer_groups
from tl_core.runs.schema import spec
from tl_core.strategies.base import StepOutput, Strategy
from tl_core.strategies.registry import register
from tl_core.train.task import encode


@dataclass
class LinearProbeSettings:
    cache_features: bool = spec(True, "Compute the frozen backbone's features once instead of every epoch.")


@register("linear-probe")
class LinearProbe(Strategy):
    """Feature extraction: the backbone is frozen whole and only a new linear head trains.

    With `cache_features` the backbone runs once over every split and the loop then trains the head on
    feature vectors, which is what makes a probe take seconds. The head sees standardised features (the
    labelled set's mean and spread), as a scikit-learn probe would, so it converges whatever the backbone's
    feature scale; `finish` folds that scaling into the head's weights, so the saved model needs no extra layer.
    """

    summary = "Feature extraction: freeze the whole backbone and train only a new linear head."
    label = "linear probe"
    Settings = LinearProbeSettings
    needs_pretrained_weights = True
    uses_freeze = False
    freeze_note = "A linear probe freezes the whole backbone: only the new head trains."
    trains_backbone = False
    step_images = (0.0, 0.0)  # a step trains the head alone, on features computed once
    encodes_once = True

    def __init__(self, settings=None):
        super().__init__(settings)
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None

    def prepare(self, model, task, config):
        freeze_first(model.backbone, len(layer_groups(model.backbone)))
        model.backbone.eval()
        labelled = encode(model, task.labelled, config.batch_size * 4)
        self.mean = labelled.x.mean(0)
        self.std = labelled.x.std(0, unbiased=False).clamp_min(1e-6)
        if self.settings.cache_features:
            task.labelled = labelled
            task.val = encode(model, task.val, config.batch_size * 4)
            task.test = encode(model, task.test, config.batch_size * 4)
            task.input_is_features = True

    def param_groups(self, model, lr):
        return [{"params": list(model.head.parameters()), "lr": lr, "lr_scale": 1.0}]

    def _standardised_features(self, model, x):
        if x.dtype == torch.uint8:
            model.backbone.eval()
            with torch.no_grad():
                x = model.features(x)
        return (x.float() - self.mean) / self.std if self.mean is not None else x

    def loss(self, model, batch, progress):
        logits = model.head(self._standardised_features(model, batch.x))
        return StepOutput(F.cross_entropy(logits, batch.y), logits)

    def predict(self, model, x):
        return model.head(self._standardised_features(model, x))

    @torch.no_grad()
    def finish(self, model):
        """head(W, b) on (f − μ)/σ  ==  head(W/σ, b − (W/σ)·μ) on f."""
        if self.mean is None:
            return
        weight = model.head.weight / self.std
        model.head.bias -= weight @ self.mean
        model.head.weight.copy_(weight)
        self.mean = self.std = None
