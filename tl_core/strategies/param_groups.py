"""Optimizer parameter groups from the backbone's own layer groups (for discriminative learning rates)."""
from __future__ import annotations

from torch import nn

from tl_core.backbones import layer_groups
from tl_core.train.schedules import discriminative_lr_scales


def parameters_by_layer_group(backbone: nn.Module) -> list[list[nn.Parameter]]:
    """Each layer group's parameters, input side first (timm's own grouping, by parameter name)."""
    params = dict(backbone.named_parameters())
    return [[params[name] for name in group.param_names if name in params] for group in layer_groups(backbone)]


def discriminative_param_groups(model: nn.Module, lr: float, decay: float) -> list[dict]:
    """Head at `lr`; backbone group i (of n) at `lr * decay**(n - i)`; frozen parameters left out."""
    backbone_groups = parameters_by_layer_group(model.backbone)
    scales = discriminative_lr_scales(len(backbone_groups) + 1, decay)
    groups = []
    for params, scale in zip(backbone_groups + [list(model.head.parameters())], scales):
        trainable = [p for p in params if p.requires_grad]
        if trainable:
            groups.append({"params": trainable, "lr": lr * scale, "lr_scale": scale})
    return groups
