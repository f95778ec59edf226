"""What a source loader returns: tidy tables for the raw schema, and a report of the load."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa


@dataclass
class LoadResult:
    source: str                                     # e.g. "city_yearbook"
    tables: dict[str, pd.DataFrame | pa.Table]      # raw schema table name -> rows
    files: list[Path]                               # every file read
    report: dict = field(default_factory=dict)      # counts, encodings, unknown headers
    absent: str = ""    # why the landing folder holds no files of the source; "" once loaded

    @property
    def status(self) -> str:
        """``loaded``, or ``absent`` when the landing folder holds none of the source's files."""
        return "absent" if self.absent else "loaded"

    def row_counts(self) -> dict[str, int]:
        return {name: (t.num_rows if isinstance(t, pa.Table) else len(t))
                for name, t in self.tables.items()}
