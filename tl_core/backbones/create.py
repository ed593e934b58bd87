"""`create_backbone`: any timm model as a feature extractor (`num_classes=0`), with random, ImageNet or file weights.

    model = create_backbone("resnet18", weights="imagenet", img_size=32)
    features = model(images)            # (B, feature_dim(model)) pooled pre-logits features

The architecture depends only on the name and the image size, never on the weights, so weights saved from
one run always fit a backbone rebuilt with the same name and size.
"""
import difflib

import timm
import torch
from torch import nn

from tl_core.backbones import small_cnn  # noqa: F401  (registers "small_cnn" with timm)
from tl_core.backbones.weights import cached_imagenet_file, load_state_into, read_weights_file
from tl_core.errors import ConfigError, OfflineError
from tl_core.machine.network import is_online

# Fewest patches per side a ViT-like model gets at small inputs: at 32 px a 16 px patch leaves a 2×2 grid,
# so the patch shrinks to img_size // 8 (timm resamples pretrained patch and position embeddings to fit).
MIN_PATCHES_PER_SIDE = 8


def create_backbone(name: str, weights: str = "random", img_size: int = 32) -> nn.Module:
    """A timm model returning pooled features of width `feature_dim(model)` for `img_size` px RGB inputs.

    weights: "random"; "imagenet" (timm's published weights for the name's default or given tag: read from
    the local cache, downloaded when online, OfflineError at once when neither); "file:PATH" (a
    .safetensors or .pt/.pth state dict, see `read_weights_file`). `weights="source"` is resolved by
    `tl_core.networks.pretrain`. The model is returned in train mode.
    """
    check_name(name)
    if not isinstance(img_size, int) or img_size < 1:
        raise ConfigError(f"img_size must be a positive number of pixels, got {img_size!r}")
    arch = _architecture_kwargs(name, img_size)
    if weights == "random":
        model = _build(name, img_size, arch)
    elif weights == "imagenet":
        model = _build(name, img_size, {**arch, **_imagenet_kwargs(name)})
    elif weights.startswith("file:") and len(weights) > len("file:"):
        path = weights.removeprefix("file:")
        model = _build(name, img_size, arch)
        load_state_into(model, read_weights_file(path), origin=path)
    else:
        raise ConfigError(f"weights must be 'random', 'imagenet' or 'file:PATH', got {weights!r}")
    _check_forward(model, name, img_size)
    return model


def feature_dim(model: nn.Module) -> int:
    """Width of the pooled features a `num_classes=0` timm model returns.

    Usually `num_features`, but models with a hidden head layer (MobileNetV3: 576 channels → 1024) return
    timm's `head_hidden_size`.
    """
    return getattr(model, "head_hidden_size", model.num_features)


def check_name(name: str) -> None:
    """ConfigError unless timm knows `name` (an architecture, optionally with a valid `.tag`)."""
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=5, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "`python -m tl_core backbones` lists some"
        raise ConfigError(f"unknown backbone {name!r}: {hint}")
    try:
        timm.models.get_pretrained_cfg(name)
    except RuntimeError:  # a known architecture with an unknown tag
        arch = timm.models.get_arch_name(name)
        tags = ", ".join(timm.list_pretrained(f"{arch}.*")) or "none"
        raise ConfigError(f"unknown weights tag in {name!r}: timm has {tags}") from None


def _architecture_kwargs(name: str, img_size: int) -> dict:
    """`img_size` for models whose size is fixed at construction (timm's `fixed_input_size`, e.g. ViTs),
    plus a smaller `patch_size` when the default patch would leave fewer than MIN_PATCHES_PER_SIDE."""
    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None or not cfg.fixed_input_size:
        return {}
    kwargs = {"img_size": img_size}
    with torch.device("meta"):  # the architecture alone: no memory, no initialisation
        probe = _build(name, img_size, kwargs)
    patch_size = getattr(getattr(probe, "patch_embed", None), "patch_size", None)
    if patch_size and img_size // patch_size[0] < MIN_PATCHES_PER_SIDE:
        kwargs["patch_size"] = max(1, img_size // MIN_PATCHES_PER_SIDE)
    return kwargs


def _imagenet_kwargs(name: str) -> dict:
    """Load from the local cache when the weights are there (no network at all), else download with timm —
    unless offline, where timm's hub client would retry for ~46 s before failing."""
    path = cached_imagenet_file(name)
    if path:
        return {"pretrained": True, "pretrained_cfg_overlay": {"file": path}}
    if not is_online():
        raise OfflineError(
            f"ImageNet weights for {name} are not cached and this machine is offline: "
            "connect once to download them, or use --weights source / file:PATH"
        )
    return {"pretrained": True}


def _build(name: str, img_size: int, kwargs: dict) -> nn.Module:
    try:
        return timm.create_model(name, num_classes=0, **kwargs)
    except OSError as e:  # a download that failed half-way, an unreadable cache entry
        raise OfflineError(f"could not get the ImageNet weights for {name}: {e}") from e
    except (TypeError, ValueError, AssertionError, RuntimeError) as e:
        raise ConfigError(f"timm cannot build {name} for {img_size} px inputs: {e}") from e


def _check_forward(model: nn.Module, name: str, img_size: int) -> None:
    """One image through the model, so a size it cannot handle fails here with a clear message."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, 3, img_size, img_size))
    except (RuntimeError, AssertionError, ValueError) as e:
        raise ConfigError(f"{name} does not work on {img_size} px inputs ({e}): try a larger image size") from e
    finally:
        model.train(was_training)
    if out.shape != (1, feature_dim(model)):
        raise ConfigError(f"{name} returns {tuple(out.shape)} per image, not pooled features: it cannot be a backbone here")
