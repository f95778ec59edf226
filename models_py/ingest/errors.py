"""The one error type of ingestion: what was expected, what was found, and where."""
from __future__ import annotations

from pathlib import Path


class IngestError(ValueError):
    """Bad raw input. The message names the file and, where known, sheet, row, column and value.

    Rows are numbered as a person sees them: line numbers of a CSV file, row numbers of a sheet
    (both 1-based, counting title and header rows).
    """

    def __init__(self, file: Path | str, message: str, *, sheet: str | None = None,
                 row: int | None = None, column: str | None = None, value: object = None):
        self.file, self.sheet, self.row, self.column, self.value = file, sheet, row, column, value
        where = [str(file)]
        if sheet is not None:
            where.append(f"sheet {sheet!r}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        text = f"{', '.join(where)}: {message}"
        if value is not None:
            text += f" (value: {value!r})"
        super().__init__(text)


class SourceAbsent(Exception):
    """The landing folder does not hold a source: its sub-folder is missing, or holds no file of
    the source. Not bad input: users hold the licensed files of some sources only. The loader
    stops before reading anything and the source is recorded as absent, its tables emptied."""

    def __init__(self, folder: Path | str, reason: str):
        super().__init__(f"{folder}: {reason}")
