"""Choose where to train (cuda > mps > cpu, unless the user says otherwise) and in what precision."""
from __future__ import annotations

import functools
import os

import torch

from tl_core.errors import ConfigError
from tl_core.machine.cpu_precision import bf16_is_faster_here
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


PRECISION_NAMES = {torch.bfloat16: "bf16", torch.float16: "fp16"}


def device_name(device: torch.device) -> str:
    """A human name: the GPU's model, or the CPU with its core count; and the precision it trains in."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    elif device.type == "mps":
        name = "Apple GPU (MPS)"
    else:
        name = f"CPU ({os.cpu_count()} cores)"
    dtype = autocast_dtype(device)
    return f"{name}, {PRECISION_NAMES[dtype]} mixed precision" if dtype else name


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX-512 BF16 or AMX); elsewhere bf16 would be emulated, and
    slower. Asked once: every step's autocast asks."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's own checks
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed precision where it pays: CUDA (bf16 where supported, else fp16), and a CPU with bf16 instructions
    where bf16 was timed faster than fp32 on this boot (`cpu_precision`); full precision elsewhere, and everywhere
    with TL_FULL_PRECISION=1. Under autocast the weights, the optimiser and the losses stay fp32; convolutions and
    matrix products run in the low dtype."""
    if os.environ.get("TL_FULL_PRECISION") == "1":
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_has_native_bf16() and bf16_is_faster_here():
        return torch.bfloat16
    return None


def mixed_precision(device: torch.device, enabled: bool = True) -> torch.autocast:
    """The autocast every training step and evaluation pass runs under (off where `autocast_dtype` says fp32)."""
    dtype = autocast_dtype(device) if enabled else None
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)
