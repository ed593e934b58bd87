"""`synth-digits`: 0–9 rendered from the fonts shipped in assets/fonts with random shape, colour, blur and noise.

Only the shipped fonts are used, never the machine's: the dataset is byte-identical on every machine, and
`inputs_hash` (fonts and generator version) keys its cache and the source networks trained on it.

Each (font, digit, stroke width) glyph is rendered once with Pillow; every sample then warps one glyph with
its own affine transform, all samples at once with `grid_sample`, and is coloured, blurred and noised
in batches. Mostly light digits on dark backgrounds that fill most of the frame, like sklearn's digits,
so a model trained here transfers to `digits`; a share of the samples are drawn MNIST-M style over a
procedural texture or colour field (`backgrounds`; never the photos `digits-m` also uses), the stroke
inverting the background's colours, so the features learned here also carry over to `digits-m`.
So synth-digits is built to resemble its targets: the textures and colour fields are digits-m's own generators
with the same compositing, and the low-resolution round trip imitates the 8×8 digits.

`fonts-plain` is the same fonts and warps with none of that: plain or gradient backgrounds only, no textures or
colour fields, no low-resolution round trip. It is the source that shares nothing with `digits-m` but the digits
themselves, to measure how much of the transfer to digits-m comes from the source resembling it.
"""
import functools
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from .backgrounds import BACKGROUNDS_VERSION, colour_fields, textures
from .cache import content_hash
from .domain import DIGIT_CLASSES, Domain
from .splits import split_domain

FONT_DIR = Path(__file__).resolve().parents[2] / "assets" / "fonts"
GENERATOR_VERSION = 4  # bump when the rendering changes
TEXTURED = 0.4  # share of samples over a texture or colour field
STROKES = (0, 2, 4)  # stroke widths in pixels at _FONT_PX; wider fills the holes of bold fonts
_FONT_PX = 80
_CHUNK = 1024
_LUMA = np.array([0.299, 0.587, 0.114])
_LOW_RES = (None, 0.25, 0.375, 0.5)  # fraction of img_size a sample is shrunk to and enlarged back from
_LOW_RES_P = (0.7, 0.1, 0.1, 0.1)
_WOBBLE = 0.08  # largest standard deviation of the displacement field, in glyph half-widths


def font_files() -> list[Path]:
    return sorted(FONT_DIR.glob("*.ttf"))


def fonts() -> list[ImageFont.FreeTypeFont]:
    return [ImageFont.truetype(str(path), _FONT_PX) for path in font_files()]


def inputs_hash() -> str:
    """Content hash of everything the images are made from: the generator version and every font's bytes."""
    return content_hash(f"synth-digits {GENERATOR_VERSION} {BACKGROUNDS_VERSION}", *font_files())


def plain_inputs_hash() -> str:
    return content_hash(f"fonts-plain {GENERATOR_VERSION}", *font_files())


def _glyph(font: ImageFont.FreeTypeFont, text: str, stroke: int, res: int) -> np.ndarray | None:
    """The ink of `text`, cropped tight, centred in a square as tall as the ink, res×res uint8."""
    canvas = Image.new("L", (2 * _FONT_PX, 2 * _FONT_PX))
    ImageDraw.Draw(canvas).text((_FONT_PX, _FONT_PX), text, fill=255, font=font, anchor="mm",
                                stroke_width=stroke, stroke_fill=255)
    box = canvas.getbbox()
    if box is None:
        return None
    ink = canvas.crop(box)
    side = max(ink.size)
    square = Image.new("L", (side, side))
    square.paste(ink, ((side - ink.width) // 2, (side - ink.height) // 2))
    return np.asarray(square.resize((res, res), Image.BILINEAR))


@functools.lru_cache(maxsize=2)
def glyph_bank(res: int) -> torch.Tensor:
    """uint8 F×10×len(STROKES)×res×res, shared: do not modify. Fonts without real digits are left out."""
    bank = []
    for font in fonts():
        glyphs = [[_glyph(font, d, s, res) for s in STROKES] for d in DIGIT_CLASSES]
        plain = [g[0] for g in glyphs]
        if any(g is None for g in plain) or len({g.tobytes() for g in plain}) < len(plain):
            continue
        bank.append(np.stack([np.stack(g) for g in glyphs]))
    return torch.from_numpy(np.stack(bank))


def _inverse_affines(rng: np.random.Generator, n: int) -> torch.Tensor:
    """n×2×3 `affine_grid` matrices (output → glyph coordinates) of random scale, aspect, shear, rotation, shift."""
    height = rng.uniform(0.7, 0.97, n)
    width = height * rng.uniform(0.75, 1.15, n)
    shear = rng.uniform(-0.25, 0.25, n)
    angle = np.radians(rng.uniform(-12, 12, n))
    shift = rng.uniform(-0.1, 0.1, (n, 2))
    cos, sin = np.cos(angle), np.sin(angle)
    rot = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    shear_m = np.stack([np.stack([np.ones(n), shear], -1), np.stack([np.zeros(n), np.ones(n)], -1)], -2)
    forward = rot @ shear_m @ (np.eye(2) * np.stack([width, height], -1)[:, None, :])
    inverse = np.linalg.inv(forward)
    return torch.from_numpy(np.concatenate([inverse, -inverse @ shift[..., None]], -1)).float()


def _colours(rng: np.random.Generator, n: int, low: float, high: float, grey: np.ndarray) -> np.ndarray:
    """n×3 colours whose luminance is uniform in [low, high] (so contrast is guaranteed); grey where `grey`.

    The tint is a random direction of zero luminance, scaled to stay inside [0, 1].
    """
    lum = rng.uniform(low, high, (n, 1))
    tint = rng.standard_normal((n, 3))
    tint -= tint @ _LUMA[:, None]  # zero luminance, because the weights sum to 1
    room = np.minimum(lum, 1 - lum) / np.abs(tint).max(1, keepdims=True)
    saturation = np.where(grey, 0.0, rng.uniform(0.3, 1.0, n))[:, None]
    return lum + tint * room * saturation


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(2 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def render(labels: torch.Tensor, img_size: int, seed: int, textured_share: float = TEXTURED,
           low_res_p: tuple[float, ...] = _LOW_RES_P) -> torch.Tensor:
    """uint8 N×3×S×S images of the given digit labels; `textured_share` of them over a texture or colour field,
    `low_res_p` the chances of each `_LOW_RES` round trip (the defaults make synth-digits)."""
    res = min(2 * img_size, 128)
    bank = glyph_bank(res).float() / 255
    rng = np.random.default_rng(seed)
    n = len(labels)
    font = torch.from_numpy(rng.integers(bank.shape[0], size=n))
    low_res = rng.choice(len(_LOW_RES), size=n, p=low_res_p)
    # Shrunk samples get the widest stroke and no extra blur: thin or blurred strokes would vanish.
    stroke = torch.from_numpy(np.where(low_res > 0, len(STROKES) - 1, rng.integers(len(STROKES), size=n)))
    theta = _inverse_affines(rng, n)
    # A smooth random displacement per sample (a 4×4 field, enlarged) makes strokes wobble like handwriting.
    wobble = rng.standard_normal((n, 2, 4, 4)) * rng.uniform(0, _WOBBLE, (n, 1, 1, 1))
    grey = rng.uniform(size=n) < 0.4
    fg = _colours(rng, n, 0.6, 1.0, grey)
    bg = _colours(rng, n, 0.0, 0.35, grey)
    inverted = rng.uniform(size=n) < 0.2  # dark on light for one sample in five
    fg[inverted], bg[inverted] = bg[inverted], fg[inverted].copy()
    params = {
        "fg": fg,
        "bg": bg,
        "gradient": rng.uniform(-0.25, 0.25, (n, 2)),  # background brightness slope across the frame
        "blur": np.where(low_res > 0, 0.0, rng.uniform(0, 1, n) ** 2),  # blend weight of a blurred copy
        "low_res": low_res,
        "wobble": wobble,
        "noise": rng.uniform(0, 0.06, n),
    }
    textured = rng.uniform(size=n) < textured_share
    fields = rng.uniform(size=n) < 0.5
    back = torch.zeros((n, 3, img_size, img_size))
    for kind, make in ((textured & fields, colour_fields), (textured & ~fields, textures)):
        if kind.any():
            back[torch.from_numpy(kind)] = make(int(kind.sum()), img_size, rng)
    out = torch.empty((n, 3, img_size, img_size), dtype=torch.uint8)
    for start in range(0, n, _CHUNK):
        sl = slice(start, min(start + _CHUNK, n))
        chunk = {k: torch.from_numpy(v[sl]).float() for k, v in params.items()}
        glyphs = bank[font[sl], labels[sl], stroke[sl]][:, None]
        grid = _affine_grid(theta[sl], 2 * img_size)
        grid += F.interpolate(chunk["wobble"], size=2 * img_size, mode="bicubic", align_corners=True).permute(0, 2, 3, 1)
        mask = F.avg_pool2d(F.grid_sample(glyphs, grid, align_corners=False), 2)  # render at 2× then shrink
        mask = _soften(mask, chunk)
        img = _paint(mask, chunk)
        over = torch.from_numpy(textured[sl])
        img[over] = (back[sl][over] - mask[over]).abs()  # MNIST-M style: the stroke inverts the background
        img += torch.from_numpy(rng.standard_normal(img.shape, dtype=np.float32)) * chunk["noise"][:, None, None, None]
        out[sl] = (img * 255).round().clamp(0, 255).to(torch.uint8)
    return out


def _paint(mask: torch.Tensor, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """Foreground colour where the glyph is, a background with a linear brightness gradient elsewhere."""
    coords = torch.linspace(-1, 1, mask.shape[-1])
    g = p["gradient"][:, :, None, None]
    shade = 1 + g[:, 0] * coords[None, None, :] + g[:, 1] * coords[None, :, None]
    back = p["bg"][:, :, None, None] * shade[:, None]
    return back * (1 - mask) + p["fg"][:, :, None, None] * mask


def _soften(mask: torch.Tensor, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """Blur, or a low-resolution round trip (how an 8×8 sklearn digit looks enlarged), on the N×1×S×S mask.

    Done on the mask rather than the painted image: a third of the work, and the same result because
    the background is linear across the frame.
    """
    size = mask.shape[-1]
    w = p["blur"][:, None, None, None]
    mask = mask * (1 - w) + _blur(mask, _gaussian_kernel(max(0.5, size / 32))) * w
    for i, frac in enumerate(_LOW_RES[1:], start=1):
        idx = (p["low_res"] == i).nonzero().flatten()
        small = F.interpolate(mask[idx], size=max(4, round(frac * size)), mode="bilinear", antialias=True)
        mask[idx] = F.interpolate(small, size=size, mode="bilinear")
    return mask


def _blur(mask: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of N×1×H×W, edges replicated (as sums of shifted copies: faster than conv2d)."""
    r, h, w = len(kernel) // 2, mask.shape[-2], mask.shape[-1]
    x = F.pad(mask, (r, r, r, r), mode="replicate")
    x = sum(k * x[..., i : i + w] for i, k in enumerate(kernel.tolist()))
    return sum(k * x[..., i : i + h, :] for i, k in enumerate(kernel.tolist()))


def _affine_grid(theta: torch.Tensor, size: int) -> torch.Tensor:
    """`F.affine_grid(theta, [N, 1, size, size], align_corners=False)` as outer sums (about twice as fast)."""
    c = (torch.arange(size, dtype=torch.float32) * 2 + 1) / size - 1  # pixel centres
    grid = torch.empty((theta.shape[0], size, size, 2))
    for k in range(2):
        along_x = theta[:, k, 0, None] * c
        along_y = theta[:, k, 1, None] * c + theta[:, k, 2, None]
        torch.add(along_x[:, None, :], along_y[:, :, None], out=grid[..., k])
    return grid


def build_synth_digits(img_size: int, count: int = 12_000, seed: int = 0) -> Domain:
    """`count` images, balanced over the ten digits, in a seeded random order."""
    rng = np.random.default_rng(seed)
    labels = torch.from_numpy(rng.permutation(np.arange(count) % 10))
    return split_domain("synth-digits", DIGIT_CLASSES, render(labels, img_size, seed + 1), labels)


def build_fonts_plain(img_size: int, count: int = 12_000, seed: int = 0) -> Domain:
    """synth-digits' fonts and warps on plain or gradient backgrounds only (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    labels = torch.from_numpy(rng.permutation(np.arange(count) % 10))
    images = render(labels, img_size, seed + 1, textured_share=0.0, low_res_p=(1.0, 0.0, 0.0, 0.0))
    return split_domain("fonts-plain", DIGIT_CLASSES, images, labels)
