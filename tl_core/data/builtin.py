"""The built-in domains: generated from data that ships with scikit-learn and the project's assets, offline.

Each is built once per image size and cached at `data_dir()/builtin/<name>-<img_size>px-<inputs>.pt`, where
<inputs> is a content hash of everything it is made from (source data, fonts, photos, generator version):
change any of them and the dataset is built again, and source networks trained on it no longer match.
"""
import functools
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from .attribute_shapes import build_attribute_shapes
from .cache import cached, content_hash
from .digits import build_digits, build_digits_m, digits_inputs_hash, digits_m_inputs_hash
from .domain import Domain
from .shapes import build_shapes
from .synth import build_fonts_plain, build_synth_digits, plain_inputs_hash
from .synth import inputs_hash as synth_inputs_hash

CACHE_VERSION = 3  # bump when the file format changes


class Builtin(NamedTuple):
    description: str
    build: Callable[[int], Domain]
    inputs_hash: Callable[[], str]


BUILTINS: dict[str, Builtin] = {
    "digits": Builtin("1,797 real handwritten digits (scikit-learn), 8×8 enlarged, white on black", build_digits,
                      digits_inputs_hash),
    "synth-digits": Builtin("12,000 digits rendered from fonts with random shape, colour, blur and noise; 40% over "
                            "digits-m's own texture and colour-field generators, 30% through a low-resolution round "
                            "trip like the 8×8 digits: a task A made to resemble its targets", build_synth_digits,
                            synth_inputs_hash),
    "fonts-plain": Builtin("12,000 digits from the same fonts and warps on plain backgrounds only: nothing of "
                           "digits-m's generators, no low-resolution round trip", build_fonts_plain, plain_inputs_hash),
    "digits-m": Builtin("the real digits over photo crops, textures and colour fields (MNIST-M style); same labels "
                        "and splits as digits", build_digits_m, digits_m_inputs_hash),
    "shapes": Builtin("6,000 geometric shapes in 10 classes on noisy colour backgrounds: a task unrelated to digits",
                      build_shapes, lambda: content_hash("shapes 1")),
    "attribute-shapes": Builtin("3,600 shapes in 12 classes, each a combination of shape, fill and colour "
                                "(zero-shot by attributes)", build_attribute_shapes,
                                lambda: content_hash("attribute-shapes 1")),
}


@functools.cache
def builtin_fingerprint(name: str) -> str:
    """12 hex digits of the content hash of a built-in dataset's inputs (cached: fonts and photos are read once)."""
    return BUILTINS[name].inputs_hash()[:12]


def builtin_cache_path(name: str, img_size: int, data_dir: Path) -> Path:
    return data_dir / "builtin" / f"{name}-{img_size}px-{builtin_fingerprint(name)}.pt"


def load_builtin(name: str, img_size: int, data_dir: Path) -> Domain:
    return cached(builtin_cache_path(name, img_size, data_dir), CACHE_VERSION, lambda: BUILTINS[name].build(img_size))
