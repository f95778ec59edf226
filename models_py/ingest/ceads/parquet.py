"""A CEADs table as Parquet: the same grid as the workbook sheet, a column at a time.

The body rows (data and footer rows) are columns ``region``, ``label``, ``code`` and one
float64 column per grid column from column D on, named by its grid column index (``"3"``,
``"4"``, ...); the four header rows are JSON in the schema metadata key ``ceads_header`` (four
lists of strings over all grid columns). Numeric columns are read a batch of columns at a
time; a column stored as text is parsed cell by cell.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from models_py.ingest.ceads.columns import ColumnGrid, nan_cells
from models_py.ingest.ceads.table import HEADER_ROWS, Sheet, number, pad, text
from models_py.ingest.errors import IngestError

HEADER_KEY = b"ceads_header"
_BATCH = 512


def read_parquet(path: Path) -> ColumnGrid:
    try:
        pfile = pq.ParquetFile(path)
        meta = pfile.schema_arrow.metadata or {}
    except Exception as e:  # pyarrow raises several types for corrupt files
        raise IngestError(path, f"cannot be read as a Parquet file: {e}") from None
    if HEADER_KEY not in meta:
        raise IngestError(path, "no 'ceads_header' key in the Parquet schema metadata: expected "
                          "the four header rows as JSON")
    header = json.loads(meta[HEADER_KEY])
    if not (isinstance(header, list) and len(header) == HEADER_ROWS
            and all(isinstance(r, list) for r in header)):
        raise IngestError(path, "'ceads_header' must be a list of 4 lists of strings")
    header = pad([[text(v) for v in r] for r in header])
    columns = set(pfile.schema_arrow.names)
    for name in ("region", "label", "code"):
        if name not in columns:
            raise IngestError(path, "missing column", column=name)
    first = pfile.read(columns=["region", "label", "code"])
    labels = tuple([text(v) for v in first.column(name).to_pylist()]
                   for name in ("region", "label", "code"))
    rows = first.num_rows

    def fetch(wanted: Sequence[int]):
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start:start + _BATCH]
            present = [k for k in batch if str(k) in columns]
            part = pfile.read(columns=[str(k) for k in present]) if present else None
            for k in batch:
                if str(k) not in columns:
                    yield k, np.full(rows, np.nan), {}
                    continue
                column = part.column(str(k))
                if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
                    values = column.cast(pa.float64()).to_numpy()
                    yield k, values, nan_cells(values, column.is_valid().to_numpy())
                else:
                    yield k, *_parse_text_column(column.to_pylist())

    sheet_rows = HEADER_ROWS + 1 + np.arange(rows, dtype=np.int64)
    return ColumnGrid(Sheet(path, "parquet"), header, labels, sheet_rows, fetch)


def _parse_text_column(cells: list[object]) -> tuple[np.ndarray, dict[int, object]]:
    values = np.full(len(cells), np.nan)
    bad: dict[int, object] = {}
    for i, cell in enumerate(cells):
        t = "" if cell is None else str(cell).strip()
        if t:
            value = number(t)
            if value is None:
                bad[i] = cell
            else:
                values[i] = value
    return values, bad
