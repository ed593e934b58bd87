"""The network every strategy trains: a timm backbone (pooled features) and a new linear head."""
from __future__ import annotations

import torch
from torch import nn

from tl_core.backbones import feature_dim

LAYOUT = torch.channels_last  # of every kernel and so of every feature map (TransferModel's docstring says why)


def normalisation(backbone: nn.Module, weights: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and std of the inputs: the published ones for ImageNet weights, else 0.5 (our own training)."""
    cfg = getattr(backbone, "pretrained_cfg", None) or {}
    if weights == "imagenet" and "mean" in cfg:
        return tuple(cfg["mean"]), tuple(cfg["std"])
    return (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)


class TransferModel(nn.Module):
    """`backbone` maps images to penultimate features; `head` maps features to class logits.

    Inputs may be uint8 images (N×3×H×W, 0..255): they are scaled and normalised here with the backbone's
    mean and std, so callers never repeat that step.

    Its convolution kernels are kept channels-last (NHWC), so every feature map is too: on the 2-core CPU, for
    small_cnn at 32 px, a training step of 2 × 64 images runs 1.6× and an evaluation pass 2× faster than in the
    default layout (`python bench/layout.py`; mostly max-pooling and BatchNorm). The values agree with the default
    layout's to float rounding.
    """

    def __init__(self, backbone: nn.Module, num_classes: int, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)):
        super().__init__()
        self.backbone = backbone
        self.feature_dim = feature_dim(backbone)
        self.head = nn.Linear(self.feature_dim, num_classes)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.to(memory_format=LAYOUT)

    def replace_backbone(self, backbone: nn.Module) -> None:
        """Put `backbone` (of the same feature width) in place of this model's, on its device and in its layout: a
        strategy that grows the network (the progressive column) must not leave new layers in the default layout,
        where its step cost 2.5 plain steps instead of 1.4 (`python bench/step_costs.py`)."""
        self.backbone = backbone.to(self.mean.device, memory_format=LAYOUT)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        if images.dtype == torch.uint8:
            return (images.float().div_(255.0) - self.mean) / self.std
        return images

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.backbone(self.normalise(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))
