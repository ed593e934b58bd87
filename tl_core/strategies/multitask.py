"""Multitask learning: one shared backbone, one head per task, both tasks trained together (Caruana 1997).

Every step sees a batch of the label-poor target task and a batch of the data-rich source task in one forward
pass; the shared layers get the gradients of both:

    L = L_target + w · L_source

so the target task borrows the features the source task's many labels shape. Target accuracy is read from the
target's own head.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from tl_core.runs.schema import spec
from tl_core.strategies.base import StepOutput, Strategy
from tl_core.strategies.registry import register
from tl_core.train.task import Examples


@dataclass
class MultitaskSettings:
    source_weight: float = spec(1.0, "w: the source task's loss weight (0: the target task alone).", low=0.0,
                                high=100.0)


@register("multitask")
class Multitask(Strategy):
    summary = ("Multitask: one shared network with a head per task learns the label-poor target and the labelled "
               "source together; source_weight weighs the source task's loss.")
    Settings = MultitaskSettings
    needs_source_labels = True
    step_images = (2.0, 0.0)  # the target batch and a source batch of the same size, in one forward pass

    def prepare(self, model, task, config):
        super().prepare(model, task, config)
        device = task.labelled.y.device
        self.source = Examples.of(task.source.train, device)
        self.generator = torch.Generator().manual_seed(config.seed)
        model.source_head = nn.Linear(model.feature_dim, task.source.num_classes).to(device)
        self._reset()

    def _reset(self) -> None:
        self._source_correct, self._source_seen = 0, 0

    def epoch_started(self, model, epoch):
        self._reset()
        return False

    def loss(self, model, batch, progress):
        idx = torch.randint(len(self.source), (len(batch.x),), generator=self.generator).to(self.source.y.device)
        features = model.features(torch.cat([batch.x, self.source.x[idx]]))
        n = len(batch.x)
        logits, source_logits = model.head(features[:n]), model.source_head(features[n:])
        source_y = self.source.y[idx]
        self._source_correct += (source_logits.argmax(1) == source_y).sum()  # a tensor: no GPU sync per step
        self._source_seen += n
        loss = F.cross_entropy(logits, batch.y) + self.settings.source_weight * F.cross_entropy(source_logits, source_y)
        return StepOutput(loss, logits)

    def epoch_metrics(self):
        return {"source_train_acc": float(self._source_correct) / self._source_seen} if self._source_seen else {}
