"""`folder:PATH`: your own images, one sub-folder per class (the sub-folder's name is the class name)."""
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from tl_core.runs.plain_text import unsafe_character

from ..errors import DatasetError
from .domain import Domain
from .image_files import MAX_FILES, MIN_PER_CLASS, TooManyFiles, open_image, refusal, too_many_pixels, walk_files
from .splits import split_domain


def scan_image_folder(path: str | os.PathLike, should_stop: Callable[[], bool] | None = None,
                      max_files: int = MAX_FILES) -> tuple[list[str], list[tuple[Path, int]], list[tuple[Path, str]]]:
    """(class names, [(image file, class index)], [(skipped path, reason)]), all in sorted order.

    Classes are the `class_folders` that hold at least one image (searched recursively, links not followed);
    a file counts as an image when it has an image extension, is within the pixel cap and Pillow can open
    and verify it. Raises DatasetError when `path` is not a folder, holds more than `max_files` files or has
    fewer than two classes; ScanStopped when `should_stop()` turns true.
    """
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder: give a folder with one sub-folder of images per class")
    classes: list[str] = []
    items: list[tuple[Path, int]] = []
    skipped: list[tuple[Path, str]] = []
    skipped += [(p, "not inside a class folder") for p in sorted(root.iterdir()) if p.is_file() and not _ignored(p)]
    skipped += [(p, "a link (links are not followed)") for p in sorted(root.iterdir())
                if p.is_symlink() and p.is_dir() and not _ignored(p)]
    folders = class_folders(root)
    for entry in folders:  # a class name ends up in tables, reports and charts: plain text only
        unsafe = unsafe_character(entry.name)
        if unsafe:
            raise DatasetError(f"The class folder {entry.name!r} has a control character ({unsafe}: a newline, tab, "
                               "direction override or similar) in its name: rename it to plain text")
    seen = 0
    for entry in folders:
        images = []
        try:
            files = list(walk_files(entry, should_stop, max_files - seen))
        except TooManyFiles as err:
            raise DatasetError(f"{root} holds more than {max_files:,} files: use a subset (e.g. 200 images per "
                               "class)") from err
        seen += len(files)
        for f in files:
            reason = refusal(f, root) or _unreadable(f)
            if reason:
                skipped.append((f, reason))
            else:
                images.append(f)
        if len(images) >= MIN_PER_CLASS:
            items += [(f, len(classes)) for f in images]
            classes.append(entry.name)
        elif images:
            skipped.append((entry, f"class folder with {len(images)} image(s), fewer than the {MIN_PER_CLASS} "
                                   "needed for training and testing"))
        else:
            skipped.append((entry, "class folder without images"))
    if len(classes) < 2:
        raise DatasetError(
            f"{root} has {len(classes)} class folder(s) with images; at least 2 are needed "
            "(one sub-folder of images per class)"
        )
    return classes, items, skipped


def class_folders(root: Path) -> list[Path]:
    """The sub-folders of `root` that name classes, sorted: all but hidden ones and `__MACOSX`-style ones."""
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not _ignored(p))


def _ignored(path: Path) -> bool:
    return path.name.startswith((".", "__"))


def _unreadable(file: Path) -> str | None:
    """Why Pillow cannot use `file` as an image, or None when it can."""
    try:
        with open_image(file) as im:
            too_big = too_many_pixels(*im.size)
            if too_big:
                return too_big
            im.verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        return f"not an image ({type(e).__name__})"
    return None


def load_image(file: Path, img_size: int) -> np.ndarray:
    """uint8 S×S×3: upright (EXIF), RGB, centre-cropped to a square and resized, so nothing is squashed."""
    with open_image(file) as im:
        if too_many_pixels(*im.size):
            raise ValueError(too_many_pixels(*im.size))
        im.draft("RGB", (img_size, img_size))  # JPEG decodes at a reduced scale: much faster for photos
        square = ImageOps.fit(ImageOps.exif_transpose(im).convert("RGB"), (img_size, img_size), Image.BILINEAR)
    return np.asarray(square)


def load_folder(path: str | os.PathLike, img_size: int, should_stop: Callable[[], bool] | None = None) -> Domain:
    classes, items, _ = scan_image_folder(path, should_stop)
    images = []
    for file, _label in items:
        try:
            images.append(load_image(file, img_size))
        except (OSError, ValueError) as e:
            raise DatasetError(f"{file} looked like an image but could not be decoded: {e}") from e
    pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor([label for _file, label in items], dtype=torch.long)
    return split_domain(f"folder:{path}", classes, pixels, labels)
