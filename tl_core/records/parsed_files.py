"""Files parsed once while they stay unchanged, for readers that only look.

A class of thirty watches the same lesson: its runs were computed once and each student's copies of their
files are hard links to the same inode (`tl_core.records.shared`). Parsing every tab's copy every second takes
the CPU the training needs. A parse is keyed by the file's identity and version (device, inode, size,
modification time), so all hard links share one parse, and a file appended to or replaced is parsed again.
The values are shared between threads: never change them."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
MAX_FILES = 1024

_lock = threading.Lock()
_parsed: OrderedDict[tuple, object] = OrderedDict()


def parsed(path: Path, parse: Callable[[Path], T]) -> T | None:
    """`parse(path)`, shared with every earlier call for the same version of the same file; None when there is
    no such file."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, parse)
    with _lock:
        if key in _parsed:
            _parsed.move_to_end(key)
            return _parsed[key]
    value = parse(path)
    with _lock:
        _parsed[key] = value
        while len(_parsed) > MAX_FILES:
            _parsed.popitem(last=False)
    return value
