"""A validation report on a folder of class folders, before anything trains.

Every file is looked at once: its extension, its size on disk, its declared pixel count (before decoding, so an
image bomb is refused from its header), `verify()` (structure, PNG checksums), then a real decode (truncated
files only fail there) and a content hash for duplicates. What cannot be used is listed with the reason; what
is left must be at least two classes with `min_per_class` images each, else `UnusableDatasetError`, which
carries the report so a page can still show it.

    report = validate_folder(folder)          # or UnusableDatasetError(report=...)
    report.to_dict()                          # plain data for a page or a JSON file
"""
from __future__ import annotations

import hashlib
import os
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image

from tl_core.data.image_files import (IMAGE_EXTENSIONS, MAX_FILES, MAX_IMAGE_PIXELS, MIN_PER_CLASS, TooManyFiles,
                                      is_hidden, open_image, too_many_pixels, walk_files)
from tl_core.feasibility.errors import UnusableDatasetError
from tl_core.runs.plain_text import unsafe_character

MAX_FILE_BYTES = 50 << 20

# Why a file was skipped; the page shows the text, tests and code use the key.
REASONS = {
    "not_an_image": "not an image file",
    "corrupt": "corrupt or truncated image",
    "too_large": "too large",
    "empty": "empty file",
    "outside_class": "not inside a class folder",
    "link": "a link (links are not followed)",
    "duplicate": "an exact copy of another image in the same class",
    "conflict": "the same image appears in several classes",
}


@dataclass(frozen=True)
class SkippedFile:
    path: str  # relative to the dataset folder, '/'-separated
    reason: str  # a key of REASONS
    detail: str  # what exactly was wrong, in words


@dataclass(frozen=True)
class ImageFile:
    path: str  # relative, '/'-separated
    label: str  # class folder name
    width: int
    height: int
    mode: str  # Pillow mode: RGB, L, RGBA, P, ...
    format: str  # JPEG, PNG, ...
    sha256: str


@dataclass
class ValidationReport:
    root: str
    classes: list[str]  # usable classes, sorted; these are what will train
    counts: dict[str, int]  # usable images per usable class
    excluded_classes: dict[str, str]  # class -> why it will not train
    skipped: list[SkippedFile]
    duplicate_groups: list[list[str]]  # exact copies (same bytes), each group's paths; within and across classes
    size_stats: dict[str, float]  # width/height min, median, max over usable images
    modes: dict[str, int]
    formats: dict[str, int]
    images: list[ImageFile] = field(repr=False)  # usable images
    min_per_class: int = MIN_PER_CLASS

    @property
    def usable(self) -> bool:
        return len(self.classes) >= 2

    @property
    def num_images(self) -> int:
        return sum(self.counts.values())

    @property
    def images_per_class(self) -> int:
        """The smallest usable class: what a label budget can rely on for every class."""
        return min(self.counts.values()) if self.counts else 0

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped))

    def messages(self) -> list[str]:
        """Plain sentences for the page, most important first."""
        out = []
        if not self.usable:
            out.append(unusable_message(self, self.counts))
        for name, why in self.excluded_classes.items():
            out.append(f"Class '{name}' will not train: {why}.")
        for reason, n in self.skipped_by_reason().items():
            out.append(f"{n} file{'s' if n != 1 else ''} skipped: {REASONS[reason]}.")
        across = [g for g in self.duplicate_groups if len({p.split('/')[0] for p in g}) > 1]
        if across:
            out.append(f"{len(across)} image{'s appear' if len(across) != 1 else ' appears'} in more than one class; "
                       "every copy was left out, since its label is ambiguous.")
        return out

    def to_dict(self) -> dict:
        data = asdict(self)
        data["images"] = len(self.images)  # the per-image list stays in Python; pages need counts
        data.update(usable=self.usable, num_images=self.num_images, images_per_class=self.images_per_class,
                    skipped_by_reason=self.skipped_by_reason(), messages=self.messages())
        return data


def unusable_message(report: ValidationReport, counts: dict[str, int]) -> str:
    found = ", ".join(f"'{c}' ({n})" for c, n in sorted(counts.items())) or "no images in class folders"
    return (f"This dataset needs at least two classes with {report.min_per_class}+ usable images each; found "
            f"{found}. Put each class's images in its own sub-folder (e.g. cats/, dogs/) and add images to the "
            "small classes.")


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _walk(root: Path) -> list[Path]:
    """Every visible file under `root`; hidden files and folders, `__MACOSX` and links to folders are not
    entered (but a link is listed, so it is reported)."""
    try:
        return list(walk_files(root))
    except TooManyFiles as err:
        raise UnusableDatasetError(f"The folder holds more than {MAX_FILES:,} files: a feasibility check needs "
                                   "far fewer; use a subset (e.g. 200 images per class).", _empty_report(root)) from err


def inspect_image(path: Path, max_pixels: int = MAX_IMAGE_PIXELS, max_bytes: int = MAX_FILE_BYTES
                  ) -> tuple[dict, None] | tuple[None, tuple[str, str]]:
    """(facts, None) for a usable image, or (None, (reason, detail)). Never raises for a bad file."""
    if path.is_symlink():
        return None, ("link", "links are not followed; copy the file itself")
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        return None, ("not_an_image", f"'{path.suffix or path.name}' files are not read; images must be "
                                      f"{', '.join(IMAGE_EXTENSIONS)}")
    try:
        size = path.stat().st_size
        if size == 0:
            return None, ("empty", "the file has 0 bytes")
        if size > max_bytes:
            return None, ("too_large", f"{size / (1 << 20):.0f} MB on disk, over the {max_bytes >> 20} MB limit; "
                                       "downscale it")
        with open_image(path) as im:  # reads the header only
            width, height = im.size
            facts = {"width": width, "height": height, "mode": im.mode, "format": im.format or ""}
            if too_many_pixels(width, height, max_pixels):
                return None, ("too_large", too_many_pixels(width, height, max_pixels))
            im.verify()
        with open_image(path) as im:  # verify() leaves the image unusable: open again for a real decode
            im.draft("RGB", (256, 256))  # JPEG: decode at a reduced scale (still reads every byte, so
            im.load()                    # truncation is caught), which makes big photos several times faster
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        return None, ("too_large", f"declares more pixels than Pillow allows ({err}); downscale it")
    except Image.UnidentifiedImageError:
        if _looks_like_an_image(path):
            return None, ("corrupt", "it starts like an image but its header is damaged; re-export or remove the file")
        return None, ("not_an_image", "its contents are not an image, whatever its name says")
    except Exception as err:  # Pillow raises OSError, SyntaxError, ValueError, struct.error, EOFError...
        return None, ("corrupt", f"{type(err).__name__}: {err}; re-export or remove the file")
    facts["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return facts, None


_MAGIC = (b"\x89PNG", b"\xff\xd8", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"P5", b"P6")


def _looks_like_an_image(path: Path) -> bool:
    """Whether the first bytes are an image format's signature (then an unreadable file is damaged, not a
    mislabelled text file)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head.startswith(_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def _empty_report(root: Path, min_per_class: int = MIN_PER_CLASS) -> ValidationReport:
    return ValidationReport(str(root), [], {}, {}, [], [], {}, {}, {}, [], min_per_class)


def _size_stats(images: list[ImageFile]) -> dict[str, float]:
    if not images:
        return {}
    stats: dict[str, float] = {}
    for key in ("width", "height"):
        values = [getattr(i, key) for i in images]
        stats.update({f"{key}_min": min(values), f"{key}_median": statistics.median(values),
                      f"{key}_max": max(values)})
    return stats


def _resolve_duplicates(images: list[ImageFile]) -> tuple[list[ImageFile], list[SkippedFile], list[list[str]]]:
    """Copies within one class: keep the first. Copies across classes: drop them all (the label is ambiguous)."""
    by_hash: dict[str, list[ImageFile]] = {}
    for image in images:
        by_hash.setdefault(image.sha256, []).append(image)
    kept, skipped, groups = [], [], []
    for copies in by_hash.values():
        if len(copies) == 1:
            kept.append(copies[0])
            continue
        groups.append([c.path for c in copies])
        labels = sorted({c.label for c in copies})
        if len(labels) > 1:
            skipped += [SkippedFile(c.path, "conflict", f"identical to an image in {' and '.join(labels)}")
                        for c in copies]
        else:
            kept.append(copies[0])
            skipped += [SkippedFile(c.path, "duplicate", f"identical to {copies[0].path}") for c in copies[1:]]
    order = {image.path: i for i, image in enumerate(images)}
    return sorted(kept, key=lambda i: order[i.path]), skipped, groups


def _refuse_control_characters(root: Path, class_dirs: list[str], min_per_class: int) -> None:
    """A class name ends up in tables, reports and the model's outputs: a newline or escape in it would break
    every one of them, so the folder must be renamed first."""
    for name in class_dirs:
        unsafe = unsafe_character(name)
        if unsafe:
            raise UnusableDatasetError(
                f"The class folder {name!r} has a control character ({unsafe}: a newline, tab, "
                "direction override or similar) in its name: rename it to plain text (letters, digits, spaces, '-', "
                "'_') and check again.", _empty_report(root, min_per_class))


def validate_folder(folder: str | os.PathLike, min_per_class: int = MIN_PER_CLASS,
                    max_pixels: int = MAX_IMAGE_PIXELS, max_bytes: int = MAX_FILE_BYTES) -> ValidationReport:
    """Read every file under `folder` (one sub-folder per class; deeper folders belong to their class).

    Returns the report, or raises UnusableDatasetError (with `.report`) when fewer than two classes keep
    `min_per_class` usable images.
    """
    root = Path(folder)
    if not root.is_dir():
        raise UnusableDatasetError(f"'{folder}' is not a folder: give a folder with one sub-folder per class.",
                                   _empty_report(root, min_per_class))
    class_dirs = sorted(p.name for p in root.iterdir()
                        if p.is_dir() and not p.is_symlink() and not is_hidden((p.name,)))
    _refuse_control_characters(root, class_dirs, min_per_class)
    images: list[ImageFile] = []
    skipped: list[SkippedFile] = []
    for path in _walk(root):
        rel = _relative(path, root)
        if "/" not in rel:
            skipped.append(SkippedFile(rel, "outside_class", "files at the top level have no class; move it into "
                                                             "its class folder"))
            continue
        facts, problem = inspect_image(path, max_pixels, max_bytes)
        if problem:
            skipped.append(SkippedFile(rel, *problem))
        else:
            images.append(ImageFile(rel, rel.split("/")[0], **facts))
    images, dup_skipped, groups = _resolve_duplicates(images)
    skipped += dup_skipped

    counts = Counter(i.label for i in images)
    excluded = {}
    for name in class_dirs:
        n = counts.get(name, 0)
        if n < min_per_class:
            excluded[name] = (f"it has {n} usable image{'s' if n != 1 else ''}, fewer than the {min_per_class} needed "
                              "to put some in training and some in testing; add images or remove the folder")
    usable = [i for i in images if i.label not in excluded]
    report = ValidationReport(
        root=str(root),
        classes=sorted({i.label for i in usable}),
        counts={c: counts[c] for c in sorted(counts) if c not in excluded},
        excluded_classes=excluded,
        skipped=skipped,
        duplicate_groups=groups,
        size_stats=_size_stats(usable),
        modes=dict(Counter(i.mode for i in usable)),
        formats=dict(Counter(i.format for i in usable)),
        images=usable,
        min_per_class=min_per_class,
    )
    if not report.usable:
        raise UnusableDatasetError(unusable_message(report, counts), report)
    return report
