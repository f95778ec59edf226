"""Table bodies written as CSV or xlsx the way statistical deliveries are: numbers with a fixed
number of decimals (optionally with thousands separators), missing-value markers in place of
some cells, title rows above the header, and fixed workbook metadata so that files are
reproducible.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

FILES_STREAM = 42  # random streams of the file writers: np.random.default_rng([seed, 42, ...])
WORKBOOK_DATE = dt.datetime(2024, 1, 1)  # fixed workbook metadata, so files are reproducible
MISSING_SHARE = 0.01
DECIMALS = {"亿元": 4, "万元": 0, "元": 0, "万人": 2, "人": 0, "%": 2, "万美元": 0, "亿美元": 4,
            "张": 0, "万户": 2, "户": 0, "件": 0, "平方公里": 0, "个": 0, "部": 3, "指数": 2}


def files_rng(seed: int, *key: int) -> np.random.Generator:
    """Random stream ``key`` of the file writers. Keys in use: (1, year) city yearbooks,
    (2, year) county yearbooks, 3 to 8 the EPS files, 9 the policy texts."""
    return np.random.default_rng([seed, FILES_STREAM, *key])


@dataclass
class Table:
    """A file's body: text columns and numeric columns (written with ``decimals`` places), and
    for each numeric column the marker that replaces a cell (None: the value is written; '':
    the cell is left empty)."""
    header: list[str]
    columns: list[np.ndarray]
    decimals: list[int | None]  # None for text columns
    markers: list[np.ndarray | None] = field(default_factory=list)


def with_markers(rng: np.random.Generator, values: np.ndarray, markers: tuple[str, ...],
                  share: float = MISSING_SHARE, force: np.ndarray | None = None
                  ) -> np.ndarray:
    """Missing-value markers for a random ``share`` of the cells, every NaN cell and every cell
    where ``force``; None where the value stands."""
    pick = (rng.random(len(values)) < share) | np.isnan(values)
    if force is not None:
        pick |= force
    out = np.full(len(values), None, dtype=object)
    out[pick] = np.asarray(markers, dtype=object)[rng.integers(0, len(markers), pick.sum())]
    return out


def format_numbers(values: np.ndarray, decimals: int, thousands: bool) -> list[str]:
    spec = f"{{:{',' if thousands else ''}.{decimals}f}}"
    return [spec.format(v) for v in values.tolist()]


def write_csv(path: Path, table: Table, *, encoding: str, titles=(), pad_titles=True,
              thousands=False) -> None:
    """A CSV file: title rows, the header, then the body (numbers formatted, markers kept)."""
    data = {}
    for j, (col, dec) in enumerate(zip(table.columns, table.decimals)):
        if dec is None:
            data[j] = col
            continue
        text = np.array(format_numbers(np.nan_to_num(col), dec, thousands), dtype=object)
        marks = table.markers[j]
        if marks is not None:
            hit = np.array([m is not None for m in marks])
            text[hit] = marks[hit]
        data[j] = text
    frame = pd.DataFrame(data)
    frame.columns = table.header
    width = len(table.header)
    with path.open("w", encoding=encoding, newline="") as f:
        for title in titles:
            f.write(title + ("," * (width - 1) if pad_titles else "") + "\n")
        frame.to_csv(f, index=False, lineterminator="\n")


def write_xlsx(path: Path, sheets: list[tuple[str, Table, tuple[str, ...]]]) -> None:
    """An xlsx workbook, one (name, table, title rows) per sheet; numbers as numbers, missing
    markers as text, empty markers as empty cells."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    wb.set_properties({"created": WORKBOOK_DATE})
    for name, table, titles in sheets:
        ws = wb.add_worksheet(name)
        r = 0
        for title in titles:
            ws.write_string(r, 0, title)
            r += 1
        for j, h in enumerate(table.header):
            ws.write_string(r, j, h)
        r += 1
        cols = []
        for j, (col, dec) in enumerate(zip(table.columns, table.decimals)):
            if dec is None:
                cols.append(("text", col.tolist(), None))
            else:
                marks = table.markers[j]
                cols.append(("num", np.round(col, dec).tolist(),
                             None if marks is None else marks.tolist()))
        for i in range(len(table.columns[0])):
            for j, (kind, values, marks) in enumerate(cols):
                if kind == "text":
                    if values[i] != "":
                        ws.write_string(r + i, j, str(values[i]))
                    continue
                mark = None if marks is None else marks[i]
                if mark is None:
                    ws.write_number(r + i, j, values[i])
                elif mark != "":
                    ws.write_string(r + i, j, mark)
    wb.close()
