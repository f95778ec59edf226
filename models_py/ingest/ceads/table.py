"""What a CEADs city MRIO file holds, as the readers hand it over: named numpy blocks and where
they came from.

The layout (the raw contract, ``ceads/ceads_city_mrio_<YYYY>.xlsx|.csv|.parquet``):

- sheet ``Table_<YYYY>_English Version``, or the first sheet named ``Table_<YYYY>...``;
- four header rows: title; region name above each column block; sector or final-use label;
  code (sector codes ``01``..``42``, final-use codes ``FU101`` ``FU102`` ``FU103`` ``FU201``
  ``FU202`` per region, then ``EX``, ``TFU``, ``ERR``, ``GO``);
- column A region, B sector label, C sector code; the intermediate block Z from column D,
  followed by a total-intermediate-use column, then the final-use block;
- one data row per region x sector, regions in the same fixed order as the columns, then footer
  rows found by their code in column C: ``IM``, ``TII``, ``VA001``..``VA004``, ``TVA``, ``TI``.

Rows are reported as a person sees them (1-based sheet rows; for CSV and Parquet, the row the
cell has in the grid) and columns as spreadsheet letters (A = region, D = first Z column).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models_py.ingest.errors import IngestError
from models_py.ingest.files import cell_text

FINAL_USE = ("FU101", "FU102", "FU103", "FU201", "FU202")
TOTALS = ("EX", "TFU", "ERR", "GO")
VALUE_ADDED = ("VA001", "VA002", "VA003", "VA004")
FOOTER = ("IM", "TII", *VALUE_ADDED, "TVA", "TI")
HEADER_ROWS = 4                       # title, region, label, code
FIRST_Z_COLUMN = 3                    # grid column D
DEFAULT_TOLERANCE = 1e-6              # row balance, relative to max(1, GO)
FILE_NAME = re.compile(r"ceads_city_mrio_(\d{4})\.(xlsx|csv|parquet)", re.IGNORECASE)
SHEET_NAME = re.compile(r"Table_(\d{4})", re.IGNORECASE)


@dataclass
class Provenance:
    """Where a table came from: file, sheet, the sheet row of each data and footer row."""
    file: Path
    format: str                       # "xlsx", "csv", "parquet" (or "warehouse", "memory")
    sheet: str | None
    rows: np.ndarray                  # 1-based sheet row of each data row, in table order
    footer_rows: dict[str, int]       # footer code -> 1-based sheet row
    encoding: str | None = None
    empty_cells: int = 0              # empty numeric cells read as 0
    seconds: float = 0.0              # time to read and check the file


@dataclass
class CeadsBlocks:
    """One year's CEADs city MRIO table as read and checked. ``n`` = regions x sectors rows,
    in table order (region-major).

    ``Z`` is n x n (C or Fortran order); ``Y_cat`` is n x regions x 5, the final use of each
    consuming region by category (``FINAL_USE``); ``VA`` is 4 x n (``VALUE_ADDED``); the other
    blocks are vectors of length n (footer rows per intermediate column). Values in 万元.
    """
    year: int
    regions: tuple[str, ...]          # city ids, table order
    region_names: tuple[str, ...]     # the names the column header gives
    sectors: tuple[str, ...]          # sector codes, table order
    sector_labels: tuple[str, ...]
    Z: np.ndarray
    Y_cat: np.ndarray
    EX: np.ndarray
    TFU: np.ndarray
    ERR: np.ndarray
    GO: np.ndarray
    IM: np.ndarray
    TII: np.ndarray
    VA: np.ndarray
    TVA: np.ndarray
    TI: np.ndarray
    source: Provenance

    @property
    def n(self) -> int:
        return len(self.regions) * len(self.sectors)


@dataclass
class Sheet:
    """The file (and sheet) being read, for error messages."""
    path: Path
    format: str
    name: str | None = None

    def error(self, message: str, *, row: int | None = None, column: int | None = None,
              value: object = None) -> IngestError:
        """An error at a 1-based sheet row and a 0-based grid column."""
        return IngestError(self.path, message, sheet=self.name, row=row,
                           column=None if column is None else column_letter(column), value=value)


def file_year(path: Path) -> int | None:
    """The year in a ``ceads_city_mrio_<YYYY>.<ext>`` file name, else None."""
    m = FILE_NAME.fullmatch(Path(path).name)
    return int(m.group(1)) if m else None


def column_letter(k: int) -> str:
    """Spreadsheet letters of 0-based grid column ``k`` (0 -> A, 26 -> AA)."""
    s, k = "", k + 1
    while k:
        k, r = divmod(k - 1, 26)
        s = chr(65 + r) + s
    return s


def text(value: object) -> str:
    """A label cell as stripped text: whole floats lose their '.0', NaN is empty."""
    if isinstance(value, float) and value != value:
        return ""
    return cell_text(value)


def code(value: object) -> str:
    """A code cell as compared with the contract: '1' and '1.0' read '01', letters upper case."""
    t = text(value)
    if re.fullmatch(r"\d+(\.0+)?", t):
        return f"{int(float(t)):02d}"
    return t.upper()


def pad(rows: list[list[str]], width: int | None = None) -> list[list[str]]:
    """Rows of text made as wide as the widest (or ``width``) with empty cells."""
    width = width or max((len(r) for r in rows), default=0)
    return [list(r) + [""] * (width - len(r)) for r in rows]


def number(cell: str) -> float | None:
    """A numeric cell read as text: thousands separators allowed; None if not a finite
    number."""
    cleaned = cell.strip().replace(",", "").replace("，", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if np.isfinite(value) else None
