"""Count a zip's entries without reading its central directory into memory.

`zipfile.ZipFile` builds one `ZipInfo` per entry as it opens an archive (100,000 entries cost about 54 MB), so an
entry limit checked after opening comes too late. Here the end record is read for the count it declares, then the
central directory is walked one fixed-size header at a time (names skipped, not read), stopping one past the
limit: an archive whose end record understates its entries is caught too. Layout: PKWARE APPNOTE 4.3.12–4.3.16.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

END = struct.Struct("<4s4H2LH")  # end of central directory: signature, disks, entries here, entries, size, offset
END_SIGNATURE = b"PK\x05\x06"
END64_LOCATOR = struct.Struct("<4sLQL")
END64_LOCATOR_SIGNATURE = b"PK\x06\x07"
END64 = struct.Struct("<4sQ2H2L4Q")  # zip64 end record: … entries here, entries, size, offset
END64_SIGNATURE = b"PK\x06\x06"
ENTRY = struct.Struct("<4s6H3L5H2L")  # one central-directory header, before its name, extra field and comment
ENTRY_SIGNATURE = b"PK\x01\x02"
MAX_COMMENT = 0xFFFF


@dataclass(frozen=True)
class EntryCount:
    declared: int  # what the end record says
    counted: int  # headers found walking the directory, at most `stop_after` + 1

    def over(self, limit: int) -> bool:
        return max(self.declared, self.counted) > limit


def count_entries(fp: BinaryIO, stop_after: int) -> EntryCount | None:
    """The archive's entry count, declared and walked (up to `stop_after` + 1 headers); None when no end record is
    found (not a zip: `zipfile` then says so)."""
    fp.seek(0, 2)
    size = fp.tell()
    tail_start = max(0, size - END.size - MAX_COMMENT)
    fp.seek(tail_start)
    tail = fp.read()
    at = tail.rfind(END_SIGNATURE)
    if at < 0 or len(tail) - at < END.size:
        return None
    end_pos = tail_start + at
    *_, declared, dir_size, _, _ = END.unpack_from(tail, at)
    if (declared == 0xFFFF or dir_size == 0xFFFFFFFF) and end_pos >= END64_LOCATOR.size + END64.size:
        fp.seek(end_pos - END64_LOCATOR.size)
        if END64_LOCATOR.unpack(fp.read(END64_LOCATOR.size))[0] == END64_LOCATOR_SIGNATURE:
            end_pos -= END64_LOCATOR.size + END64.size
            fp.seek(end_pos)
            record = END64.unpack(fp.read(END64.size))
            if record[0] == END64_SIGNATURE:
                declared, dir_size = record[7], record[8]
    return EntryCount(declared, _walk(fp, end_pos - dir_size, end_pos, stop_after))


def _walk(fp: BinaryIO, start: int, end: int, stop_after: int) -> int:
    """Headers from `start` up to `end` (where the directory ends), counted up to `stop_after` + 1."""
    if start < 0:
        return 0
    counted, position = 0, start
    while position + ENTRY.size <= end and counted <= stop_after:
        fp.seek(position)
        header = fp.read(ENTRY.size)
        if len(header) < ENTRY.size or header[:4] != ENTRY_SIGNATURE:
            break
        fields = ENTRY.unpack(header)
        name_len, extra_len, comment_len = fields[10], fields[11], fields[12]
        position += ENTRY.size + name_len + extra_len + comment_len
        counted += 1
    return counted
