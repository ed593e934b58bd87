"""Data in: an uploaded `.zip` extracted safely into a session folder, or a folder named under a data root.

Python's `zipfile.extractall` drops `..` and leading slashes but trusts everything else, so extraction here is
done entry by entry: every name is checked before anything is written, links and special files are refused,
and bytes are stream-copied in chunks with running totals, so a bomb stops at the limit whatever its headers
claim. Everything lands in a temporary folder inside the session folder and is renamed into place only when
the whole archive passed; a refused archive leaves nothing behind.

    folder = extract_upload(uploaded_bytes, session_dir)          # -> session_dir / "dataset"
    folder = resolve_server_folder("flowers", data_root=None)     # -> <data root>/flowers, never outside it
"""
from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import stat
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from tl_core.data.image_files import is_hidden
from tl_core.feasibility.errors import UploadError
from tl_core.feasibility.upload_quota import UploadQuota
from tl_core.feasibility.zip_directory import count_entries
from tl_core.machine.paths import data_dir

CHUNK_BYTES = 1 << 20
OWNER_PREFIX = "owner-"  # sessions/owner-<id>/<session>: one owner's uploads, under one quota


@dataclass(frozen=True)
class ZipLimits:
    """What one upload may expand to. Images barely compress (JPEG and PNG already are), so a high ratio
    on a sizeable entry means a bomb, not a photo; tiny entries are exempt because their ratio means nothing."""

    max_entries: int = 20_000
    max_total_bytes: int = 1 << 30  # 1 GiB uncompressed, all entries together
    max_entry_bytes: int = 200 << 20  # 200 MiB for one file
    max_ratio: float = 100.0  # uncompressed / compressed size of one entry
    ratio_min_bytes: int = 1 << 20  # the ratio is only checked for entries above 1 MiB uncompressed


DEFAULT_LIMITS = ZipLimits()


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB"


def _entry_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    """The path components of an entry, or UploadError when the name could land outside the target folder."""
    raw = info.filename
    name = raw.replace("\\", "/")  # archives made on Windows sometimes use backslashes
    if "\x00" in raw:
        raise UploadError(f"The archive entry {raw!r} has a broken name: re-create the zip with your system's "
                          "'Compress' command.", "unsafe_path")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise UploadError(f"The archive entry '{raw}' has an absolute path, which could write outside the upload "
                          "folder: zip the class folders themselves (paths like 'cats/001.jpg').", "unsafe_path")
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if ".." in parts:
        raise UploadError(f"The archive entry '{raw}' points outside the archive ('..'), so the whole archive was "
                          "refused: zip the class folders themselves (paths like 'cats/001.jpg').", "unsafe_path")
    return parts


def _check_kind(info: zipfile.ZipInfo) -> None:
    """Refuse symbolic links and special files (their Unix mode sits in the top 16 bits of external_attr)."""
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UploadError(f"The archive entry '{info.filename}' is a symbolic link, which is not allowed: zip the "
                          "real files instead (e.g. `zip -r data.zip folder` without -y).", "link")
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # no type bits: a plain file
        raise UploadError(f"The archive entry '{info.filename}' is a special file (device, pipe or socket): zip "
                          "only image files in class folders.", "link")
    if info.flag_bits & 0x1:
        raise UploadError("The archive is password-protected: create it again without a password.", "encrypted")


def _check_count(source: BinaryIO | str | os.PathLike, limits: ZipLimits) -> None:
    """Refuse an archive with too many entries before `zipfile` reads its whole directory into memory."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fp:
            count = count_entries(fp, limits.max_entries)
    else:
        count = count_entries(source, limits.max_entries)
        source.seek(0)
    if count is None or not count.over(limits.max_entries):
        return
    held = f"{count.declared:,}" if count.declared > limits.max_entries else f"more than {limits.max_entries:,}"
    raise UploadError(f"The archive holds {held} entries; the limit is {limits.max_entries:,}. Upload fewer "
                      "images per class, or name a folder on the server instead.", "too_many_entries")


def _check_declared(entries: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    """Cheap checks on what the headers claim, before anything is written (the copy re-checks real bytes)."""
    total = sum(i.file_size for i in entries)
    if total > limits.max_total_bytes:
        raise UploadError(f"The archive would expand to {_mb(total)}; the limit is {_mb(limits.max_total_bytes)}. "
                          "Upload a smaller subset (downscaled images are plenty for a feasibility check).",
                          "too_large")
    for info in entries:
        _check_entry_size(info.filename, info.file_size, info.compress_size, limits)


def _check_entry_size(name: str, size: int, compressed: int, limits: ZipLimits) -> None:
    if size > limits.max_entry_bytes:
        raise UploadError(f"The archive entry '{name}' expands to more than {_mb(limits.max_entry_bytes)}, "
                          "the limit for one file: remove or downscale it.", "too_large")
    if size > limits.ratio_min_bytes and size > limits.max_ratio * max(compressed, 1):
        raise UploadError(f"The archive entry '{name}' expands more than {limits.max_ratio:.0f} times its "
                          "compressed size, which is how zip bombs work, so the archive was refused: upload "
                          "ordinary image files (JPEG or PNG).", "ratio")


def _copy_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, limits: ZipLimits,
                written_total: int) -> int:
    """Stream one entry to `dest` in chunks, counting real bytes; returns the new running total."""
    written = 0
    with archive.open(info) as src, open(dest, "xb") as out:
        while chunk := src.read(CHUNK_BYTES):
            written += len(chunk)
            written_total += len(chunk)
            if written_total > limits.max_total_bytes:
                raise UploadError(f"The archive expands to more than {_mb(limits.max_total_bytes)}: upload a smaller "
                                  "subset.", "too_large")
            _check_entry_size(info.filename, written, info.compress_size, limits)
            out.write(chunk)
    return written_total


def _open_archive(upload: bytes | str | os.PathLike | BinaryIO, limits: ZipLimits) -> zipfile.ZipFile:
    if isinstance(upload, (bytes, bytearray, memoryview)):
        source: BinaryIO | str | os.PathLike = io.BytesIO(bytes(upload))
    else:
        source = upload
    if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        raise UploadError(f"There is no file at '{source}': choose a .zip file to upload.", "not_zip")
    try:
        if not zipfile.is_zipfile(source):
            raise UploadError("This file is not a zip archive: put one folder per class into a .zip (e.g. "
                              "'cats/…', 'dogs/…') and upload that.", "not_zip")
        if hasattr(source, "seek"):
            source.seek(0)
        _check_count(source, limits)
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as err:
        raise UploadError(f"The zip archive is damaged ({err}): create it again and re-upload.", "not_zip") from err


def _single_root(folder: Path) -> Path:
    """Unwrap `mydata/` (and `mydata/images/`…) when an archive holds one folder and nothing else.

    Only a folder that itself holds folders is unwrapped: a zip of one class folder (`cats/*.jpg`) stays as it
    is, so validation can say "only one class" rather than "images outside class folders".
    """
    while True:
        children = list(folder.iterdir())
        if len(children) != 1 or not children[0].is_dir() or not any(c.is_dir() for c in children[0].iterdir()):
            return folder
        folder = children[0]


def extract_upload(upload: bytes | str | os.PathLike | BinaryIO, session_dir: str | os.PathLike,
                   name: str = "dataset", limits: ZipLimits = DEFAULT_LIMITS, quota: UploadQuota | None = None) -> Path:
    """Extract an uploaded zip into `session_dir / name` and return that folder (its class folders at the top).

    An earlier dataset of the same name in the session is replaced. UploadError (with `.kind`) when the archive
    is not a zip, is encrypted, has an entry that escapes the folder or is a link, is a bomb, holds no files, or
    (with a `quota`: the owner's, see `upload_quota`) does not fit what is left of it.
    """
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        raise ValueError(f"name must be a short plain folder name, got {name!r}")
    session = Path(session_dir)
    session.mkdir(parents=True, exist_ok=True)
    with _open_archive(upload, limits) as archive:
        entries = archive.infolist()
        kept: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
        for info in entries:
            parts = _entry_parts(info)
            _check_kind(info)
            if parts and not is_hidden(parts) and not info.is_dir():
                kept.append((info, parts))
        _check_declared(entries, limits)
        if not kept:
            raise UploadError("The archive is empty (or holds only hidden or system files): zip a folder with one "
                              "sub-folder of images per class and upload it again.", "empty")
        if quota is not None:  # the copy stops at what is left of the quota, whatever the headers claim
            room = quota.room_for(session / name, sum(info.file_size for info, _ in kept))
            limits = replace(limits, max_total_bytes=min(limits.max_total_bytes, room))
        staging = Path(os.path.realpath(session / f".extract-{secrets.token_hex(4)}"))
        staging.mkdir()
        try:
            _extract_into(archive, kept, staging, limits)
            final = session / name
            if final.exists() or final.is_symlink():
                retired = session / f".old-{name}-{secrets.token_hex(4)}"
                os.replace(final, retired)
                shutil.rmtree(retired, ignore_errors=True)
            os.replace(_single_root(staging), final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return final


def _extract_into(archive: zipfile.ZipFile, kept: list[tuple[zipfile.ZipInfo, tuple[str, ...]]], staging: Path,
                  limits: ZipLimits) -> None:
    total = 0
    for info, parts in kept:
        dest = staging.joinpath(*parts)
        if not Path(os.path.realpath(dest)).is_relative_to(staging):  # belt and braces: names were checked above
            raise UploadError(f"The archive entry '{info.filename}' points outside the upload folder.", "unsafe_path")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            total = _copy_entry(archive, info, dest, limits, total)
        except FileExistsError as err:
            raise UploadError(f"The archive lists '{info.filename}' twice (or as both a file and a folder): create "
                              "it again from the folder itself.", "duplicate_entry") from err
        except (NotADirectoryError, IsADirectoryError) as err:
            raise UploadError(f"The archive uses '{info.filename}' as both a file and a folder: create it again "
                              "from the folder itself.", "duplicate_entry") from err
        except zipfile.BadZipFile as err:  # CRC mismatch or truncated data
            raise UploadError(f"The archive entry '{info.filename}' is damaged ({err}): create the zip again and "
                              "re-upload.", "not_zip") from err
        except NotImplementedError as err:  # e.g. a compression method Python cannot read
            raise UploadError(f"The archive entry '{info.filename}' uses a compression method that cannot be read "
                              f"({err}): create the zip with the ordinary 'deflate' method.", "not_zip") from err
        except RuntimeError as err:  # zipfile's "password required"
            raise UploadError(f"The archive entry '{info.filename}' cannot be read ({err}): create the zip again "
                              "without a password.", "encrypted") from err
        except OSError as err:
            raise UploadError(f"Could not write '{info.filename}' ({err.strerror or err}): shorten very long file "
                              "names, or free some disk space on the server.", "write_failed") from err


def upload_root(data_root: str | os.PathLike | None = None) -> Path:
    """Where users' folders may live: `data_root`, else `$TL_UPLOAD_ROOT`, `$TL_DATA_ROOT`, else `data/user`."""
    return Path(data_root or os.environ.get("TL_UPLOAD_ROOT") or os.environ.get("TL_DATA_ROOT") or "data/user")


def list_server_folders(data_root: str | os.PathLike | None = None) -> list[str]:
    """Names of the visible folders directly under the data root (for a picker); [] when it does not exist."""
    root = upload_root(data_root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not is_hidden((p.name,)))


def resolve_server_folder(name: str, data_root: str | os.PathLike | None = None) -> Path:
    """The folder `name` under the data root, resolved (links included) and guaranteed to stay inside it.

    `name` is relative ('flowers' or 'team/flowers'); a blank name, the root itself, an absolute path, '..', a
    link leading out of the root, or the sessions' uploads is refused, so a user can never make the server read
    an arbitrary path (or another student's images).
    """
    root = upload_root(data_root)
    text = (name or "").strip()
    if not text:
        raise UploadError("Name a folder under the data root (e.g. 'flowers').", "unsafe_path")
    if "\x00" in text or text.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", text):
        raise UploadError(f"'{name}' is not a folder name under the data root: give a name relative to "
                          f"{root} (e.g. 'flowers'), not a full path.", "unsafe_path")
    parts = PurePosixPath(text.replace("\\", "/")).parts
    if ".." in parts:
        raise UploadError(f"'{name}' points outside the data root ('..'): give a folder inside {root}.",
                          "unsafe_path")
    if not root.is_dir():
        raise UploadError(f"The data root {root} does not exist: create it and copy your folder there, or set "
                          "TL_UPLOAD_ROOT.", "not_found")
    real_root = Path(os.path.realpath(root))
    folder = Path(os.path.realpath(root.joinpath(*parts)))
    if not folder.is_relative_to(real_root):
        raise UploadError(f"'{name}' leads outside the data root (through a link): copy the folder into {root} "
                          "instead.", "unsafe_path")
    if folder == real_root:  # '.', './': every folder there would become one class
        raise UploadError(f"'{name}' is the data root itself: name one folder inside it (e.g. 'flowers').",
                          "unsafe_path")
    sessions = Path(os.path.realpath(data_dir() / "sessions"))
    if folder.is_relative_to(sessions) or sessions.is_relative_to(folder):
        raise UploadError(f"'{name}' holds the feasibility check's uploads, which stay with the students who made "
                          "them: name a folder of your own under the data root.", "unsafe_path")
    if not folder.is_dir():
        known = list_server_folders(root)
        hint = f" Folders there: {', '.join(known[:10])}." if known else ""
        raise UploadError(f"There is no folder '{name}' under {root}.{hint}", "not_found")
    return folder


def session_max_age_s() -> float:
    """How long a session folder is kept: `$TL_SESSION_MAX_AGE_HOURS` (default 24)."""
    return float(os.environ.get("TL_SESSION_MAX_AGE_HOURS", "24")) * 3600


def remove_old_sessions(root: Path, max_age_s: float) -> list[Path]:
    """Session folders under `root` (in its owners' folders) untouched for longer than `max_age_s`, removed;
    returns them."""
    if not root.is_dir():
        return []
    cutoff = time.time() - max_age_s
    folders = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()]
    sessions = [s for p in folders if p.name.startswith(OWNER_PREFIX) for s in p.iterdir()]
    sessions += [p for p in folders if not p.name.startswith(OWNER_PREFIX)]  # sessions from before owners' folders
    old = [p for p in sessions if p.is_dir() and not p.is_symlink() and p.stat().st_mtime < cutoff]
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    return old


def owner_sessions(owner: str = "", base: str | os.PathLike | None = None) -> Path:
    """The folder of one owner's sessions, `<data dir>/sessions/owner-<id>` (their upload quota's reach)."""
    if owner and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", owner):
        raise ValueError(f"owner must be an owner id, got {owner!r}")
    root = Path(base) if base is not None else data_dir() / "sessions"
    return root / f"{OWNER_PREFIX}{owner or 'local'}"


def new_session_dir(base: str | os.PathLike | None = None, owner: str = "") -> Path:
    """A fresh folder for one user's uploads and prepared data: `<data dir>/sessions/owner-<id>/<random id>`;
    sessions older than `session_max_age_s()` are removed first."""
    root = Path(base) if base is not None else data_dir() / "sessions"
    remove_old_sessions(root, session_max_age_s())
    path = owner_sessions(owner, root) / secrets.token_hex(8)
    path.mkdir(parents=True)
    return path
