"""The one way user image files are found and opened: `folder:` datasets and the feasibility check's uploads.

Only listed extensions, opened only by the matching Pillow decoders (content sniffing must never hand a renamed
EPS file to Ghostscript), pixel count checked from the header before decoding, links never followed, a cap on
the number of files, and a `should_stop` callable checked while a large folder is scanned.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import Image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
PIL_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF", "PPM")
MAX_IMAGE_PIXELS = 40_000_000  # 40 MP: above any camera photo; a 20 KB PNG can declare 170 MP and cost GBs
MAX_FILES = 100_000  # a folder with more is refused before anything is decoded
MIN_PER_CLASS = 3  # the fixed 70/10/20 split needs 3 images for a class to appear in both train and test
SKIPPED_NAMES = {"__macosx", "thumbs.db", "desktop.ini"}  # compared lower-case; dotfiles are skipped too


class TooManyFiles(ValueError):
    pass


class ScanStopped(Exception):
    """`should_stop()` said so while a folder was scanned."""


def is_hidden(parts: tuple[str, ...]) -> bool:
    """`__MACOSX/` (Finder's resource forks), `.DS_Store`, dotfiles and dot-folders, Windows' thumbnails."""
    return any(p.startswith(".") or p.lower() in SKIPPED_NAMES for p in parts)


def walk_files(root: Path, should_stop: Callable[[], bool] | None = None, max_files: int = MAX_FILES
               ) -> Iterator[Path]:
    """Every visible file (or link to one) under `root`, sorted per folder; hidden entries and links to folders
    are not entered. TooManyFiles past `max_files`; ScanStopped when `should_stop()` turns true."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if should_stop is not None and should_stop():
            raise ScanStopped(f"Stopped while scanning {root}.")
        dirnames[:] = sorted(d for d in dirnames if not is_hidden((d,)))
        files = [Path(dirpath) / f for f in sorted(filenames) if not is_hidden((f,))]
        count += len(files)
        if count > max_files:
            raise TooManyFiles(f"{root} holds more than {max_files:,} files: use a subset (e.g. 200 images per class)")
        yield from sorted(files)


def refusal(path: Path, root: Path | None = None) -> str | None:
    """Why `path` is not read at all (a link, an unlisted extension), before it is opened; None when it may be."""
    if path.is_symlink() or (root is not None and not Path(os.path.realpath(path)).is_relative_to(
            os.path.realpath(root))):
        return "a link (links are not followed; copy the file itself)"
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        return f"not an image: '{path.suffix or path.name}' files are not read; images must be {', '.join(IMAGE_EXTENSIONS)}"
    return None


def open_image(path: Path) -> Image.Image:
    """Pillow's image for `path`, decoded only by the allowed formats (UnidentifiedImageError otherwise)."""
    return Image.open(path, formats=PIL_FORMATS)


def too_many_pixels(width: int, height: int, max_pixels: int = MAX_IMAGE_PIXELS) -> str | None:
    if width * height <= max_pixels:
        return None
    return (f"{width}×{height} pixels ({width * height / 1e6:.0f} MP) is over the {max_pixels / 1e6:.0f} MP limit; "
            "downscale it")
