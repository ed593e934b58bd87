"""Any image array → the one format every domain uses: uint8 N×3×S×S."""
import numpy as np
import torch
import torch.nn.functional as F

_CHUNK = 4096  # images resized at once: bounds the float copy to a few hundred MB at most


def to_rgb_uint8(images: torch.Tensor | np.ndarray, img_size: int) -> torch.Tensor:
    """N×H×W, N×1×H×W or N×3×H×W (uint8, or float in 0..255) → uint8 N×3×S×S; grey is repeated.

    Resizing is bilinear and antialiased, so shrinking does not alias.
    """
    x = torch.as_tensor(images)
    if x.ndim == 3:
        x = x[:, None]
    out = torch.empty((x.shape[0], 3, img_size, img_size), dtype=torch.uint8)
    for start in range(0, x.shape[0], _CHUNK):
        part = x[start : start + _CHUNK]
        if part.shape[-2:] != (img_size, img_size):
            part = F.interpolate(part.float(), size=(img_size, img_size), mode="bilinear", antialias=True)
        if part.is_floating_point():
            part = part.round().clamp(0, 255).to(torch.uint8)
        out[start : start + _CHUNK] = part  # a single channel broadcasts to three
    return out
