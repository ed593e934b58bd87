"""Choose where to train: cuda > mps > cpu, unless the user says otherwise."""
from __future__ import annotations

import os

import torch

from tl_core.errors import ConfigError
from tl_core.runs.config import DEVICE_CHOICES as CHOICES


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()


def pick_device(preference: str = "auto") -> torch.device:
    if preference not in CHOICES:
        raise ConfigError(f"Unknown device '{preference}': choose one of {', '.join(CHOICES)}.")
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA GPU is visible: use --device auto or cpu.")
    if preference == "mps" and not _mps_available():
        raise ConfigError("--device mps was asked for but Apple's MPS is not available: use --device auto or cpu.")
    return torch.device(preference)


def device_name(device: torch.device) -> str:
    """A human name: the GPU's model, or the CPU with its core count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({os.cpu_count()} cores)"


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed precision on CUDA (bf16 where supported, else fp16); full precision elsewhere."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
