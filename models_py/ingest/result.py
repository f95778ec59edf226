"""What a source loader returns: tidy tables for the raw schema, and a report of the load."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

Rows = pd.DataFrame | pa.Table


@dataclass
class LoadResult:
    """A source's raw tables, whole in ``tables``; or, for a source too large to hold at once,
    in ``parts``: an iterator of {table: rows}, each part read and checked only when the writer
    asks for it (``tables`` then holds each table's columns and no rows). Row counts of parts
    are counted as they are written."""
    source: str                                     # e.g. "city_yearbook"
    tables: dict[str, Rows]                         # raw schema table name -> rows
    files: list[Path]                               # every file read
    report: dict = field(default_factory=dict)      # counts, encodings, unknown headers
    absent: str = ""    # why the landing folder holds no files of the source; "" once loaded
    parts: Iterator[dict[str, Rows]] | None = None
    _written: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def status(self) -> str:
        """``loaded``, or ``absent`` when the landing folder holds none of the source's files."""
        return "absent" if self.absent else "loaded"

    def rows(self) -> Iterator[dict[str, Rows]]:
        """The tables to write, in parts: ``tables``, then every part of ``parts``."""
        yield self.tables
        for part in self.parts or ():
            for name, rows in part.items():
                self._written[name] = self._written.get(name, 0) + _count(rows)
            yield part
            del part

    def row_counts(self) -> dict[str, int]:
        if self.parts is not None:
            return {name: self._written.get(name, 0) for name in self.tables}
        return {name: _count(t) for name, t in self.tables.items()}


def _count(rows: Rows) -> int:
    return rows.num_rows if isinstance(rows, pa.Table) else len(rows)
