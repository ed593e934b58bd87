"""What text from users (run names, class folder names) may hold: no control characters (C0 and C1, e.g. a
newline or U+0085), no format characters (bidirectional overrides like U+202E, which make 'cats‮gpj.exe' read
as something else; zero-width spaces) and no line or paragraph separators. Such text breaks tables, reports and
logs, or disguises itself; refusing it is simpler than escaping it everywhere it is shown."""
from __future__ import annotations

import unicodedata

UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def unsafe_character(text: str) -> str | None:
    """The first character of `text` that is not plain text, as 'U+202E' (None when there is none)."""
    for char in text:
        if unicodedata.category(char) in UNSAFE_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None
