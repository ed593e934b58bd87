"""Each owner's uploads share one disk quota: what their session folders hold (`<sessions>/owner-<id>/<session>/`).

An upload may expand to what is left of the quota once the dataset it replaces is set aside; when that is too
little, the owner's older data makes room, oldest first: other sessions (tabs closed or forgotten), then this
session's earlier prepared folds. Folders a check in flight still reads are kept. When even that is not enough,
the upload is refused with what to do. Hard links (the prepared folds link the uploaded images) count once.

    quota = UploadQuota.for_session(session, keep=(folder_of_the_running_check,))
    extract_upload(data, session, quota=quota)
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tl_core.feasibility.errors import UploadError

DEFAULT_QUOTA_MB = 1024  # one upload at the per-archive limit (1 GiB): a class of 30 needs at most 30 GiB


def quota_bytes() -> int:
    """Each owner's upload quota: `$TL_UPLOAD_QUOTA_MB` (default 1024)."""
    return int(float(os.environ.get("TL_UPLOAD_QUOTA_MB", DEFAULT_QUOTA_MB)) * (1 << 20))


def usage_bytes(folder: Path, skip: Path | None = None) -> int:
    """Bytes of the files under `folder` (each file once however many links it has; links to elsewhere are not
    followed), leaving out `skip` and what is under it."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        if skip is not None and (here == skip or here.is_relative_to(skip)):
            dirnames.clear()
            continue
        for name in filenames:
            try:
                stat = (here / name).lstat()
            except FileNotFoundError:
                continue
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_size
    return total


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB"


@dataclass(frozen=True)
class UploadQuota:
    owner_root: Path  # the owner's folder of sessions
    session: Path  # the session this upload lands in
    limit_bytes: int
    keep: tuple[Path, ...] = ()  # folders a check in flight reads: never removed to make room

    @classmethod
    def for_session(cls, session: str | os.PathLike, keep=(), limit_bytes: int | None = None) -> "UploadQuota":
        session = Path(session)
        return cls(session.parent, session, quota_bytes() if limit_bytes is None else limit_bytes,
                   tuple(Path(p) for p in keep))

    def room_for(self, replaced: Path, wanted: int) -> int:
        """Bytes an upload that replaces `replaced` may expand to, at least `wanted` (its headers' total); older
        data is removed to make room. UploadError ("quota") when it cannot fit."""
        removable = self._removable()
        while True:
            room = self.limit_bytes - usage_bytes(self.owner_root, skip=replaced)
            if room >= wanted or not removable:
                break
            shutil.rmtree(removable.pop(0), ignore_errors=True)
        if room < wanted:
            raise UploadError(f"This archive expands to {_mb(wanted)}, but only {_mb(max(0, room))} of your "
                              f"{_mb(self.limit_bytes)} upload quota on this server is free (a running check keeps "
                              "its data): upload a smaller subset — downscaled images are plenty for a feasibility "
                              "check — or wait until your check has finished.", "quota")
        return room

    def _removable(self) -> list[Path]:
        """Older data of this owner, oldest first: other sessions, then this session's prepared folds."""
        others = [p for p in self.owner_root.iterdir() if p.is_dir() and p != self.session]
        prepared = [*self.session.glob("prepared-*"), *self.session.glob("source-prepared/prepared-*")]
        return [p for group in (others, prepared) for p in sorted(group, key=_mtime)
                if not p.is_symlink() and not self._kept(p)]

    def _kept(self, path: Path) -> bool:
        return any(k == path or k.is_relative_to(path) or path.is_relative_to(k) for k in self.keep)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
