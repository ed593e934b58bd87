"""Forgetting, measured: task A's accuracy (`source_acc`) of a run that started from the network pretrained on A.

Task A's classifier is the pretrained network's own head, kept aside; after every epoch on task B it reads the
features of the backbone as it is now (for a progressive network, its frozen task-A column) on a fixed sample
of A's test images. A run that overwrites A's features sees this accuracy fall.
"""
from __future__ import annotations

import torch
from torch import nn

from tl_core.analysis import stratified_sample_indices
from tl_core.data import Domain
from tl_core.train.task import Examples

SAMPLE = 1000  # task-A test images per measurement


class TaskAProbe:
    def __init__(self, source_state: dict[str, torch.Tensor], source: Domain, seed: int, device: torch.device,
                 batch_size: int):
        weight, bias = source_state["head.weight"], source_state["head.bias"]
        self.head = nn.Linear(weight.shape[1], weight.shape[0]).to(device)
        self.head.load_state_dict({"weight": weight, "bias": bias})
        index = stratified_sample_indices(source.test.labels.numpy(), SAMPLE, seed)
        self.examples = Examples(source.test.images[index].to(device), source.test.labels[index].to(device))
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, model) -> dict[str, float]:
        backbone = getattr(model.backbone, "task_a_column", model.backbone)
        was_training = model.training
        model.eval()
        correct = 0
        for i in range(0, len(self.examples), self.batch_size):
            x = model.normalise(self.examples.x[i:i + self.batch_size])
            correct += (self.head(backbone(x).float()).argmax(1) == self.examples.y[i:i + self.batch_size]).sum().item()
        model.train(was_training)
        return {"source_acc": correct / len(self.examples)}
