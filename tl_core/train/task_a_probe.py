"""Forgetting, measured: task A's accuracy (`source_acc`) of a run that started from the network pretrained on A.

Task A's classifier is the pretrained network's own head, kept aside; after every epoch on task B it reads the
features of the backbone as it is now (for a progressive network, its frozen task-A column) on a fixed sample
of A's test images. A run that overwrites A's features sees this accuracy fall.

Part of that fall is bookkeeping, not lost features: training on B replaces every BatchNorm's running statistics
by B's. `with_own_statistics` measures A again on a copy whose statistics are re-estimated on A's training images
(AdaBN's step, weights untouched): what is still lost then is lost in the weights.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from tl_core.analysis import stratified_sample_indices
from tl_core.data import Domain
from tl_core.train.domain_bn import recompute_statistics
from tl_core.train.task import Examples

SAMPLE = 1000  # task-A test images per measurement, and training images that re-estimate A's statistics


class TaskAProbe:
    def __init__(self, source_state: dict[str, torch.Tensor], source: Domain, seed: int, device: torch.device,
                 batch_size: int):
        weight, bias = source_state["head.weight"], source_state["head.bias"]
        # skip_init: measuring must not draw the random numbers the run trains with (dropout, DANN's discriminator)
        self.head = nn.utils.skip_init(nn.Linear, weight.shape[1], weight.shape[0], device=device)
        self.head.load_state_dict({"weight": weight, "bias": bias})
        index = stratified_sample_indices(source.test.labels.numpy(), SAMPLE, seed)
        self.examples = Examples(source.test.images[index].to(device), source.test.labels[index].to(device))
        train_index = stratified_sample_indices(source.train.labels.numpy(), SAMPLE, seed)
        self.train_images = source.train.images[train_index]  # moved to the device only for the one re-estimate
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, model) -> dict[str, float]:
        was_training = model.training
        model.eval()
        accuracy = self._accuracy(model, _task_a_backbone(model))
        model.train(was_training)
        return {"source_acc": accuracy}

    @torch.no_grad()
    def with_own_statistics(self, model) -> float:
        """Task A's accuracy with A's own BatchNorm statistics: the task-A backbone copied, its running statistics
        re-estimated on A's training sample, measured on the same test sample. The model itself is not touched."""
        backbone = copy.deepcopy(_task_a_backbone(model))
        recompute_statistics(backbone, model.normalise(self.train_images.to(self.examples.x.device)),
                             self.batch_size)
        return self._accuracy(model, backbone)

    def _accuracy(self, model, backbone: nn.Module) -> float:
        correct = 0
        for i in range(0, len(self.examples), self.batch_size):
            x = model.normalise(self.examples.x[i:i + self.batch_size])
            correct += (self.head(backbone(x).float()).argmax(1) == self.examples.y[i:i + self.batch_size]).sum().item()
        return correct / len(self.examples)


def _task_a_backbone(model) -> nn.Module:
    return getattr(model.backbone, "task_a_column", model.backbone)
