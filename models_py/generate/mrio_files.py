"""The CEADs city MRIO cell grid and its writers (xlsx, csv, parquet).

A table is held as a :class:`CeadsGrid`, the exact cell grid of the CEADs workbook sheet
``Table_<YYYY>_English Version``:

- row 0: title in column 0;
- row 1: the region name in the first column of each region's column block (the intermediate
  block of 42 sector columns and the final-use block of 5 columns), empty elsewhere, as merged
  cells read back: readers forward-fill it;
- row 2: the sector label (English) or final-use label;
- row 3: the code: sector codes ``01``..``42`` per region, ``TIU`` for the total-intermediate-use
  column, ``FU101`` rural household consumption, ``FU102`` urban household consumption, ``FU103``
  government consumption, ``FU201`` gross fixed capital formation, ``FU202`` changes in
  inventories per region, then ``EX`` exports, ``TFU`` total final use, ``ERR`` errors, ``GO``
  gross output. Row 3 holds ``Region``, ``Sector``, ``Code`` in columns 0-2;
- data rows (one per region x sector, regions in table order): column 0 region name, column 1
  sector label, column 2 sector code; column 3 onward the intermediate block Z (one column per
  region x sector, same order as the rows), the ``TIU`` column (row sum of Z), the final-use
  block (5 columns per region), ``EX``, ``TFU`` (all final-use columns plus EX), ``ERR``,
  ``GO``. Every data row satisfies ``TIU + TFU - ERR = GO``;
- footer rows, found by their code in column 2 (column 0 empty): ``IM`` imported intermediate
  inputs, ``TII`` total intermediate input (column sum of Z plus IM), ``VA001`` compensation of
  employees, ``VA002`` net taxes on production, ``VA003`` depreciation of fixed capital,
  ``VA004`` operating surplus, ``TVA`` total value added, ``TI`` total input (= TII + TVA = GO of
  the column). Footer rows carry values in the Z columns and, in the TIU column, their sum over
  the Z columns; their final-use and tail cells are empty.

Unit: 万元. Zeros are written as 0; empty cells are empty.

Parquet grid format (``ceads_city_mrio_<YYYY>.parquet``): one row per body row of the grid (the
data rows, then the footer rows, in grid order). Columns: ``region`` (string; empty string on
footer rows), ``label`` (string), ``code`` (string), then one float64 column per grid column
from grid column 3 onward, named by its grid column index as a string (``"3"``, ``"4"``, ...);
an empty cell is null. The four header rows (title, region row, label row, code row) are stored
as JSON under the schema metadata key ``ceads_header``: a list of 4 lists of strings, each
covering ALL grid columns (columns 0-2 included), with ``""`` where the cell is empty. Grid row
``4 + k`` is parquet row ``k``.

CSV grid format: the exact cell grid, UTF-8 without BOM, comma separated, header rows first,
numbers in plain decimal notation with up to 6 decimals, empty cells empty.
"""
from __future__ import annotations

import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HEADER_ROWS = 4
FIRST_VALUE_COLUMN = 3
HEADER_METADATA_KEY = b"ceads_header"

FINAL_USE = (
    ("FU101", "Rural household consumption"),
    ("FU102", "Urban household consumption"),
    ("FU103", "Government consumption"),
    ("FU201", "Gross fixed capital formation"),
    ("FU202", "Changes in inventories"),
)
TAIL = (("EX", "Exports"), ("TFU", "Total final use"), ("ERR", "Errors"), ("GO", "Gross output"))
TOTAL_INTERMEDIATE_USE = ("TIU", "Total intermediate use")
FOOTER = (
    ("IM", "Imports"),
    ("TII", "Total intermediate input"),
    ("VA001", "Compensation of employees"),
    ("VA002", "Net taxes on production"),
    ("VA003", "Depreciation of fixed capital"),
    ("VA004", "Operating surplus"),
    ("TVA", "Total value added"),
    ("TI", "Total input"),
)
DECIMALS = 6
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed member timestamps keep the files reproducible


@dataclass
class CeadsGrid:
    """The cell grid of one CEADs MRIO sheet.

    ``header`` holds the 4 header rows over all grid columns; ``region``, ``label`` and
    ``code`` are grid columns 0-2 of the body rows; ``values`` holds grid columns 3 onward of
    the body rows (float64, NaN for an empty cell).
    """

    year: int
    header: list[list[str]]
    region: list[str]
    label: list[str]
    code: list[str]
    values: np.ndarray

    @property
    def n_columns(self) -> int:
        return FIRST_VALUE_COLUMN + self.values.shape[1]

    @property
    def n_rows(self) -> int:
        return HEADER_ROWS + self.values.shape[0]

    @property
    def sheet_name(self) -> str:
        return f"Table_{self.year}_English Version"

    def to_rows(self) -> list[list]:
        """The whole grid as Python lists ('' for empty string cells, None for empty numbers)."""
        rows = [list(r) for r in self.header]
        for k in range(self.values.shape[0]):
            vals = [None if np.isnan(v) else float(v) for v in self.values[k]]
            rows.append([self.region[k], self.label[k], self.code[k], *vals])
        return rows


def build_grid(year: int, regions: list[str], sector_labels: list[str], sector_codes: list[str],
               Z: np.ndarray, final_use: np.ndarray, exports: np.ndarray, errors: np.ndarray,
               gross_output: np.ndarray, imports: np.ndarray, value_added: np.ndarray) -> CeadsGrid:
    """Lay out one table as a CEADs grid.

    ``Z`` is N x N (N = regions x sectors, region-major), ``final_use`` N x n_regions x 5 in
    the FU order of :data:`FINAL_USE`, ``exports``/``errors``/``gross_output``/``imports`` have
    length N and ``value_added`` is N x 4 (VA001..VA004) per column.
    """
    n_reg, n_sec = len(regions), len(sector_codes)
    N = n_reg * n_sec
    n_fu = n_reg * len(FINAL_USE)
    n_val = N + 1 + n_fu + len(TAIL)
    n_col = FIRST_VALUE_COLUMN + n_val

    title = (f"China city-level multi-regional input-output table {year} "
             f"({n_reg} cities x {n_sec} sectors), unit: 10,000 yuan (万元)")
    row0 = [title] + [""] * (n_col - 1)
    row1 = [""] * n_col
    row2 = [""] * n_col
    row3 = ["Region", "Sector", "Code"] + [""] * (n_col - 3)
    c = FIRST_VALUE_COLUMN
    for r in range(n_reg):
        row1[c] = regions[r]
        for s in range(n_sec):
            row2[c], row3[c] = sector_labels[s], sector_codes[s]
            c += 1
    row3[c], row2[c] = TOTAL_INTERMEDIATE_USE
    c += 1
    for r in range(n_reg):
        row1[c] = regions[r]
        for code, label in FINAL_USE:
            row2[c], row3[c] = label, code
            c += 1
    for code, label in TAIL:
        row2[c], row3[c] = label, code
        c += 1

    values = np.full((N + len(FOOTER), n_val), np.nan)
    body = values[:N]
    body[:, :N] = Z
    body[:, N] = Z.sum(axis=1)
    fu_flat = final_use.reshape(N, n_fu)
    body[:, N + 1:N + 1 + n_fu] = fu_flat
    tail = N + 1 + n_fu
    body[:, tail] = exports
    body[:, tail + 1] = fu_flat.sum(axis=1) + exports
    body[:, tail + 2] = errors
    body[:, tail + 3] = gross_output

    col_z = Z.sum(axis=0)
    tva = value_added.sum(axis=1)
    footer_rows = [imports, col_z + imports, *value_added.T, tva, col_z + imports + tva]
    for k, row in enumerate(footer_rows):
        values[N + k, :N] = row
        values[N + k, N] = row.sum()

    region_col = [regions[r] for r in range(n_reg) for _ in range(n_sec)] + [""] * len(FOOTER)
    label_col = list(sector_labels) * n_reg + [lab for _, lab in FOOTER]
    code_col = list(sector_codes) * n_reg + [code for code, _ in FOOTER]
    return CeadsGrid(year, [row0, row1, row2, row3], region_col, label_col, code_col, values)


# ----------------------------------------------------------------------------------- parquet

def write_ceads_parquet(path: Path, grid: CeadsGrid) -> None:
    """Write the grid in the parquet grid format of the module docstring."""
    cols = np.asfortranarray(grid.values)
    arrays = [pa.array(grid.region, pa.string()), pa.array(grid.label, pa.string()),
              pa.array(grid.code, pa.string())]
    names = ["region", "label", "code"]
    for k in range(cols.shape[1]):
        col = cols[:, k]
        mask = np.isnan(col)
        arrays.append(pa.array(col, pa.float64(), mask=mask if mask.any() else None))
        names.append(str(FIRST_VALUE_COLUMN + k))
    meta = {HEADER_METADATA_KEY: json.dumps(grid.header, ensure_ascii=False).encode("utf-8"),
            b"ceads_year": str(grid.year).encode()}
    table = pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(meta)
    pq.write_table(table, path, compression="zstd", row_group_size=len(grid.region))


def read_ceads_parquet(path: Path) -> CeadsGrid:
    """Read a parquet grid back into a :class:`CeadsGrid`."""
    table = pq.read_table(path)
    meta = table.schema.metadata
    header = json.loads(meta[HEADER_METADATA_KEY].decode("utf-8"))
    year = int(meta.get(b"ceads_year", b"0"))
    names = table.column_names
    values = np.empty((table.num_rows, len(names) - 3))
    for k, name in enumerate(names[3:]):
        values[:, k] = table.column(name).to_numpy(zero_copy_only=False)
    return CeadsGrid(year, header, table.column("region").to_pylist(),
                     table.column("label").to_pylist(), table.column("code").to_pylist(), values)


# ------------------------------------------------------------------------- number formatting

def _format_numbers(values: np.ndarray, prefix: bytes, suffix: bytes, empty_keep: tuple[int, int]
                    ) -> tuple[bytes, np.ndarray]:
    """Format a 2-D float block as bytes, each cell ``prefix + number + suffix``.

    Numbers are plain decimals with up to :data:`DECIMALS` decimals (trailing zeros dropped).
    For a NaN cell only the first ``empty_keep[0]`` bytes of ``prefix`` and the last
    ``empty_keep[1]`` bytes of ``suffix`` are kept. Returns the bytes of all cells, row after
    row, and the byte length of each row. Vectorised: every cell is laid out in a fixed-width
    template whose unused bytes are masked out.
    """
    n_int = 12
    n_rows, n_cols = values.shape
    p, s = len(prefix), len(suffix)
    width = p + 1 + n_int + 1 + DECIMALS + s
    nan = np.isnan(values)
    v = np.where(nan, 0.0, values)
    q = np.rint(np.abs(v) * 10.0 ** DECIMALS).astype(np.int64)
    if q.size and q.max() >= 10 ** (n_int + DECIMALS):
        raise ValueError("a value is too large for the fixed-point cell format")
    buf = np.empty((n_rows, n_cols, width), dtype=np.uint8)
    keep = np.ones((n_rows, n_cols, width), dtype=bool)
    buf[:, :, :p] = np.frombuffer(prefix, np.uint8)
    buf[:, :, width - s:] = np.frombuffer(suffix, np.uint8)
    buf[:, :, p] = ord("-")
    keep[:, :, p] = (v < 0) & (q > 0)
    digits = q.copy()
    first = p + 1
    point = first + n_int
    for k in range(n_int + DECIMALS - 1, -1, -1):
        pos = first + k if k < n_int else point + 1 + (k - n_int)
        buf[:, :, pos] = (digits % 10).astype(np.uint8) + 48
        digits //= 10
    ipart = q // 10 ** DECIMALS
    frac = q - ipart * 10 ** DECIMALS
    for k in range(n_int - 1):  # the ones digit is always kept
        keep[:, :, first + k] = ipart >= 10 ** (n_int - 1 - k)
    buf[:, :, point] = ord(".")
    keep[:, :, point] = frac > 0
    trailing = np.zeros(q.shape, dtype=np.int64)
    for k in range(1, DECIMALS + 1):
        trailing += (frac % 10 ** k) == 0
    for m in range(DECIMALS):
        keep[:, :, point + 1 + m] = m < DECIMALS - trailing
    if nan.any():
        keep_nan = np.zeros(width, dtype=bool)
        keep_nan[:empty_keep[0]] = True
        if empty_keep[1]:
            keep_nan[width - empty_keep[1]:] = True
        keep[nan] = keep_nan
    lengths = keep.reshape(n_rows, -1).sum(axis=1)
    return buf[keep].tobytes(), lengths


def _iter_formatted_rows(values: np.ndarray, prefix: bytes, suffix: bytes,
                         empty_keep: tuple[int, int], chunk_cells: int = 2_500_000):
    """Yield the formatted bytes of each row of ``values``.

    Rows are formatted in blocks; the next block is formatted in a worker thread while the
    caller consumes (and compresses) the current one.
    """
    n_rows, n_cols = values.shape
    step = max(1, chunk_cells // max(n_cols, 1))
    starts = list(range(0, n_rows, step))
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = [pool.submit(_format_numbers, values[s:s + step], prefix, suffix, empty_keep)
                   for s in starts[:1]]
        for i in range(len(starts)):
            block, lengths = pending.pop(0).result()
            if i + 1 < len(starts):
                s = starts[i + 1]
                pending.append(pool.submit(_format_numbers, values[s:s + step], prefix, suffix,
                                           empty_keep))
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            for k in range(len(lengths)):
                yield block[offsets[k]:offsets[k + 1]]


# ------------------------------------------------------------------------------------- csv

def _csv_field(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_ceads_csv(path: Path, grid: CeadsGrid) -> None:
    """Write the exact cell grid as UTF-8 CSV (see the module docstring)."""
    with open(path, "wb") as fh:
        for row in grid.header:
            fh.write((",".join(_csv_field(c) for c in row) + "\n").encode("utf-8"))
        rows = _iter_formatted_rows(grid.values, b"", b",", (0, 1))
        for k, cells in enumerate(rows):
            lead = ",".join(_csv_field(c) for c in (grid.region[k], grid.label[k], grid.code[k]))
            fh.write(lead.encode("utf-8") + b"," + cells[:-1] + b"\n")


# ------------------------------------------------------------------------------------ xlsx

def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inline(text: str) -> bytes:
    if not text:
        return b"<c/>"
    return f'<c t="inlineStr"><is><t>{_xml_escape(text)}</t></is></c>'.encode("utf-8")


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    '</Relationships>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    '</Relationships>')
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')


def _workbook_xml(sheet_name: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets><sheet name="{_xml_escape(sheet_name)}" sheetId="1" r:id="rId1"/></sheets>'
            '</workbook>')


def write_ceads_xlsx(path: Path, grid: CeadsGrid, compresslevel: int = 1) -> None:
    """Write the grid as an xlsx workbook with one sheet ``Table_<YYYY>_English Version``.

    A streaming writer for full-size tables: the sheet XML is emitted directly (inline strings,
    numbers formatted by :func:`_format_numbers`, cells positioned in order so they carry no
    ``r`` attribute, empty cells written as ``<c></c>``) into a deflated zip member.
    """
    dim = f"A1:{_column_letter(grid.n_columns - 1)}{grid.n_rows}"

    def member(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = compresslevel  # read by zipfile when writing the member
        return info

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=compresslevel) as zf:
        for name, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                           ("xl/workbook.xml", _workbook_xml(grid.sheet_name)),
                           ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
                           ("xl/styles.xml", _STYLES)):
            zf.writestr(member(name), text)
        with zf.open(member("xl/worksheets/sheet1.xml"), "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                     b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                     + f'<dimension ref="{dim}"/>'.encode() + b"<sheetData>")
            for r, row in enumerate(grid.header):
                last = max((k for k, c in enumerate(row) if c), default=-1)
                cells = b"".join(_inline(c) for c in row[:last + 1])
                fh.write(f'<row r="{r + 1}">'.encode() + cells + b"</row>")
            rows = _iter_formatted_rows(grid.values, b"<c><v>", b"</v></c>", (3, 4))
            for k, cells in enumerate(rows):
                lead = b"".join(_inline(c) for c in (grid.region[k], grid.label[k], grid.code[k]))
                fh.write(f'<row r="{HEADER_ROWS + k + 1}">'.encode() + lead + cells + b"</row>")
            fh.write(b"</sheetData></worksheet>")


def write_ceads_xlsx_small(path: Path, grid: CeadsGrid) -> None:
    """Write the grid with xlsxwriter (fine for small tables; far too slow at full size)."""
    import datetime

    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"created": datetime.datetime(grid.year + 1, 1, 1)})
    ws = wb.add_worksheet(grid.sheet_name)
    for r, row in enumerate(grid.header):
        for c, text in enumerate(row):
            if text:
                ws.write_string(r, c, text)
    for k in range(grid.values.shape[0]):
        r = HEADER_ROWS + k
        for c, text in enumerate((grid.region[k], grid.label[k], grid.code[k])):
            if text:
                ws.write_string(r, c, text)
        for c, v in enumerate(grid.values[k]):
            if not np.isnan(v):
                ws.write_number(r, FIRST_VALUE_COLUMN + c, float(v))
    wb.close()
