"""`attribute-shapes`: twelve classes, each one combination of three attributes a person can see —
shape (circle, square, triangle), fill (filled, outline) and colour (red, blue).

It exists for the zero-shot lesson: a class is fully described by its attributes, so a network that learned to
see each attribute on some classes can name a class it never saw from its attribute signature alone.
"""
import math

import numpy as np
import torch
from PIL import Image, ImageDraw

from .domain import Domain
from .images import to_rgb_uint8
from .shapes import _polygon
from .splits import split_domain

SHAPES = ("circle", "square", "triangle")
FILLS = ("filled", "outline")
COLOURS = ("red", "blue")
ATTRIBUTES = {"shape": SHAPES, "fill": FILLS, "colour": COLOURS}
SIGNATURES = tuple((colour, fill, shape) for shape in SHAPES for fill in FILLS for colour in COLOURS)
CLASSES = tuple(" ".join(signature) for signature in SIGNATURES)  # "red filled circle", …
_RES = 64
_HUES = {"red": ((190, 255), (0, 70), (0, 70)), "blue": ((0, 60), (60, 150), (190, 255))}


def _draw(draw: ImageDraw.ImageDraw, shape: str, filled: bool, r: float, angle: float, cx: float, cy: float,
          colour: tuple, width: int) -> None:
    fill, outline = (colour, None) if filled else (None, colour)
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill, outline=outline, width=width)
    else:
        points = _polygon(4 if shape == "square" else 3, r, angle, cx, cy)
        draw.polygon(points, fill=fill, outline=outline, width=width)


def render_attribute_shapes(labels: np.ndarray, img_size: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    images = np.empty((len(labels), _RES, _RES, 3), dtype=np.uint8)
    for i, label in enumerate(labels):
        colour_name, fill, shape = SIGNATURES[label]
        background = tuple(int(c) for c in rng.integers(0, 120, 3))
        image = Image.new("RGB", (_RES, _RES), background)
        colour = tuple(int(rng.integers(low, high + 1)) for low, high in _HUES[colour_name])
        r = rng.uniform(0.2, 0.4) * _RES
        cx, cy = rng.uniform(r, _RES - r, 2)
        _draw(ImageDraw.Draw(image), shape, fill == "filled", r, rng.uniform(0, 2 * math.pi), cx, cy, colour,
              int(rng.integers(4, 8)))
        noise = rng.normal(0, rng.uniform(4, 16), (_RES, _RES, 3))
        images[i] = np.clip(np.asarray(image, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return to_rgb_uint8(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), img_size)


def build_attribute_shapes(img_size: int, count: int = 3_600, seed: int = 0) -> Domain:
    labels = np.arange(count) % len(CLASSES)
    images = render_attribute_shapes(labels, img_size, seed)
    return split_domain("attribute-shapes", CLASSES, images, torch.from_numpy(labels).long())
