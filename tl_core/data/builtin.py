"""The built-in domains: generated from data that ships with scikit-learn and Pillow, so they work offline.

Each is built once per image size and cached at `data_dir()/builtin/<name>-<img_size>.pt`.
"""
from collections.abc import Callable
from pathlib import Path

from .attribute_shapes import build_attribute_shapes
from .cache import cached
from .digits import build_digits, build_digits_m
from .domain import Domain
from .shapes import build_shapes
from .synth import build_synth_digits

CACHE_VERSION = 2  # bump when a generator changes, so caches built by the old one are rebuilt

BUILTINS: dict[str, tuple[str, Callable[[int], Domain]]] = {
    "digits": ("1,797 real handwritten digits (scikit-learn), 8×8 enlarged, white on black", build_digits),
    "synth-digits": ("12,000 digits rendered from fonts with random shape, colour, blur and noise", build_synth_digits),
    "digits-m": ("the real digits over colour photo patches (MNIST-M style); same labels and splits as digits",
                 build_digits_m),
    "shapes": ("6,000 geometric shapes in 10 classes on noisy colour backgrounds: a task unrelated to digits",
               build_shapes),
    "attribute-shapes": ("3,600 shapes in 12 classes, each a combination of shape, fill and colour (zero-shot "
                         "by attributes)", build_attribute_shapes),
}


def load_builtin(name: str, img_size: int, data_dir: Path) -> Domain:
    _description, build = BUILTINS[name]
    return cached(data_dir / "builtin" / f"{name}-{img_size}.pt", CACHE_VERSION, lambda: build(img_size))
