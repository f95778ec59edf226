"""The grid of a CEADs file read a column at a time (the CSV and Parquet readers), and how its
columns fill the blocks."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from models_py.ingest.ceads.layout import Blocks, Columns, check_columns, check_rows, finish
from models_py.ingest.ceads.table import FOOTER, CeadsBlocks, Sheet


@dataclass
class ColumnGrid:
    """Header rows and body of one file.

    ``labels`` holds columns A, B, C of every body row and ``sheet_rows`` the sheet row of
    each; ``fetch(columns)`` yields, for grid columns in the order asked, (column, float64
    values of every body row with NaN where the cell is empty, {body row: raw value} of cells
    that are not numbers).
    """
    sheet: Sheet
    header: list[list[str]]
    labels: tuple[list[str], list[str], list[str]]
    sheet_rows: np.ndarray
    fetch: Callable[[Sequence[int]], Iterator[tuple[int, np.ndarray, dict[int, object]]]]
    encoding: str | None = None


def assemble(grid: ColumnGrid, year: int, tolerance: float) -> CeadsBlocks:
    """The checked table of a grid: layout, then the blocks a column at a time (Z filled in
    Fortran order), then the number and balance checks."""
    columns = check_columns(grid.sheet, grid.header, year)
    footer_rows = check_rows(grid.sheet, columns, grid.labels, grid.sheet_rows)
    blocks = Blocks(columns, order="F")
    fill(grid, columns, blocks, footer_rows)
    return finish(grid.sheet, year, columns, blocks, footer_rows, grid.sheet_rows, tolerance,
                  grid.encoding)


def fill(grid: ColumnGrid, columns: Columns, blocks: Blocks, footer_rows: dict[str, int]) -> None:
    """Copy every column the blocks need from the grid: data rows into Z, the final-use block
    and EX/TFU/ERR/GO, the footer rows' Z cells into the footer (empty = 0), and the cells that
    are not numbers (in data rows, and in the footer rows' Z cells) into ``blocks.bad``."""
    targets = columns.targets()
    n, m = columns.n, len(columns.fu_columns)
    footer_at = np.array([footer_rows[c] for c in FOOTER])
    footer_set = set(footer_at.tolist())
    wanted = [k for k in range(len(targets)) if targets[k] >= 0]
    for k, values, bad in grid.fetch(wanted):
        t = int(targets[k])
        blocks.bad.extend((int(grid.sheet_rows[row]), k, raw) for row, raw in bad.items()
                          if row < n or (t < n and row in footer_set))
        data = values[:n]
        if t < n:
            blocks.Z[:, t] = data
            foot = values[footer_at]
            blocks.footer[:, t] = np.where(np.isnan(foot), 0.0, foot)
        elif t < n + m:
            blocks.Y[:, t - n] = data
        else:
            blocks.T[t - n - m] = data


def nan_cells(values: np.ndarray, present: np.ndarray) -> dict[int, object]:
    """Cells a parser read as NaN although they were not empty ('nan' text, NaN values)."""
    return {int(i): "nan" for i in np.flatnonzero(np.isnan(values) & present)}
