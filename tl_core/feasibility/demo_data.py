"""Small generated ImageFolder datasets (offline, seeded) for tests, benchmarks and a "try it" button.

    write_shapes_folder(root, num_classes=4, per_class=20)    # circles, squares, ... in random colours
    write_digits_folder(root, per_class=50)                   # sklearn's real handwritten digits, 10 classes
    zip_folder(root) -> bytes                                  # what a user would upload
"""
from __future__ import annotations

import io
import math
import os
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "cross", "ring", "diamond", "hbar", "vbar", "x", "dot")


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, colour, width: int) -> None:
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=colour)
    elif shape == "cross":
        draw.rectangle((cx - r, cy - width, cx + r, cy + width), fill=colour)
        draw.rectangle((cx - width, cy - r, cx + width, cy + r), fill=colour)
    elif shape == "ring":
        draw.ellipse(box, outline=colour, width=width)
    elif shape == "diamond":
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=colour)
    elif shape == "hbar":
        draw.rectangle((cx - r, cy - width, cx + r, cy + width), fill=colour)
    elif shape == "vbar":
        draw.rectangle((cx - width, cy - r, cx + width, cy + r), fill=colour)
    elif shape == "x":
        draw.line((cx - r, cy - r, cx + r, cy + r), fill=colour, width=width)
        draw.line((cx - r, cy + r, cx + r, cy - r), fill=colour, width=width)
    else:  # dot
        draw.ellipse((cx - r / 3, cy - r / 3, cx + r / 3, cy + r / 3), fill=colour)


def shape_image(shape: str, img_size: int, rng: np.random.Generator) -> Image.Image:
    """One RGB image: a shape of random size, position and colour on a random dark background."""
    background = tuple(int(v) for v in rng.integers(0, 90, 3))
    image = Image.new("RGB", (img_size, img_size), background)
    r = img_size * rng.uniform(0.22, 0.4)
    cx, cy = (img_size / 2 + rng.uniform(-0.12, 0.12, 2) * img_size)
    colour = tuple(int(v) for v in rng.integers(140, 256, 3))
    _draw_shape(ImageDraw.Draw(image), shape, cx, cy, r, colour, max(1, math.ceil(img_size / 14)))
    noise = rng.normal(0, 8, (img_size, img_size, 3))
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8))


def write_shapes_folder(root: str | os.PathLike, num_classes: int = 4, per_class: int = 20, img_size: int = 32,
                        seed: int = 0) -> Path:
    """`root/<shape>/<i>.png`, `per_class` images for each of the first `num_classes` shapes."""
    if not 1 <= num_classes <= len(SHAPES):
        raise ValueError(f"num_classes must be 1..{len(SHAPES)}")
    root = Path(root)
    rng = np.random.default_rng(seed)
    for shape in SHAPES[:num_classes]:
        (root / shape).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            shape_image(shape, img_size, rng).save(root / shape / f"{i:03d}.png")
    return root


def write_digits_folder(root: str | os.PathLike, per_class: int = 50, img_size: int = 32, seed: int = 0) -> Path:
    """`root/<digit>/<i>.png` from sklearn's 1,797 real 8×8 handwritten digits (upscaled), up to ~178 a class."""
    from sklearn.datasets import load_digits  # sklearn's datasets load only when the demo folder is written

    data = load_digits()
    rng = np.random.default_rng(seed)
    root = Path(root)
    for digit in range(10):
        (root / str(digit)).mkdir(parents=True, exist_ok=True)
        picks = rng.permutation(np.flatnonzero(data.target == digit))[:per_class]
        for i, index in enumerate(picks):
            pixels = (data.images[index] * (255 / 16)).astype(np.uint8)
            image = Image.fromarray(pixels).resize((img_size, img_size), Image.BILINEAR)
            image.save(root / str(digit) / f"{i:03d}.png")
    return root


def zip_folder(root: str | os.PathLike, prefix: str = "") -> bytes:
    """The folder as zip bytes, entries named `prefix + relative path` (e.g. prefix 'mydata/')."""
    root = Path(root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(root).as_posix())
    return buffer.getvalue()
