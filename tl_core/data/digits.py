"""`digits`: sklearn's 1,797 real 8×8 handwritten digits, white on black like MNIST.
`digits-m`: the same digits over varied colour backgrounds (MNIST-M style): same labels, same split indices.

digits-m's backgrounds are, a third each, crops of scikit-learn's two sample photos, smooth colour fields
(a gradient between two colours with a third colour's blob) and textures (noise at two scales and stripes,
between two colours): two photos alone repeat the same few textures.
"""
import functools

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_digits, load_sample_images

from .backgrounds import BACKGROUNDS_VERSION, colour_fields, textures
from .cache import content_hash
from .domain import DIGIT_CLASSES, Domain
from .images import to_rgb_uint8
from .splits import split_domain

GENERATOR_VERSION = 2  # bump when either builder changes
_PATCH_SIDE = (40, 160)  # crop side in photo pixels: enough texture inside one digit's frame


@functools.cache
def _photos() -> tuple[np.ndarray, ...]:
    return tuple(load_sample_images().images)


def _digits_bytes() -> tuple[bytes, bytes]:
    data = load_digits()
    return data.images.tobytes(), data.target.tobytes()


def digits_inputs_hash() -> str:
    return content_hash(f"digits {GENERATOR_VERSION}", *_digits_bytes())


def digits_m_inputs_hash() -> str:
    return content_hash(f"digits-m {GENERATOR_VERSION} {BACKGROUNDS_VERSION}", *_digits_bytes(),
                        *(p.tobytes() for p in _photos()))


def _sklearn_digits(img_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    data = load_digits()
    images = torch.from_numpy(data.images).float() * (255 / 16)  # values are 0..16
    return to_rgb_uint8(images, img_size), torch.from_numpy(data.target).long()


def build_digits(img_size: int) -> Domain:
    images, labels = _sklearn_digits(img_size)
    return split_domain("digits", DIGIT_CLASSES, images, labels)


def photo_patches(count: int, img_size: int, rng: np.random.Generator) -> torch.Tensor:
    """uint8 count×3×S×S random square crops of sklearn's two sample photos (china, flower)."""
    photos = [Image.fromarray(a) for a in _photos()]
    out = np.empty((count, img_size, img_size, 3), dtype=np.uint8)
    for i in range(count):
        photo = photos[rng.integers(len(photos))]
        side = int(rng.integers(*_PATCH_SIDE, endpoint=True))
        x, y = int(rng.integers(photo.width - side)), int(rng.integers(photo.height - side))
        out[i] = np.asarray(photo.resize((img_size, img_size), Image.BILINEAR, box=(x, y, x + side, y + side)))
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def backgrounds(count: int, img_size: int, seed: int) -> torch.Tensor:
    """uint8 count×3×S×S: photo crops, colour fields and textures, a third each, in a seeded random order."""
    rng = np.random.default_rng(seed)
    kind = rng.permutation(np.arange(count) % 3)
    out = torch.empty((count, 3, img_size, img_size), dtype=torch.uint8)
    out[kind == 0] = photo_patches(int((kind == 0).sum()), img_size, rng)
    for k, make in ((1, colour_fields), (2, textures)):
        out[kind == k] = (make(int((kind == k).sum()), img_size, rng) * 255).round().clamp(0, 255).to(torch.uint8)
    return out


def build_digits_m(img_size: int, seed: int = 0) -> Domain:
    """out = |background − digit|: the background shows where the digit is not, the stroke inverts its colours."""
    digits, labels = _sklearn_digits(img_size)
    blended = (backgrounds(len(labels), img_size, seed).short() - digits.short()).abs().to(torch.uint8)
    return split_domain("digits-m", DIGIT_CLASSES, blended, labels)
