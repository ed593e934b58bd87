"""`digits`: sklearn's 1,797 real 8×8 handwritten digits, white on black like MNIST.
`digits-m`: the same digits over colour photo patches (MNIST-M style): same labels, same split indices.
"""
import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_digits, load_sample_images

from .domain import DIGIT_CLASSES, Domain
from .images import to_rgb_uint8
from .splits import split_domain

_PATCH_SIDE = (40, 160)  # crop side in photo pixels: enough texture inside one digit's frame


def _sklearn_digits(img_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    data = load_digits()
    images = torch.from_numpy(data.images).float() * (255 / 16)  # values are 0..16
    return to_rgb_uint8(images, img_size), torch.from_numpy(data.target).long()


def build_digits(img_size: int) -> Domain:
    images, labels = _sklearn_digits(img_size)
    return split_domain("digits", DIGIT_CLASSES, images, labels)


def photo_patches(count: int, img_size: int, seed: int) -> torch.Tensor:
    """uint8 count×3×S×S random square crops of sklearn's two sample photos (china, flower)."""
    photos = [Image.fromarray(a) for a in load_sample_images().images]
    rng = np.random.default_rng(seed)
    out = np.empty((count, img_size, img_size, 3), dtype=np.uint8)
    for i in range(count):
        photo = photos[rng.integers(len(photos))]
        side = int(rng.integers(*_PATCH_SIDE, endpoint=True))
        x, y = int(rng.integers(photo.width - side)), int(rng.integers(photo.height - side))
        out[i] = np.asarray(photo.resize((img_size, img_size), Image.BILINEAR, box=(x, y, x + side, y + side)))
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def build_digits_m(img_size: int, seed: int = 0) -> Domain:
    """out = |patch − digit|: the background keeps the photo, the stroke inverts its colours."""
    digits, labels = _sklearn_digits(img_size)
    patches = photo_patches(len(labels), img_size, seed)
    blended = (patches.short() - digits.short()).abs().to(torch.uint8)
    return split_domain("digits-m", DIGIT_CLASSES, blended, labels)
