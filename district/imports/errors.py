"""What goes wrong in an import, as values: a bad cell, a rejected row, a file that cannot be read.

Every message is the Simplified Chinese a district operator reads in the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from district.imports.outcome import ImportResult


class CellError(ValueError):
    """A cell that is not a valid value for its column; the message is the reason in Chinese."""


class FileRejected(Exception):
    """A file that cannot be imported at all (format, encoding, header): reported on row 1."""

    def __init__(self, message: str, column: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Rejection:
    """One reason a row cannot be imported: its row number (as Excel shows it), the column's
    header (empty for the row as a whole), the reason, and the cell's text when it helps."""

    line: int
    column: str
    reason: str
    value: str = ""


class ImportRejected(Exception):
    """Raised out of the import's transaction, so nothing it wrote is kept; `result` holds the
    rejections and what was read."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__(f"{len(result.rejections)} problems in {result.rejected_rows} rows")
        self.result = result
