"""The backbones the lab offers first (and all a browser may name), and what the UI and the CLI show about any
backbone."""
import functools
import os
from dataclasses import dataclass

import timm

from tl_core.backbones.create import create_backbone, feature_dim
from tl_core.backbones.groups import LayerGroup, layer_groups
from tl_core.backbones.weights import cached_imagenet_file, has_imagenet_weights
from tl_core.errors import ConfigError
from tl_core.runs.config import config_schema

# The lab's default first, then small to large; all train on a CPU at 32 px. small_cnn and small_cnn_tiny (its
# quarter-width student for distillation) are ours (no published weights), the rest are timm's.
CURATED = (
    "small_cnn",
    "small_cnn_tiny",
    "resnet18",
    "mobilenetv3_small_100",
    "efficientnet_b0",
    "convnext_atto",
    "vit_tiny_patch16_224",
)
ANY_BACKBONE_ENV = "TL_ALLOW_ANY_BACKBONE"  # "1": a browser may name any timm model (the CLI always may)


@dataclass(frozen=True)
class BackboneInfo:
    name: str
    num_features: int  # width of the pooled features the backbone returns (`feature_dim`)
    param_count: int
    groups: tuple[LayerGroup, ...]
    default_img_size: int  # the size its published weights were trained at
    has_imagenet: bool  # timm publishes weights for it
    imagenet_cached: bool  # ... and they are on this disk
    offline_ok: bool  # every weights choice it offers works without the internet


def check_offered(name: str) -> None:
    """ConfigError unless a browser may name backbone `name`: the curated ones, or any timm model when the
    server's administrator set TL_ALLOW_ANY_BACKBONE=1 (one link must not make the server build a 7 GB model)."""
    if name in CURATED:
        return
    if os.environ.get(ANY_BACKBONE_ENV) != "1":
        raise ConfigError(f"Backbone '{name}' is not offered on this server: choose one of {', '.join(CURATED)} "
                          f"(the administrator can allow any timm model with {ANY_BACKBONE_ENV}=1).")
    if not isinstance(name, str) or not timm.is_model(name):
        raise ConfigError(f"Unknown backbone '{name}': give a timm model name (timm.list_models() lists them).")


def describe_backbone(name: str, img_size: int = 32) -> BackboneInfo:
    """Facts about `name` at `img_size`, from a randomly initialised model built once per (name, size);
    the cache check is redone on every call, since weights get downloaded while the app runs. A size outside
    RunConfig's range is refused before anything is built (the model's forward pass grows with its square)."""
    config_schema()["img_size"].check(img_size)
    num_features, param_count, groups, default_img_size = _describe_architecture(name, img_size)
    has_imagenet = has_imagenet_weights(name)
    cached = has_imagenet and cached_imagenet_file(name) is not None
    return BackboneInfo(
        name=name,
        num_features=num_features,
        param_count=param_count,
        groups=groups,
        default_img_size=default_img_size,
        has_imagenet=has_imagenet,
        imagenet_cached=cached,
        offline_ok=cached or not has_imagenet,
    )


def list_backbones(pattern: str | None = None) -> list[str]:
    """The curated names, or every timm name matching a wildcard `pattern` (e.g. 'resnet*')."""
    return list(CURATED) if pattern is None else timm.list_models(pattern)


@functools.lru_cache(maxsize=64)
def _describe_architecture(name: str, img_size: int) -> tuple[int, int, tuple[LayerGroup, ...], int]:
    model = create_backbone(name, weights="random", img_size=img_size)
    cfg = timm.models.get_pretrained_cfg(name)
    default_img_size = cfg.input_size[-1] if cfg else img_size
    groups = tuple(layer_groups(model))
    return feature_dim(model), sum(g.param_count for g in groups), groups, default_img_size
