"""A CEADs table as CSV: the exact cell grid of the workbook sheet, header rows first.

The encoding is detected over the whole file (:func:`models_py.ingest.files.detect_encoding`);
the body is parsed by pyarrow, and row by row in Python only when pyarrow cannot convert a cell
(ragged rows, thousands separators, text), which also finds the exact cell.
"""
from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from models_py.ingest.ceads.columns import ColumnGrid, nan_cells
from models_py.ingest.ceads.table import FIRST_Z_COLUMN, HEADER_ROWS, Sheet, number, pad, text
from models_py.ingest.files import detect_encoding


def read_csv(path: Path) -> ColumnGrid:
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f)
        header = [[text(v) for v in row] for _, row in zip(range(HEADER_ROWS), reader)]
    header = pad(header + [[]] * (HEADER_ROWS - len(header)))
    width = len(header[0])
    try:
        return _read_arrow(path, encoding, header, width)
    except pa.ArrowInvalid:
        return _read_python(path, encoding, header, width)


def _read_arrow(path: Path, encoding: str, header: list[list[str]], width: int) -> ColumnGrid:
    names = [f"c{k}" for k in range(width)]
    types = {name: (pa.string() if k < FIRST_Z_COLUMN else pa.float64())
             for k, name in enumerate(names)}
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(skip_rows=HEADER_ROWS, column_names=names,
                                       encoding="utf8" if encoding.startswith("utf-8")
                                       else encoding, block_size=1 << 26),
        parse_options=pacsv.ParseOptions(newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(column_types=types, null_values=[""],
                                             strings_can_be_null=False))
    labels = tuple([text(v) for v in table.column(k).to_pylist()] for k in range(3))

    def fetch(columns: Sequence[int]):
        for k in columns:
            if k >= width:
                yield k, np.full(table.num_rows, np.nan), {}
                continue
            column = table.column(k)
            values = column.to_numpy()
            yield k, values, nan_cells(values, column.is_valid().to_numpy())

    rows = HEADER_ROWS + 1 + np.arange(table.num_rows, dtype=np.int64)
    return ColumnGrid(Sheet(path, "csv"), header, labels, rows, fetch, encoding)


def _read_python(path: Path, encoding: str, header: list[list[str]], width: int) -> ColumnGrid:
    """Row by row: ragged rows, thousands separators, and the exact place of a bad cell."""
    region, label, code, lines, rows = [], [], [], [], []
    bad: dict[int, dict[int, object]] = {}
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f)
        for _ in range(HEADER_ROWS):
            next(reader, None)
        for i, cells in enumerate(reader):
            lines.append(reader.line_num)
            cells = cells + [""] * (width - len(cells))
            region.append(text(cells[0]))
            label.append(text(cells[1]))
            code.append(text(cells[2]))
            numeric = cells[FIRST_Z_COLUMN:width]
            try:
                values = np.array(numeric, dtype=float)
                clean = np.isfinite(values).all()
            except ValueError:
                clean = False
            if not clean:
                values = np.empty(len(numeric))
                for j, cell in enumerate(numeric):
                    stripped = cell.strip()
                    value = np.nan if stripped == "" else number(stripped)
                    if value is None:
                        bad.setdefault(FIRST_Z_COLUMN + j, {})[i] = cell
                        value = np.nan
                    values[j] = value
            rows.append(values)
    body = np.vstack(rows) if rows else np.empty((0, width - FIRST_Z_COLUMN))

    def fetch(columns: Sequence[int]):
        for k in columns:
            if k >= width:
                yield k, np.full(len(body), np.nan), {}
                continue
            yield k, body[:, k - FIRST_Z_COLUMN], bad.get(k, {})

    return ColumnGrid(Sheet(path, "csv"), header, (region, label, code),
                      np.array(lines, dtype=np.int64), fetch, encoding)
