"""`shapes`: ten geometric shapes on textured backgrounds — a source task unrelated to digits.

It exists for the negative-transfer lesson: features learned for circles and stars help little with
handwriting, and freezing most of them can do worse than training from scratch.
"""
import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from .domain import Domain
from .images import to_rgb_uint8
from .splits import split_domain

CLASSES = ("circle", "ring", "square", "frame", "triangle", "diamond", "cross", "star", "hexagon", "bars")
_RES = 64  # drawn at this size, then resized to the working resolution


def _polygon(sides: int, radius: float, angle: float, cx: float, cy: float, star: bool = False) -> list[tuple]:
    points = []
    count = sides * 2 if star else sides
    for i in range(count):
        r = radius * (0.45 if star and i % 2 else 1.0)
        a = angle + 2 * math.pi * i / count
        points.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return points


def _draw(draw: ImageDraw.ImageDraw, shape: str, r: float, angle: float, cx: float, cy: float, fill, width: int):
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif shape == "ring":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=fill, width=width)
    elif shape in ("square", "frame", "diamond"):
        turn = angle + (math.pi / 4 if shape != "diamond" else 0.0)
        points = _polygon(4, r, turn, cx, cy)
        if shape == "frame":
            draw.polygon(points, outline=fill, width=width)
        else:
            draw.polygon(points, fill=fill)
    elif shape == "triangle":
        draw.polygon(_polygon(3, r, angle, cx, cy), fill=fill)
    elif shape == "hexagon":
        draw.polygon(_polygon(6, r, angle, cx, cy), fill=fill)
    elif shape == "star":
        draw.polygon(_polygon(5, r, angle, cx, cy, star=True), fill=fill)
    elif shape == "cross":
        for a in (angle, angle + math.pi / 2):
            dx, dy = r * math.cos(a), r * math.sin(a)
            draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=fill, width=width)
    elif shape == "bars":
        for offset in (-0.5, 0.0, 0.5):
            ox, oy = offset * r * math.cos(angle + math.pi / 2), offset * r * math.sin(angle + math.pi / 2)
            dx, dy = r * math.cos(angle), r * math.sin(angle)
            draw.line((cx + ox - dx, cy + oy - dy, cx + ox + dx, cy + oy + dy), fill=fill, width=max(2, width // 2))


def render_shapes(labels: np.ndarray, img_size: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    images = np.empty((len(labels), _RES, _RES, 3), dtype=np.uint8)
    for i, label in enumerate(labels):
        background = rng.integers(0, 256, 3)
        foreground = (background + rng.integers(90, 166, 3)) % 256
        image = Image.new("RGB", (_RES, _RES), tuple(int(c) for c in background))
        draw = ImageDraw.Draw(image)
        r = rng.uniform(0.22, 0.42) * _RES
        cx, cy = rng.uniform(r, _RES - r, 2) if r < _RES / 2 else (_RES / 2, _RES / 2)
        _draw(draw, CLASSES[label], r, rng.uniform(0, 2 * math.pi), cx, cy, tuple(int(c) for c in foreground),
              int(rng.integers(4, 9)))
        noise = rng.normal(0, rng.uniform(4, 20), (_RES, _RES, 3))
        images[i] = np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return to_rgb_uint8(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), img_size)


def build_shapes(img_size: int, count: int = 6_000, seed: int = 0) -> Domain:
    labels = np.arange(count) % len(CLASSES)
    images = render_shapes(labels, img_size, seed)
    return split_domain("shapes", CLASSES, images, torch.from_numpy(labels).long())
