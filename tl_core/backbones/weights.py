"""Where a backbone's weights come from: timm's published (ImageNet) weights in the local cache, or a local
file — and loading a state dict into a model with loud, specific errors."""
import os
import pickle
from pathlib import Path

import safetensors.torch
import timm
import torch
from huggingface_hub import try_to_load_from_cache
from safetensors import SafetensorError
from torch import nn

from tl_core.errors import ConfigError, WeightsError

_HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # what timm looks for on the hub, in order
_TORCH_SUFFIXES = (".pt", ".pth", ".bin")


def imagenet_cfg(name: str) -> timm.models.PretrainedCfg:
    """timm's pretrained cfg for `name` (default tag unless the name has one); ConfigError if it has no weights."""
    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None or not cfg.has_weights:
        raise ConfigError(f"timm publishes no ImageNet weights for {name}: use --weights random or file:PATH")
    return cfg


def has_imagenet_weights(name: str) -> bool:
    cfg = timm.models.get_pretrained_cfg(name)
    return cfg is not None and bool(cfg.has_weights)


def cached_imagenet_file(name: str) -> str | None:
    """Path of `name`'s published weights if already downloaded: the Hugging Face cache, or for the few
    weights without a hub id, the torch hub cache.

    Looks only at the disk, so it answers at once with or without a network.
    """
    cfg = imagenet_cfg(name)
    if cfg.hf_hub_id:
        repo_id, _, revision = cfg.hf_hub_id.partition("@")
        for filename in (cfg.hf_hub_filename,) if cfg.hf_hub_filename else _HF_WEIGHT_FILES:
            path = try_to_load_from_cache(repo_id, filename, revision=revision or None)
            if isinstance(path, str):  # it may also be a marker saying "known not to exist"
                return path
    elif cfg.url:  # timm uses the url only when there is no hub id
        path = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(cfg.url))
        if os.path.isfile(path):
            return path
    return None


def read_weights_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A state dict from `.safetensors`, or from `.pt/.pth/.bin` via `torch.load(weights_only=True)`, which
    refuses pickles that would run code. A checkpoint wrapping it under 'state_dict' or 'model' is unwrapped."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    if path.suffix == ".safetensors":
        try:
            return safetensors.torch.load_file(path, device="cpu")
        except SafetensorError as e:
            raise WeightsError(f"cannot read weights file {path}: {e}") from e
    if path.suffix not in _TORCH_SUFFIXES:
        raise WeightsError(f"weights file {path}: expected .safetensors, .pt, .pth or .bin")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise WeightsError(
            f"refused {path}: it holds Python objects beyond tensors, which could run code when loaded "
            f"({_unsafe_global(e)}). Save a plain state dict (model.state_dict()) or use .safetensors"
        ) from e
    except Exception as e:  # torch.load on arbitrary bytes raises KeyError, EOFError, RuntimeError, ...
        raise WeightsError(f"cannot read weights file {path}: {type(e).__name__}: {e}") from e
    for wrapper in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"weights file {path} does not hold a state dict of tensors")
    return obj


def _unsafe_global(error: pickle.UnpicklingError) -> str:
    """The line of torch's long message that names what was refused."""
    lines = [line.strip() for line in str(error).splitlines()]
    return next((line for line in lines if "Unsupported global" in line), lines[0])


def load_state_into(model: nn.Module, state_dict: dict[str, torch.Tensor], origin: str):
    """Load `state_dict` into `model` in place, leniently but never silently wrong.

    A saved full model of ours (keys `backbone.*` and `head.*`) gives its backbone: the prefix is stripped and
    the head ignored. Keys the model lacks are ignored and missing ones keep their values (strict=False), but a
    WeightsError is raised when no key matches at all or when any shape differs. `origin` (a path, a run id)
    names the weights in messages. Returns torch's (missing_keys, unexpected_keys).
    """
    if any(k.startswith("backbone.") for k in state_dict):
        state_dict = {k.removeprefix("backbone."): v for k, v in state_dict.items() if not k.startswith("head.")}
    own = model.state_dict()
    matching = [k for k in state_dict if k in own]
    if not matching:
        raise WeightsError(
            f"weights from {origin} do not fit {type(model).__name__}: no parameter name matches "
            f"(file has e.g. {_sample(state_dict)}; model has e.g. {_sample(own)}). Were they saved from another backbone?"
        )
    mismatched = [f"{k} {tuple(state_dict[k].shape)} vs {tuple(own[k].shape)}"
                  for k in matching if state_dict[k].shape != own[k].shape]
    if mismatched:
        raise WeightsError(
            f"weights from {origin} do not fit the model: {len(mismatched)} shape mismatch(es) (file vs model): "
            f"{'; '.join(mismatched[:5])}. Use the backbone and image size they were saved with"
        )
    return model.load_state_dict(state_dict, strict=False)


def _sample(keys, n: int = 3) -> str:
    return ", ".join(list(keys)[:n])
