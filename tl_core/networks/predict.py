"""One image through a finished run's network: class probabilities and backbone features from its saved weights
(nothing trains)."""
from __future__ import annotations

import base64
import binascii
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tl_core.backbones import create_backbone
from tl_core.data.folder import load_image
from tl_core.errors import UserError
from tl_core.networks.model import TransferModel, normalisation
from tl_core.records.run_dir import RunDir


def load_run_model(run_dir: str | os.PathLike) -> tuple[TransferModel, tuple[str, ...], int]:
    """(the run's network in eval mode on the CPU, its class names, its image size)."""
    run = RunDir(Path(run_dir))
    if not run.weights_path.exists():
        raise UserError(f"Run {run.run_id} saved no weights (it did not finish): pick a finished run.")
    config = run.read_config()
    classes = tuple((run.read_json("evaluation.json") or {}).get("classes") or ())
    state = run.load_weights()
    num_classes = state["head.weight"].shape[0]
    backbone = create_backbone(config.backbone, "random", config.img_size)
    model = TransferModel(backbone, num_classes, *normalisation(backbone, config.weights))
    model.load_state_dict({k: v for k, v in state.items() if k.startswith(("backbone.", "head."))})
    return model.eval(), classes or tuple(str(i) for i in range(num_classes)), config.img_size


def image_tensor(image: bytes, img_size: int, invert: bool = False) -> torch.Tensor:
    """An image file's bytes as the runs see images: uint8 1×3×S×S, upright, centre-cropped and resized."""
    try:
        pixels = load_image(io.BytesIO(image), img_size)
    except (OSError, ValueError) as err:
        raise UserError(f"That file cannot be read as an image ({err}): use a PNG or JPEG.") from err
    if invert:
        pixels = 255 - pixels
    return torch.from_numpy(np.array(pixels)).permute(2, 0, 1)[None]


PNG_DATA_URL = "data:image/png;base64,"
MAX_DRAWING_PIXELS = 1024 * 1024  # the canvas is 280×280 (tl_ui/draw_canvas.py); a scaled-up one still fits


def png_from_data_url(data_url: str) -> bytes:
    """The PNG file a drawing canvas sent as a `data:image/png;base64,…` URL."""
    problem = "The drawing could not be read{}: press Clear and draw again."
    if not isinstance(data_url, str) or not data_url.startswith(PNG_DATA_URL):
        raise UserError(problem.format(" (it is not a PNG data URL)"))
    try:
        png = base64.b64decode(data_url[len(PNG_DATA_URL):], validate=True)
    except (binascii.Error, ValueError) as err:
        raise UserError(problem.format(f" ({err})")) from err
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise UserError(problem.format(" (its bytes are not a PNG file)"))
    try:
        with Image.open(io.BytesIO(png), formats=("PNG",)) as image:  # reads the header only
            width, height = image.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise UserError(problem.format(f" ({err})")) from err
    if width * height > MAX_DRAWING_PIXELS:  # a few KB of PNG can declare 40 MP: refused before decoding
        raise UserError(problem.format(f" (it declares {width}×{height} pixels; a drawing has at most "
                                       f"{MAX_DRAWING_PIXELS:,})"))
    return png


@dataclass(frozen=True)
class ImageReading:
    """What a run's network makes of one image: class → probability, and its backbone features (the layer the
    run's feature snapshots hold, so the image can be placed on their maps)."""

    probabilities: dict[str, float]
    features: np.ndarray  # (D,) float32


@torch.no_grad()
def read_image(run_dir: str | os.PathLike, image: bytes, invert: bool = False) -> ImageReading:
    """One image file through the run's saved network, as its test images went through it."""
    model, classes, img_size = load_run_model(run_dir)
    features = model.features(image_tensor(image, img_size, invert)).float()
    probabilities = torch.softmax(model.head(features).float(), dim=1)[0]
    return ImageReading({name: float(p) for name, p in zip(classes, probabilities)}, features[0].numpy())
