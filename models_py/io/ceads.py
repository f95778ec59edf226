"""Read a CEADs city multi-regional input-output table into named numpy blocks.

The layout (the raw contract, ``ceads/ceads_city_mrio_<YYYY>.xlsx|.csv|.parquet``):

- sheet ``Table_<YYYY>_English Version``, or the first sheet named ``Table_<YYYY>...``;
- four header rows: title; region name above each column block; sector or final-use label;
  code (sector codes ``01``..``42``, final-use codes ``FU101`` ``FU102`` ``FU103`` ``FU201``
  ``FU202`` per region, then ``EX``, ``TFU``, ``ERR``, ``GO``);
- column A region, B sector label, C sector code; the intermediate block Z from column D,
  followed by a total-intermediate-use column, then the final-use block;
- one data row per region x sector, regions in the same fixed order as the columns, then footer
  rows found by their code in column C: ``IM``, ``TII``, ``VA001``..``VA004``, ``TVA``, ``TI``.

A Parquet file holds the same grid: the body rows (data and footer rows) as columns ``region``,
``label``, ``code`` and one float64 column per grid column from column D on, named by its grid
column index (``"3"``, ``"4"``, ...); the four header rows are JSON in the schema metadata key
``ceads_header`` (four lists of strings over all grid columns).

Everything in the file is checked against the layout; a violation is an IngestError naming the
file, the sheet, the 1-based sheet row (for CSV and Parquet: the row the cell has in the grid),
the column as a spreadsheet letter (A = region, D = first Z column) and the value.

Workbooks are read with fastexcel, which hands the numbers over as Arrow columns: no Python
object is made per cell. Empty numeric cells read as 0 (writers leave zero flows blank); any
other text in a numeric cell is an error.
"""
from __future__ import annotations

import codecs
import csv
import json
import re
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from models_py import reference
from models_py.ingest import names
from models_py.ingest.errors import IngestError
from models_py.ingest.numbers import MISSING_MARKERS

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
    format: str                       # "xlsx", "csv" or "parquet"
    sheet: str | None
    rows: np.ndarray                  # 1-based sheet row of each data row, in table order
    footer_rows: dict[str, int]       # footer code -> 1-based sheet row
    encoding: str | None = None
    empty_cells: int = 0              # empty numeric cells read as 0
    seconds: float = 0.0              # time to read and check the file


@dataclass
class MrioTable:
    """One year's city MRIO table. ``n`` = regions x sectors rows, in table order.

    ``Z`` is n x n (Fortran order, ready for LAPACK); ``Y_cat`` is n x regions x 5, the final
    use of each consuming region by category (``FINAL_USE``); ``VA`` is 4 x n (``VALUE_ADDED``);
    the other blocks are vectors of length n (footer rows per intermediate column).
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
    source: Provenance = field(repr=False)

    @property
    def n(self) -> int:
        return len(self.regions) * len(self.sectors)

    def row_regions(self) -> np.ndarray:
        """City id of each row (and Z column)."""
        return np.repeat(np.array(self.regions, dtype=object), len(self.sectors))

    def row_sectors(self) -> np.ndarray:
        """Sector code of each row (and Z column)."""
        return np.tile(np.array(self.sectors, dtype=object), len(self.regions))


def file_year(path: Path) -> int | None:
    """The year in a ``ceads_city_mrio_<YYYY>.<ext>`` file name, else None."""
    m = FILE_NAME.fullmatch(Path(path).name)
    return int(m.group(1)) if m else None


def read_mrio(path: Path, *, year: int | None = None,
              tolerance: float = DEFAULT_TOLERANCE) -> MrioTable:
    """Read and check one CEADs city MRIO file (.xlsx, .csv or .parquet).

    ``year`` defaults to the year in the file name (for a workbook, the year of its
    ``Table_<YYYY>`` sheet if the name has none). Rows must balance: |Z row sum + final use +
    EX - ERR - GO| <= ``tolerance`` * max(1, |GO|).
    """
    path = Path(path)
    start = time.perf_counter()
    year = year if year is not None else file_year(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        grid = _read_xlsx(path, year)
    elif suffix == ".csv":
        grid = _read_csv(path)
    elif suffix == ".parquet":
        grid = _read_parquet(path)
    else:
        raise IngestError(path, "expected an .xlsx, .csv or .parquet file")
    if grid.year is not None:
        year = grid.year
    if year is None:
        raise IngestError(path, "no year: expected a file name ceads_city_mrio_<YYYY>.<ext>")
    table = _assemble(grid, year, tolerance)
    table.source.seconds = round(time.perf_counter() - start, 3)
    return table


# --------------------------------------------------------------------------------------------
# The grid as the format readers hand it over

@dataclass
class _Grid:
    """Header rows and body of one file, independent of its format.

    ``text`` holds columns A, B, C of every body row; ``fetch(columns)`` yields, for grid
    columns in the order asked, (column, float64 values of every body row with NaN where the
    cell is empty, {body row: raw value} of cells that are not numbers).
    """
    path: Path
    format: str
    sheet: str | None
    header: list[list[str]]
    text: tuple[list[str], list[str], list[str]]
    first_row: int
    fetch: Callable[[Sequence[int]], Iterator[tuple[int, np.ndarray, dict[int, object]]]]
    encoding: str | None = None
    year: int | None = None
    body_rows: np.ndarray | None = None   # sheet row of each body row, if not consecutive

    def sheet_row(self, body_row: int) -> int:
        if self.body_rows is not None:
            return int(self.body_rows[body_row])
        return self.first_row + body_row

    def error(self, message: str, *, row: int | None = None, column: int | None = None,
              value: object = None) -> IngestError:
        """An error at a 1-based sheet row and a 0-based grid column."""
        return IngestError(self.path, message, sheet=self.sheet, row=row,
                           column=None if column is None else column_letter(column), value=value)


def column_letter(k: int) -> str:
    """Spreadsheet letters of 0-based grid column ``k`` (0 -> A, 26 -> AA)."""
    s, k = "", k + 1
    while k:
        k, r = divmod(k - 1, 26)
        s = chr(65 + r) + s
    return s


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).strip().replace("\u3000", "")


def _code(value: object) -> str:
    """A code cell as compared with the contract: '1' and '1.0' read '01', letters upper case."""
    text = _text(value)
    if re.fullmatch(r"\d+(\.0+)?", text):
        return f"{int(float(text)):02d}"
    return text.upper()


def _pad(rows: list[list[str]], width: int | None = None) -> list[list[str]]:
    width = width or max((len(r) for r in rows), default=0)
    return [list(r) + [""] * (width - len(r)) for r in rows]


def _number(text: str) -> float | None:
    """A numeric cell read as text: thousands separators allowed; None if not a finite
    number."""
    cleaned = text.strip().replace(",", "").replace("，", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _nan_cells(values: np.ndarray, present: np.ndarray) -> dict[int, object]:
    """Cells a parser read as NaN although they were not empty ('nan' text, NaN values)."""
    return {int(i): "nan" for i in np.flatnonzero(np.isnan(values) & present)}


# --------------------------------------------------------------------------------------------
# xlsx: the header rows straight from the sheet XML, the body through fastexcel

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _read_xlsx(path: Path, year: int | None) -> _Grid:
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise IngestError(path, f"cannot be read as an xlsx workbook: {e}") from None
    with book:
        parts, shared_part = _xlsx_parts(path, book)
        sheet = _pick_sheet(path, list(parts), year)
        shared = _shared_strings(book, shared_part)
        header = _xlsx_rows(book, parts[sheet], shared, HEADER_ROWS)
    sheet_year = int(SHEET_NAME.match(sheet).group(1))
    width = max(len(r) for r in header)

    import fastexcel

    dtypes = {0: "string", 1: "string", 2: "string"}
    dtypes.update({k: "float" for k in range(FIRST_Z_COLUMN, width)})
    try:
        loaded = fastexcel.read_excel(path).load_sheet(
            sheet, header_row=None, skip_rows=HEADER_ROWS, dtypes=dtypes)
        batch, errors = loaded.to_arrow_with_errors()
    except Exception as e:  # fastexcel raises its own types for corrupt sheets
        raise IngestError(path, f"cannot read the sheet: {e}", sheet=sheet) from None
    del loaded
    text = tuple([_text(v) for v in batch.column(k).to_pylist()] if k < batch.num_columns
                 else [""] * batch.num_rows for k in range(3))
    bad: dict[int, dict[int, object]] = {}
    patches: dict[int, dict[int, float]] = {}
    for err in (errors.errors if errors else []):
        row, col = err.offset_position
        raw = _cell_error_value(err.detail)
        number = _number(raw) if isinstance(raw, str) else None
        if number is not None:
            patches.setdefault(col, {})[row] = number
        else:
            bad.setdefault(col, {})[row] = raw

    def fetch(columns: Sequence[int]):
        for k in columns:
            if k >= batch.num_columns:
                yield k, np.full(batch.num_rows, np.nan), {}
                continue
            column = batch.column(k)
            values = column.to_numpy(zero_copy_only=False)
            if k in patches:
                values = values.copy()
                for row, number in patches[k].items():
                    values[row] = number
            yield k, values, {**_nan_cells(values, column.is_valid().to_numpy(
                zero_copy_only=False)), **bad.get(k, {})}

    return _Grid(path, "xlsx", sheet, _pad(header, width), text, HEADER_ROWS + 1, fetch,
                 year=sheet_year)


def _cell_error_value(detail: str) -> object:
    """The cell value in a fastexcel cell error ("Expected float but got 'String(\"x\")'")."""
    m = re.search(r"got '(\w+)\((.*)\)'$", detail, re.S)
    if not m:
        return detail
    kind, payload = m.groups()
    if kind == "String" and len(payload) >= 2 and payload[0] == payload[-1] == '"':
        return payload[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return f"{kind}({payload})"


def _xlsx_parts(path: Path, book: zipfile.ZipFile) -> tuple[dict[str, str], str | None]:
    """Sheet name -> worksheet part, and the shared-strings part, from the package relations."""
    try:
        root_rels = ET.fromstring(book.read("_rels/.rels"))
        workbook = next(r.get("Target") for r in root_rels.iter(f"{_PKG_REL}Relationship")
                        if r.get("Type", "").endswith("/officeDocument"))
        workbook = workbook.lstrip("/")
        base = PurePosixPath(workbook).parent
        rels_name = str(base / "_rels" / (PurePosixPath(workbook).name + ".rels"))
        rels = {r.get("Id"): (r.get("Type", ""), r.get("Target"))
                for r in ET.fromstring(book.read(rels_name)).iter(f"{_PKG_REL}Relationship")}
        sheets = ET.fromstring(book.read(workbook)).iter(f"{_MAIN}sheet")
    except (KeyError, StopIteration, ET.ParseError) as e:
        raise IngestError(path, f"cannot be read as an xlsx workbook: {e}") from None

    def part(target: str) -> str:
        return target.lstrip("/") if target.startswith("/") else str(base / target)

    parts = {s.get("name"): part(rels[s.get(f"{_REL}id")][1]) for s in sheets}
    shared = next((part(t) for kind, t in rels.values() if kind.endswith("/sharedStrings")), None)
    return parts, shared


def _pick_sheet(path: Path, sheets: list[str], year: int | None) -> str:
    """``Table_<YYYY>_English Version``, else the first ``Table_<YYYY>...`` sheet."""
    tables = [s for s in sheets if SHEET_NAME.match(s)]
    if not tables:
        raise IngestError(path, "no sheet named Table_<YYYY>... (sheets: "
                          + ", ".join(sheets) + ")")
    if year is not None:
        matching = [s for s in tables if int(SHEET_NAME.match(s).group(1)) == year]
        if not matching:
            raise IngestError(path, f"the table sheet's year does not match the file name's "
                              f"year {year}", sheet=tables[0], value=tables[0])
        tables = matching
    english = [s for s in tables if s.lower().endswith("_english version")]
    return (english or tables)[0]


def _shared_strings(book: zipfile.ZipFile, part: str | None) -> list[str]:
    """The shared-strings table; rich text runs joined, phonetic runs left out."""
    if part is None or part not in book.namelist():
        return []
    strings = []
    for _, elem in ET.iterparse(book.open(part), events=("end",)):
        if elem.tag == f"{_MAIN}si":
            parts = []
            for child in elem:
                if child.tag == f"{_MAIN}t":
                    parts.append(child.text or "")
                elif child.tag == f"{_MAIN}r":
                    parts.extend(t.text or "" for t in child.iter(f"{_MAIN}t"))
            strings.append("".join(parts))
            elem.clear()
    return strings


def _xlsx_rows(book: zipfile.ZipFile, part: str, shared: list[str], count: int) -> list[list[str]]:
    """The first ``count`` rows of a worksheet as text, reading no further into the sheet."""
    rows: list[list[str]] = [[] for _ in range(count)]
    number = 0
    for _, elem in ET.iterparse(book.open(part), events=("end",)):
        if elem.tag != f"{_MAIN}row":
            continue
        number = int(elem.get("r") or number + 1)
        if number > count:
            break
        cells: dict[int, str] = {}
        position = -1
        for c in elem.iter(f"{_MAIN}c"):
            ref = c.get("r")
            position = _ref_column(ref) if ref else position + 1
            cells[position] = _xml_cell(c, shared)
        if cells:
            rows[number - 1] = [cells.get(k, "") for k in range(max(cells) + 1)]
        elem.clear()
    return rows


def _ref_column(ref: str) -> int:
    k = 0
    for ch in ref:
        if not ch.isalpha():
            break
        k = k * 26 + ord(ch.upper()) - 64
    return k - 1


def _xml_cell(c: ET.Element, shared: list[str]) -> str:
    kind = c.get("t")
    v = c.find(f"{_MAIN}v")
    if kind == "inlineStr":
        return _text("".join(t.text or "" for t in c.iter(f"{_MAIN}t")))
    if v is None or v.text is None:
        return ""
    if kind == "s":
        return _text(shared[int(v.text)])
    if kind in ("str", "e", "b"):
        return _text(v.text)
    try:
        return _text(float(v.text))
    except ValueError:
        return _text(v.text)


# --------------------------------------------------------------------------------------------
# csv: encoding detected over the whole file, the body through pyarrow (a Python parser finds
# the exact cell when pyarrow cannot convert one)

def _read_csv(path: Path) -> _Grid:
    encoding = _detect_encoding(path)
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f)
        header = [[_text(v) for v in row] for _, row in zip(range(HEADER_ROWS), reader)]
    header = _pad(header + [[]] * (HEADER_ROWS - len(header)))
    width = len(header[0])
    try:
        return _read_csv_arrow(path, encoding, header, width)
    except _SlowPath:
        return _read_csv_python(path, encoding, header, width)


class _SlowPath(Exception):
    pass


def _detect_encoding(path: Path) -> str:
    """'utf-8-sig', 'utf-8' or 'gb18030', whichever decodes the whole file; else an error
    naming the line of the first byte that fits neither."""
    with path.open("rb") as f:
        bom = f.read(3) == b"\xef\xbb\xbf"
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        with path.open("rb") as f:
            try:
                for block in iter(lambda: f.read(1 << 24), b""):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
        if encoding == "utf-8":
            return "utf-8-sig" if bom else "utf-8"
        return encoding
    raise IngestError(path, "cannot be decoded as UTF-8 or GBK/GB18030",
                      row=_line_of_bad_byte(path, "gb18030"))


def _line_of_bad_byte(path: Path, encoding: str) -> int:
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as e:
                return line + block[: max(e.start, 0)].count(b"\n")
            line += block.count(b"\n")
    return line


def _read_csv_arrow(path: Path, encoding: str, header: list[list[str]], width: int) -> _Grid:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names_ = [f"c{k}" for k in range(width)]
    types = {name: (pa.string() if k < FIRST_Z_COLUMN else pa.float64())
             for k, name in enumerate(names_)}
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=HEADER_ROWS, column_names=names_,
                                           encoding="utf8" if encoding.startswith("utf-8")
                                           else encoding, block_size=1 << 26),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types=types, null_values=[""],
                                                 strings_can_be_null=False))
    except pa.ArrowInvalid:
        raise _SlowPath from None
    text = tuple([_text(v) for v in table.column(k).to_pylist()] for k in range(3))

    def fetch(columns: Sequence[int]):
        for k in columns:
            if k >= width:
                yield k, np.full(table.num_rows, np.nan), {}
                continue
            column = table.column(k)
            values = column.to_numpy()
            yield k, values, _nan_cells(values, column.is_valid().to_numpy())

    return _Grid(path, "csv", None, header, text, HEADER_ROWS + 1, fetch, encoding=encoding)


def _read_csv_python(path: Path, encoding: str, header: list[list[str]], width: int) -> _Grid:
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
            region.append(_text(cells[0]))
            label.append(_text(cells[1]))
            code.append(_text(cells[2]))
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
                    number = np.nan if stripped == "" else _number(stripped)
                    if number is None:
                        bad.setdefault(FIRST_Z_COLUMN + j, {})[i] = cell
                        number = np.nan
                    values[j] = number
            rows.append(values)
    body = np.vstack(rows) if rows else np.empty((0, width - FIRST_Z_COLUMN))

    def fetch(columns: Sequence[int]):
        for k in columns:
            if k >= width:
                yield k, np.full(len(body), np.nan), {}
                continue
            yield k, body[:, k - FIRST_Z_COLUMN], bad.get(k, {})

    return _Grid(path, "csv", None, header, (region, label, code), HEADER_ROWS + 1, fetch,
                 encoding=encoding, body_rows=np.array(lines, dtype=np.int64))


# --------------------------------------------------------------------------------------------
# parquet: header from the schema metadata, numeric columns read a batch at a time

_PARQUET_BATCH = 512


def _read_parquet(path: Path) -> _Grid:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(path)
        meta = pfile.schema_arrow.metadata or {}
    except Exception as e:  # pyarrow raises several types for corrupt files
        raise IngestError(path, f"cannot be read as a Parquet file: {e}") from None
    if b"ceads_header" not in meta:
        raise IngestError(path, "no 'ceads_header' key in the Parquet schema metadata: expected "
                          "the four header rows as JSON")
    header = json.loads(meta[b"ceads_header"])
    if not (isinstance(header, list) and len(header) == HEADER_ROWS
            and all(isinstance(r, list) for r in header)):
        raise IngestError(path, "'ceads_header' must be a list of 4 lists of strings")
    header = _pad([[_text(v) for v in r] for r in header])
    columns = set(pfile.schema_arrow.names)
    for name in ("region", "label", "code"):
        if name not in columns:
            raise IngestError(path, "missing column", column=name)
    first = pfile.read(columns=["region", "label", "code"])
    text = tuple([_text(v) for v in first.column(name).to_pylist()]
                 for name in ("region", "label", "code"))
    rows = first.num_rows

    def fetch(wanted: Sequence[int]):
        for start in range(0, len(wanted), _PARQUET_BATCH):
            batch = wanted[start:start + _PARQUET_BATCH]
            present = [k for k in batch if str(k) in columns]
            part = pfile.read(columns=[str(k) for k in present]) if present else None
            for k in batch:
                if str(k) not in columns:
                    yield k, np.full(rows, np.nan), {}
                    continue
                column = part.column(str(k))
                if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
                    values = column.cast(pa.float64()).to_numpy()
                    yield k, values, _nan_cells(values, column.is_valid().to_numpy())
                else:
                    yield k, *_parse_text_column(column.to_pylist())

    return _Grid(path, "parquet", None, header, text, HEADER_ROWS + 1, fetch)


def _parse_text_column(cells: list[object]) -> tuple[np.ndarray, dict[int, object]]:
    values = np.full(len(cells), np.nan)
    bad: dict[int, object] = {}
    for i, cell in enumerate(cells):
        text = "" if cell is None else str(cell).strip()
        if text:
            number = _number(text)
            if number is None:
                bad[i] = cell
            else:
                values[i] = number
    return values, bad


# --------------------------------------------------------------------------------------------
# The layout checks and the blocks

@dataclass
class _Layout:
    z_columns: list[int]
    regions: list[str]                # city ids, column order
    region_names: list[str]
    sectors: list[str]
    sector_labels: list[str]
    fu_columns: list[int]             # region-major, FINAL_USE order
    totals: dict[str, int]            # EX/TFU/ERR/GO -> grid column
    footer_rows: dict[str, int]       # footer code -> body row


def _assemble(grid: _Grid, year: int, tolerance: float) -> MrioTable:
    layout = _check_layout(grid, year)
    n, r_count = len(layout.z_columns), len(layout.regions)
    Z = np.empty((n, n), order="F")
    Y_cat = np.empty((n, r_count, len(FINAL_USE)))
    totals = {code: np.empty(n) for code in TOTALS}
    footer = np.empty((len(FOOTER), n))
    footer_at = np.array([layout.footer_rows[c] for c in FOOTER])
    last_z = layout.z_columns[-1]

    targets: dict[int, np.ndarray] = {}          # grid column -> where its data rows go
    for c, k in enumerate(layout.z_columns):
        targets[k] = Z[:, c]
    for q, k in enumerate(layout.fu_columns):
        targets[k] = Y_cat[:, q // len(FINAL_USE), q % len(FINAL_USE)]
    for code, k in layout.totals.items():
        targets[k] = totals[code]

    bad_cells: list[tuple[int, int, object]] = []
    empty = 0
    footer_set = set(footer_at.tolist())
    for k, values, bad in grid.fetch(sorted(targets)):
        is_z = k <= last_z
        bad_cells.extend((row, k, raw) for row, raw in bad.items()
                         if row < n or (is_z and row in footer_set))
        data = values[:n]
        if np.isinf(data).any():
            i = int(np.flatnonzero(np.isinf(data))[0])
            raise grid.error("infinite value", row=grid.sheet_row(i), column=k,
                             value=float(data[i]))
        blank = np.isnan(data)
        empty += int(blank.sum())
        targets[k][:] = np.where(blank, 0.0, data)
        if is_z:
            foot = values[footer_at]
            footer[:, k - FIRST_Z_COLUMN] = np.where(np.isnan(foot), 0.0, foot)
    if bad_cells:
        row, k, raw = min(bad_cells, key=lambda b: (b[0], b[1]))
        what = "a missing-value marker" if _text(raw) in MISSING_MARKERS else "text"
        raise grid.error(f"expected a number, found {what} (an input-output table cannot "
                         "have a missing flow)", row=grid.sheet_row(row), column=k, value=raw)

    _check_balance(grid, layout, Z, Y_cat, totals, tolerance)
    provenance = Provenance(
        grid.path, grid.format, grid.sheet,
        np.array([grid.sheet_row(i) for i in range(n)], dtype=np.int64),
        {code: grid.sheet_row(b) for code, b in layout.footer_rows.items()},
        encoding=grid.encoding, empty_cells=empty)
    f = dict(zip(FOOTER, footer))
    return MrioTable(
        year=year, regions=tuple(layout.regions), region_names=tuple(layout.region_names),
        sectors=tuple(layout.sectors), sector_labels=tuple(layout.sector_labels), Z=Z, Y_cat=Y_cat,
        EX=totals["EX"], TFU=totals["TFU"], ERR=totals["ERR"], GO=totals["GO"],
        IM=f["IM"], TII=f["TII"], VA=np.vstack([f[c] for c in VALUE_ADDED]), TVA=f["TVA"],
        TI=f["TI"], source=provenance)


def _check_layout(grid: _Grid, year: int) -> _Layout:
    """Where every block is, from the header rows and columns A-C; every order, count and
    name checked against the contract."""
    title, region_row, label_row, code_row = grid.header
    codes = [_code(v) for v in code_row]
    width = len(codes)
    resolver = _RegionResolver(grid, year)
    known_sectors = set(reference.sectors()["sector_code"])

    # Z columns: the run of sector codes from column D
    k = FIRST_Z_COLUMN
    while k < width and re.fullmatch(r"\d{2}", codes[k]):
        k += 1
    z_end = k
    if z_end == FIRST_Z_COLUMN:
        raise grid.error("expected the first sector code of the Z block in the codes row",
                         row=HEADER_ROWS, column=FIRST_Z_COLUMN,
                         value=code_row[FIRST_Z_COLUMN] if width > FIRST_Z_COLUMN else "")
    for k in range(FIRST_Z_COLUMN, z_end):
        if codes[k] not in known_sectors:
            raise grid.error("sector code not in the 42-sector classification (01..42)",
                             row=HEADER_ROWS, column=k, value=code_row[k])

    column_regions = _forward_fill(region_row, FIRST_Z_COLUMN, z_end)
    if not column_regions[0]:
        raise grid.error("expected a region name above the first Z column", row=2,
                         column=FIRST_Z_COLUMN, value="")
    blocks: list[tuple[int, int]] = []           # (first column, end column) per region
    for k in range(FIRST_Z_COLUMN, z_end):
        if k == FIRST_Z_COLUMN or column_regions[k - FIRST_Z_COLUMN] != \
                column_regions[k - FIRST_Z_COLUMN - 1]:
            blocks.append((k, k + 1))
        else:
            blocks[-1] = (blocks[-1][0], k + 1)
    sectors = codes[blocks[0][0]:blocks[0][1]]
    s_count = len(sectors)
    if len(set(sectors)) != s_count:
        j = next(j for j, s in enumerate(sectors) if s in sectors[:j])
        raise grid.error(f"sector {sectors[j]} appears twice in the first region's block",
                         row=HEADER_ROWS, column=blocks[0][0] + j, value=sectors[j])
    regions, region_names = [], []
    for b, (start, end) in enumerate(blocks):
        name = column_regions[start - FIRST_Z_COLUMN]
        city = resolver.resolve(name, row=2, column=start)
        if city in regions:
            raise grid.error(f"region {name} ({city}) has a second column block (the first "
                             f"starts at column {column_letter(blocks[regions.index(city)][0])})",
                             row=2, column=start, value=name)
        got = codes[start:end]
        for j, expected in enumerate(sectors):
            if j >= len(got):
                truncated = b == len(blocks) - 1
                raise grid.error(
                    ("truncated Z block: " if truncated else "") +
                    f"region {name} has {len(got)} of the {s_count} sector columns of the first "
                    f"region; expected sector {expected} in this column",
                    row=HEADER_ROWS, column=end, value=code_row[end] if end < width else "")
            if got[j] != expected:
                raise grid.error(f"expected sector {expected} (the order of the first region's "
                                 f"block) under region {name}", row=HEADER_ROWS,
                                 column=start + j, value=code_row[start + j])
        if len(got) > s_count:
            raise grid.error(f"region {name} has more sector columns than the {s_count} of the "
                             "first region", row=HEADER_ROWS, column=start + s_count,
                             value=code_row[start + s_count])
        regions.append(city)
        region_names.append(name)
    sector_labels = [label_row[k] for k in range(blocks[0][0], blocks[0][1])]

    fu_columns, totals = _check_final_use(grid, codes, code_row, region_row, z_end, regions,
                                          resolver)
    footer_rows = _check_rows(grid, regions, sectors, resolver)
    return _Layout(list(range(FIRST_Z_COLUMN, z_end)), regions, region_names, sectors,
                   sector_labels, fu_columns, totals, footer_rows)


def _forward_fill(values: list[str], start: int, end: int) -> list[str]:
    out, current = [], ""
    for k in range(start, end):
        current = values[k] or current
        out.append(current)
    return out


def _check_final_use(grid: _Grid, codes: list[str], code_row: list[str], region_row: list[str],
                     z_end: int, regions: list[str], resolver: _RegionResolver):
    """Final-use columns (region-major, FINAL_USE order) and the EX/TFU/ERR/GO columns."""
    width = len(codes)
    first_fu = next((k for k in range(z_end, width) if codes[k] in FINAL_USE), None)
    if first_fu is None:
        raise grid.error(f"no final-use column ({', '.join(FINAL_USE)}) after the Z block",
                         row=HEADER_ROWS, column=z_end)
    for k in range(z_end, first_fu):
        if re.fullmatch(r"\d{2}", codes[k]) or codes[k] in TOTALS or codes[k] in FOOTER:
            raise grid.error("expected the total-intermediate-use column between the Z block "
                             "and the final-use block", row=HEADER_ROWS, column=k,
                             value=code_row[k])
    if first_fu - z_end > 1:
        raise grid.error("more than one column between the Z block and the final-use block "
                         "(expected only total intermediate use)", row=HEADER_ROWS,
                         column=z_end + 1, value=code_row[z_end + 1])
    count = len(regions) * len(FINAL_USE)
    fu_columns = list(range(first_fu, first_fu + count))
    current = ""
    for q, k in enumerate(fu_columns):
        r, c = divmod(q, len(FINAL_USE))
        expected = FINAL_USE[c]
        got = codes[k] if k < width else ""
        if got != expected:
            raise grid.error(f"expected final-use code {expected} in the block of region "
                             f"{r + 1} ({len(regions)} regions x {len(FINAL_USE)} categories, "
                             "in the order of the Z block)", row=HEADER_ROWS, column=k,
                             value=code_row[k] if k < width else "")
        current = region_row[k] or (current if c else "")
        if c == 0 and not current:
            raise grid.error("expected a region name above the final-use block", row=2,
                             column=k, value="")
        if region_row[k] or c == 0:
            city = resolver.resolve(current, row=2, column=k)
            if city != regions[r]:
                raise grid.error(f"final-use block of region {r + 1} is for {current} ({city}); "
                                 f"expected {regions[r]} as in the Z block", row=2, column=k,
                                 value=current)
    totals: dict[str, int] = {}
    for k in range(first_fu + count, width):
        if codes[k] in TOTALS:
            if codes[k] in totals:
                raise grid.error(f"code {codes[k]} appears twice in the codes row (also column "
                                 f"{column_letter(totals[codes[k]])})", row=HEADER_ROWS,
                                 column=k, value=code_row[k])
            totals[codes[k]] = k
        elif codes[k]:
            raise grid.error("unexpected code after the final-use block (expected "
                             + ", ".join(TOTALS) + ")", row=HEADER_ROWS, column=k,
                             value=code_row[k])
    for code in TOTALS:
        if code not in totals:
            raise grid.error(f"no {code} column in the codes row after the final-use block",
                             row=HEADER_ROWS, column=first_fu + count)
    return fu_columns, totals


def _check_rows(grid: _Grid, regions: list[str], sectors: list[str],
                resolver: _RegionResolver) -> dict[str, int]:
    """Check the data rows (body rows 0..n-1: the region and sector order of the columns) and
    find the footer rows; returns footer code -> body row."""
    region_col, _, code_col = grid.text
    codes = [_code(v) for v in code_col]
    s_count, expected_rows = len(sectors), len(regions) * len(sectors)
    data_end = 0
    while data_end < len(codes) and re.fullmatch(r"\d{2}", codes[data_end]):
        data_end += 1
    current = ""
    for i in range(min(data_end, expected_rows)):
        r, s = divmod(i, s_count)
        current = region_col[i] or ("" if s == 0 else current)
        if not current:
            raise grid.error("expected a region name in the first row of a region block",
                             row=grid.sheet_row(i), column=0, value="")
        if region_col[i] or s == 0:
            city = resolver.resolve(current, row=grid.sheet_row(i), column=0)
            if city != regions[r]:
                raise grid.error(f"expected region {resolver.name_of(regions[r])} "
                                 f"({regions[r]}) in this row, as in the column order of the "
                                 f"Z block; found {current} ({city})", row=grid.sheet_row(i),
                                 column=0, value=region_col[i] or current)
        if codes[i] != sectors[s]:
            raise grid.error(f"expected sector {sectors[s]} (the sector order of the columns) "
                             f"in region {resolver.name_of(regions[r])}",
                             row=grid.sheet_row(i), column=2, value=code_col[i])
    if data_end < expected_rows:
        at = grid.sheet_row(data_end) if data_end < len(codes) else \
            grid.sheet_row(len(codes) - 1) + 1
        r, s = divmod(data_end, s_count)
        raise grid.error(
            f"truncated Z block: the columns hold {len(regions)} regions x {s_count} sectors = "
            f"{expected_rows} region-sectors but only {data_end} data rows precede this row "
            f"(expected region {resolver.name_of(regions[r])} sector {sectors[s]} here)",
            row=at, column=2, value=code_col[data_end] if data_end < len(codes) else "")
    if data_end > expected_rows:
        raise grid.error(f"data row beyond the {expected_rows} region-sector columns of the Z "
                         "block", row=grid.sheet_row(expected_rows), column=2,
                         value=code_col[expected_rows])
    footer_rows: dict[str, int] = {}
    for i in range(data_end, len(codes)):
        code = codes[i]
        if code in FOOTER:
            if code in footer_rows:
                raise grid.error(f"footer row {code} appears twice (also row "
                                 f"{grid.sheet_row(footer_rows[code])})",
                                 row=grid.sheet_row(i), column=2, value=code_col[i])
            footer_rows[code] = i
        elif re.fullmatch(r"\d{2}", code):
            raise grid.error("data row after the end of the data rows", row=grid.sheet_row(i),
                             column=2, value=code_col[i])
    missing = [c for c in FOOTER if c not in footer_rows]
    if missing:
        after = max(footer_rows.values(), default=data_end - 1)
        raise grid.error(f"missing footer row {', '.join(missing)} (expected "
                         f"{', '.join(FOOTER)} below the data rows, found by their code in "
                         "column C)", row=grid.sheet_row(after) + 1, column=2)
    return footer_rows


class _RegionResolver:
    """Region names to city ids, each distinct name resolved once."""

    def __init__(self, grid: _Grid, year: int):
        self.grid, self.year = grid, year
        self.cities = names.cities()
        self.ids: dict[str, str] = {}

    def resolve(self, name: str, *, row: int, column: int) -> str:
        if name not in self.ids:
            def where(message, value):
                return self.grid.error(message, row=row, column=column, value=value)
            self.ids[name] = self.cities.resolve(name, self.year, where)
        return self.ids[name]

    def name_of(self, city: str) -> str:
        return next((n for n, c in self.ids.items() if c == city), city)


def _check_balance(grid: _Grid, layout: _Layout, Z: np.ndarray, Y_cat: np.ndarray,
                   totals: dict[str, np.ndarray], tolerance: float) -> None:
    lhs = Z.sum(axis=1) + Y_cat.sum(axis=(1, 2)) + totals["EX"] - totals["ERR"]
    go = totals["GO"]
    excess = np.abs(lhs - go) - tolerance * np.maximum(1.0, np.abs(go))
    if (excess > 0).any():
        i = int(np.flatnonzero(excess > 0)[0])
        raise grid.error(
            f"row does not balance: Z row sum + final use + EX - ERR = {lhs[i]:.10g} but GO = "
            f"{go[i]:.10g} (difference {lhs[i] - go[i]:.6g}; tolerance {tolerance:g} x "
            "max(1, |GO|))", row=grid.sheet_row(i),
            column=layout.totals["GO"], value=float(go[i]))
