"""Procedural backgrounds shared by `digits-m` and `synth-digits`: smooth colour fields and textures.

Pure seeded functions of (count, img_size, rng); float count×3×S×S in [0, 1].
"""
import numpy as np
import torch
import torch.nn.functional as F

BACKGROUNDS_VERSION = 1  # part of both datasets' input hashes: bump when these change


def _coords(n: int, img_size: int, rng: np.random.Generator) -> torch.Tensor:
    """n×S×S position along a random direction per sample, in [0, 1]."""
    angle = torch.from_numpy(rng.uniform(0, 2 * np.pi, n)).float()
    c = torch.linspace(-1, 1, img_size)
    along = torch.cos(angle)[:, None, None] * c[None, None, :] + torch.sin(angle)[:, None, None] * c[None, :, None]
    return (along + 1.5) / 3


def _unit(t: torch.Tensor) -> torch.Tensor:
    """Each sample's values stretched to [0, 1]."""
    low = t.amin(dim=(-2, -1), keepdim=True)
    high = t.amax(dim=(-2, -1), keepdim=True)
    return (t - low) / (high - low).clamp_min(1e-6)


def _between(t: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """n×3×S×S: each sample's two random colours mixed by its n×S×S weights t."""
    a, b = (torch.from_numpy(rng.uniform(0, 1, (len(t), 3, 1, 1))).float() for _ in range(2))
    return a * (1 - t[:, None]) + b * t[:, None]


def colour_fields(count: int, img_size: int, rng: np.random.Generator) -> torch.Tensor:
    """float count×3×S×S in [0, 1]: a two-colour gradient with a soft blob of a third colour."""
    field = _between(_coords(count, img_size, rng), rng)
    c = torch.linspace(-1, 1, img_size)
    centre = torch.from_numpy(rng.uniform(-1, 1, (count, 2))).float()
    radius = torch.from_numpy(rng.uniform(0.3, 0.9, count)).float()
    dist2 = (c[None, None, :] - centre[:, 0, None, None]) ** 2 + (c[None, :, None] - centre[:, 1, None, None]) ** 2
    blob = torch.exp(-dist2 / (2 * radius[:, None, None] ** 2))[:, None]
    third = torch.from_numpy(rng.uniform(0, 1, (count, 3, 1, 1))).float()
    return field * (1 - blob) + third * blob


def textures(count: int, img_size: int, rng: np.random.Generator) -> torch.Tensor:
    """float count×3×S×S in [0, 1]: coarse and fine noise and stripes, in random proportions, between two colours."""
    coarse = F.interpolate(torch.from_numpy(rng.uniform(size=(count, 1, 5, 5))).float(), size=img_size,
                           mode="bicubic", align_corners=True)[:, 0]
    fine = F.interpolate(torch.from_numpy(rng.uniform(size=(count, 1, img_size // 3, img_size // 3))).float(),
                         size=img_size, mode="bilinear", align_corners=True)[:, 0]
    frequency = torch.from_numpy(rng.uniform(1.5, 6, count)).float()[:, None, None]
    stripes = torch.sin(2 * np.pi * frequency * _coords(count, img_size, rng))
    weights = torch.from_numpy(rng.dirichlet((0.7, 0.7, 0.7), count)).float()[:, :, None, None]
    mix = weights[:, 0] * _unit(coarse) + weights[:, 1] * _unit(fine) + weights[:, 2] * _unit(stripes)
    return _between(_unit(mix), rng)
