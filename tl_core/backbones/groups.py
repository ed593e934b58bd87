"""Layer groups — a backbone's stages in input → output order, as timm's `group_matcher(coarse=True)` defines
them — and freezing the first k of them.

Groups are computed over the model's *weights*: its parameters plus the affine weights of BatchNorm layers
that `timm.utils.freeze` already turned into buffers (FrozenBatchNorm2d). So the groups, their module names
and their sizes are the same before and after freezing: a frozen model can still be described, and a
strategy can unfreeze a group with `timm.utils.unfreeze(model, list(group.module_names))`.
"""
import re
from collections.abc import Iterator
from dataclasses import dataclass

import timm
from timm.layers import FrozenBatchNormAct2d
from timm.models import group_parameters
from torch import nn
from torchvision.ops.misc import FrozenBatchNorm2d

from tl_core.errors import ConfigError

_FROZEN_BN = (FrozenBatchNorm2d, FrozenBatchNormAct2d)
_HEAD = "head"  # timm's name for layers its matcher leaves out (pre-logits norm, conv head, hidden linear)


class _NamedWeights:
    """What timm's public `group_parameters` reads (`named_parameters()`), over weights that include the frozen
    BatchNorm buffers, so the groups do not change when a model is frozen."""

    def __init__(self, weights: dict[str, object]):
        self._weights = weights

    def named_parameters(self):
        return iter(self._weights.items())


@dataclass(frozen=True)
class LayerGroup:
    """One group: `module_names` are the modules that hold its weights (pass them to `timm.utils.freeze`);
    `param_names` also lists weights held by the model itself (a ViT's `cls_token`, `pos_embed`)."""

    index: int
    name: str
    module_names: tuple[str, ...]
    param_names: tuple[str, ...]
    param_count: int


def layer_groups(model: nn.Module) -> list[LayerGroup]:
    """Groups from `model.group_matcher(coarse=True)`; top-level children in order for models without one."""
    weights = dict(_named_weights(model))
    matcher = _matcher(model)
    grouped = group_parameters(_NamedWeights(weights), matcher)  # {group id: [weight names]}, ids in input order
    ordered = [param_names for _, param_names in sorted(grouped.items())]
    names = _group_names(matcher, [param_names[0] for param_names in ordered])
    return [
        LayerGroup(
            index=i,
            name=names[i],
            module_names=tuple(dict.fromkeys(n.rpartition(".")[0] for n in param_names if "." in n)),
            param_names=tuple(param_names),
            param_count=sum(weights[n].numel() for n in param_names),
        )
        for i, param_names in enumerate(ordered)
    ]


def freeze_first(model: nn.Module, k: int) -> None:
    """Freeze groups 0..k-1 in place: no gradients, and their BatchNorm layers become FrozenBatchNorm2d, so
    running statistics stay fixed even in train mode. Build the optimizer afterwards."""
    groups = layer_groups(model)
    if not 0 <= k <= len(groups):
        names = ", ".join(f"{g.index}: {g.name}" for g in groups)
        raise ConfigError(f"cannot freeze {k} layer groups: choose 0 to {len(groups)} (groups are {names})")
    frozen = groups[:k]
    modules = [m for g in frozen for m in g.module_names]
    if modules:  # timm.utils.freeze(model, []) would freeze the whole model
        timm.utils.freeze(model, modules)
    for name in (n for g in frozen for n in g.param_names if "." not in n):
        getattr(model, name).requires_grad_(False)


def count_params(model: nn.Module) -> tuple[int, int]:
    """(trainable, frozen) weight counts; the affine weights of frozen BatchNorm layers count as frozen."""
    trainable = frozen = 0
    for _, tensor in _named_weights(model):
        if tensor.requires_grad:
            trainable += tensor.numel()
        else:
            frozen += tensor.numel()
    return trainable, frozen


def _named_weights(model: nn.Module) -> Iterator[tuple[str, nn.Parameter]]:
    """Parameters, plus the weight and bias buffers of frozen BatchNorm layers (which were parameters)."""
    yield from model.named_parameters()
    for module_name, module in model.named_modules():
        if isinstance(module, _FROZEN_BN) and getattr(module, "affine", True):
            yield f"{module_name}.weight", module.weight
            yield f"{module_name}.bias", module.bias


def _matcher(model: nn.Module):
    """timm's coarse matcher; for models without one (a few timm families, plain torch modules) a function
    numbering the top-level children, weights held by the model itself first."""
    if hasattr(model, "group_matcher"):
        return model.group_matcher(coarse=True)
    children = [name for name, _ in model.named_children()]
    return lambda name: children.index(name.split(".")[0]) + 1 if "." in name else 0


def _group_names(matcher, first_weights: list[str]) -> list[str]:
    """Human names from the matcher's keys: 'stem', 'block 1', 'block 2', …; unmatched layers are the 'head'.

    A key that yields several groups ('blocks') is numbered in the singular; one that yields a single group
    keeps its name. `first_weights[i]` (the first weight name of group i) tells which key made the group.
    """
    if not isinstance(matcher, dict):  # a function: name groups after their top-level module
        return [name.split(".")[0] if "." in name else "stem" for name in first_weights]
    keys = [_matching_key(matcher, name) for name in first_weights]
    names, seen = [], {}
    for key in keys:
        if key is None:
            names.append(_HEAD)
        elif keys.count(key) == 1:
            names.append(key)
        else:
            seen[key] = seen.get(key, 0) + 1
            names.append(f"{key.removesuffix('s')} {seen[key]}")
    return names


def _matching_key(matcher: dict, name: str) -> str | None:
    """The first matcher key with a regex matching `name` — the same rule timm applies when grouping."""
    for key, spec in matcher.items():
        if spec is None:
            continue
        patterns = [p for p, _ in spec] if isinstance(spec, (list, tuple)) else [spec]
        if any(re.match(p, name) for p in patterns):
            return key
    return None

