"""The feasibility check's own kinds of bad input. Each is a DatasetError (so a UserError): the message says
what to do, and `kind` is a short code a page or a test can branch on without parsing the text."""
from __future__ import annotations

from typing import TYPE_CHECKING

from tl_core.errors import DatasetError

if TYPE_CHECKING:
    from tl_core.feasibility.validate import ValidationReport


class UploadError(DatasetError):
    """An archive or a server folder that is refused before anything is written or read."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        # not_zip | encrypted | unsafe_path | link | too_many_entries | too_large | ratio | empty | duplicate_entry
        # | write_failed | not_found
        self.kind = kind


class UnusableDatasetError(DatasetError):
    """The folder was read, but what is left after validation cannot be trained on.

    `report` keeps the full validation report so a page can still show which files were skipped and why.
    """

    def __init__(self, message: str, report: "ValidationReport"):
        super().__init__(message)
        self.kind = "unusable"
        self.report = report
