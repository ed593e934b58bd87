"""Numbers as people read them: 18.6k parameters, 1 min 05 s, 83.2%."""
from __future__ import annotations

import math
import re
import time

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:$~=^])")


def count(n: int | float | None) -> str:
    """1234 → '1.2k', 11_176_512 → '11.2M'."""
    if n is None:
        return "–"
    n = float(n)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= limit:
            return f"{n / limit:.1f}{suffix}"
    return f"{n:.0f}"


def seconds(s: float | None) -> str:
    """12.3 → '12 s', 75 → '1 min 15 s', 3700 → '1 h 02 min'."""
    if s is None or not math.isfinite(s):
        return "–"
    s = max(0, round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def pct(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * x:.{digits}f}%"


def when(timestamp: float | None) -> str:
    """A run's creation time: '14:03' today, else '2024-05-01 14:03'."""
    if not timestamp:
        return "–"
    t = time.localtime(timestamp)
    if time.strftime("%Y-%m-%d", t) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M", t)
    return time.strftime("%Y-%m-%d %H:%M", t)


def labels(per_class: int | None) -> str:
    return "all labels" if per_class is None else f"{per_class}/class"


def plain(text: str) -> str:
    """`text` (a run name someone typed) for a Markdown element, shown as typed: every character Markdown or
    Streamlit reads as markup (emphasis, links, HTML, `:red[…]` and `:material/…:` directives, `$` maths) is
    backslash-escaped."""
    return _MARKDOWN.sub(r"\\\1", text)
