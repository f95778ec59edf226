"""Hand-written CEADs files for the tests: a 2-region x 2-sector table worked out by hand, a
random table, and writers for every format, including workbooks whose sheet XML is laid out the
way other spreadsheet writers do it (shared or inline strings, cell references or none, rows out
of order, namespace prefixes, numbers as text or in scientific notation)."""
from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook

from models_py.ingest.ceads.table import FINAL_USE, column_letter

FU_LABELS = ["Rural household consumption", "Urban household consumption",
             "Government consumption", "Gross fixed capital formation", "Changes in inventories"]
TAIL_LABELS = ["Exports", "Total final use", "Errors", "Gross output"]
_ = None

# 2 regions (北京市, 天津市) x 2 sectors (01 labor, 16 technology), 万元.
# Columns: A region, B label, C code, D..G Z, H TIU, I..M 北京 FU101..FU202,
# N..R 天津 FU101..FU202, S EX, T TFU, U ERR, V GO.
# GO = Z row + final use + EX - ERR:  105 = 18 + 77 + 10 - 0;  100 = 28 + 63 + 12 - 3;
#                                     115 = 25 + 85 + 5 - 0;   117 = 34 + 74 + 8 + 1.
# Footer per Z column: TII = column sum of Z + IM; TVA = VA001..VA004; TI = TII + TVA = GO.
HAND_GRID = [
    ["中国城市多区域投入产出表 2012 (万元)"] + [""] * 21,
    ["", "", "", "北京市", "", "天津市", "", "", "北京市", "", "", "", "",
     "天津市", "", "", "", "", "", "", "", ""],
    ["", "", "", "Agriculture", "General equipment", "Agriculture", "General equipment",
     "Total intermediate use", *FU_LABELS, *FU_LABELS, *TAIL_LABELS],
    ["Region", "Sector", "Code", "01", "16", "01", "16", "TIU", *FINAL_USE, *FINAL_USE,
     "EX", "TFU", "ERR", "GO"],
    ["北京市", "Agriculture", "01", 10, 5, 2, 1, 18, 20, 30, 5, 10, -1, 4, 6, 1, 2, 0,
     10, 87, 0, 105],
    ["北京市", "General equipment", "16", 4, 20, 1, 3, 28, 5, 15, 2, 30, 1, 2, 3, 0, 5, 0,
     12, 75, 3, 100],
    ["天津", "Agriculture", "01", 3, 1, 15, 6, 25, 3, 4, 0, 2, 0, 25, 35, 6, 12, -2,
     5, 90, 0, 115],
    ["", "General equipment", "16", 2, 2, 5, 25, 34, 1, 2, 0, 6, 0, 6, 14, 3, 40, 2,
     8, 82, -1, 117],
    ["", "Imports", "IM", 6, 2, 2, 5, 15] + [_] * 14,
    ["", "Total intermediate input", "TII", 25, 30, 25, 40, 120] + [_] * 14,
    ["", "Compensation of employees", "VA001", 40, 30, 45, 35, 150] + [_] * 14,
    ["", "Net taxes on production", "VA002", 10, 10, 15, 12, 47] + [_] * 14,
    ["", "Depreciation of fixed capital", "VA003", 10, 10, 10, 10, 40] + [_] * 14,
    ["", "Operating surplus", "VA004", 20, 20, 20, 20, 80] + [_] * 14,
    ["", "Total value added", "TVA", 80, 70, 90, 77, 317] + [_] * 14,
    ["", "Total input", "TI", 105, 100, 115, 117, 437] + [_] * 14,
]


def write_xlsx(path: Path, grid: list[list], sheet: str = "Table_2012_English Version") -> Path:
    book = Workbook()
    ws = book.active
    ws.title = sheet
    for row in grid:
        ws.append([None if v == "" else v for v in row])
    book.save(path)
    return path


def write_csv(path: Path, grid: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        csv.writer(f).writerows([["" if v is None else (repr(float(v)) if isinstance(
            v, (float, np.floating)) else v) for v in row] for row in grid])
    return path


def write_parquet(path: Path, grid: list[list]) -> Path:
    header, body = grid[:4], grid[4:]
    width = max(len(r) for r in grid)
    body = [list(r) + [None] * (width - len(r)) for r in body]
    columns = {name: pa.array(["" if r[k] is None else str(r[k]) for r in body])
               for k, name in enumerate(("region", "label", "code"))}
    for k in range(3, width):
        cells = [r[k] for r in body]
        if all(v is None or v == "" or isinstance(v, (int, float)) for v in cells):
            columns[str(k)] = pa.array([None if v in (None, "") else float(v) for v in cells],
                                       pa.float64())
        else:
            columns[str(k)] = pa.array([None if v is None else str(v) for v in cells])
    meta = {"ceads_header": json.dumps([[("" if v is None else str(v)) for v in r]
                                        + [""] * (width - len(r)) for r in header],
                                       ensure_ascii=False)}
    pq.write_table(pa.table(columns).replace_schema_metadata(meta), path)
    return path


def edited(grid: list[list], edits: dict[tuple[int, int], object]) -> list[list]:
    """A copy of the grid with cells changed; keys are (1-based sheet row, 0-based column)."""
    out = [list(r) for r in grid]
    for (row, col), value in edits.items():
        out[row - 1][col] = value
    return out


def random_grid(seed: int = 7) -> tuple[list[list], dict]:
    """A random 3-city x 3-sector table in the workbook layout (values with 4 decimals)."""
    rng = np.random.default_rng(seed)
    names = ["石家庄市", "保定市", "唐山市"]
    sectors = ["01", "02", "16"]
    R, S = len(names), len(sectors)
    n = R * S
    Z = np.round(rng.uniform(0, 40, (n, n)), 4)
    Y = np.round(rng.uniform(0, 60, (n, R, 5)), 4)
    Y[:, :, 4] -= 30                                    # inventory changes, some negative
    EX = np.round(rng.uniform(0, 20, n), 4)
    ERR = np.round(rng.uniform(-2, 2, n), 4)
    GO = Z.sum(1) + Y.sum((1, 2)) + EX - ERR
    IM = np.round(rng.uniform(0, 10, n), 4)
    VA = np.round(rng.uniform(0, 50, (3, n)), 4)
    VA4 = GO - Z.sum(0) - IM - VA.sum(0)
    width = 3 + n + 1 + 5 * R + 4
    grid = [["random table"] + [""] * (width - 1), [""] * width, [""] * width,
            ["Region", "Sector", "Code"] + [""] * (width - 3)]
    for c in range(n):
        grid[1][3 + c] = names[c // S] if c % S == 0 else ""
        grid[3][3 + c] = sectors[c % S]
    grid[3][3 + n] = "TIU"
    for q in range(5 * R):
        grid[1][4 + n + q] = names[q // 5] if q % 5 == 0 else ""
        grid[3][4 + n + q] = FINAL_USE[q % 5]
    grid[3][-4:] = ["EX", "TFU", "ERR", "GO"]
    for i in range(n):
        grid.append([names[i // S], sectors[i % S], sectors[i % S], *Z[i], Z[i].sum(),
                     *Y[i].ravel(), EX[i], Y[i].sum() + EX[i], ERR[i], GO[i]])
    tii = Z.sum(0) + IM
    for code, row in [("IM", IM), ("TII", tii), ("VA001", VA[0]), ("VA002", VA[1]),
                      ("VA003", VA[2]), ("VA004", VA4), ("TVA", VA.sum(0) + VA4),
                      ("TI", tii + VA.sum(0) + VA4)]:
        grid.append(["", code, code, *row] + [None] * (width - 3 - n))
    return grid, {"Z": Z, "Y": Y, "EX": EX, "ERR": ERR, "GO": GO, "names": names,
                  "sectors": sectors, "VA": np.vstack([VA, VA4])}



# ------------------------------------------------- workbooks laid out as other writers do

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sheet_xml(grid: list[list], *, strings: str = "shared", refs: bool = True,
              omit_empty: bool = True, order: list[int] | None = None, number=repr,
              typed: bool = False, prefix: str = "", formulas: bool = False
              ) -> tuple[str, list[str]]:
    """The <sheetData> of a grid and its shared strings.

    ``strings``: "shared" (t="s"), "inline" (t="inlineStr", split into two rich-text runs) or
    "str" (formula strings); ``refs``: cell and row references, or none (every cell and row
    then written in place, empty ones as <c/>); ``omit_empty``: leave empty cells out (with
    refs); ``order``: the grid rows in the order written; ``number``: how a number is written;
    ``typed``: t="n" on numbers; ``prefix``: a namespace prefix ("x:"); ``formulas``: numbers
    as formulas with a cached value.
    """
    p = prefix
    shared: list[str] = []

    def cell(r: int, k: int, v) -> str:
        ref = f' r="{column_letter(k)}{r + 1}"' if refs else ""
        if v is None or v == "":
            return "" if omit_empty and refs else f"<{p}c{ref}/>"
        if isinstance(v, str):
            if strings == "shared":
                if v not in shared:
                    shared.append(v)
                return f'<{p}c{ref} t="s"><{p}v>{shared.index(v)}</{p}v></{p}c>'
            if strings == "inline":
                a, b = _escape(v[:1]), _escape(v[1:])
                return (f'<{p}c{ref} t="inlineStr"><{p}is><{p}r><{p}t>{a}</{p}t></{p}r>'
                        f'<{p}r><{p}rPr><{p}b/></{p}rPr><{p}t xml:space="preserve">{b}</{p}t>'
                        f'</{p}r></{p}is></{p}c>')
            return (f'<{p}c{ref} t="str"><{p}f>T("{_escape(v)}")</{p}f>'
                    f'<{p}v>{_escape(v)}</{p}v></{p}c>')
        kind = ' t="n"' if typed else ""
        formula = f"<{p}f>SUM({column_letter(k)}1:{column_letter(k)}2)</{p}f>" if formulas else ""
        return f'<{p}c{ref}{kind} s="1">{formula}<{p}v>{number(float(v))}</{p}v></{p}c>'

    rows = []
    for r in (order if order is not None else range(len(grid))):
        cells = "".join(cell(r, k, v) for k, v in enumerate(grid[r]))
        rows.append(f'<{p}row r="{r + 1}">{cells}</{p}row>' if refs else
                    f"<{p}row>{cells}</{p}row>")
    return f"<{p}sheetData>" + "".join(rows) + f"</{p}sheetData>", shared


def write_workbook(path: Path, sheet_data: str, shared: list[str] | None = None, *,
                   sheet: str = "Table_2012_English Version", prefix: str = "") -> Path:
    """An xlsx package with one worksheet whose <sheetData> is ``sheet_data`` as given."""
    p = prefix
    ns = f'xmlns:{p[:-1]}="{_NS}"' if p else f'xmlns="{_NS}"'
    parts = {
        "[Content_Types].xml":
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.'
            'org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/></Types>',
        "_rels/.rels":
            f'<?xml version="1.0"?><Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
            f'Type="{_DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml":
            f'<?xml version="1.0"?><workbook xmlns="{_NS}" xmlns:r="{_DOC}"><sheets><sheet '
            f'name="Notes" sheetId="1" r:id="rId3"/><sheet name="{sheet}" sheetId="2" '
            'r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            f'<?xml version="1.0"?><Relationships xmlns="{_RELS}">'
            f'<Relationship Id="rId1" Type="{_DOC}/worksheet" Target="worksheets/sheet2.xml"/>'
            f'<Relationship Id="rId3" Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_DOC}/sharedStrings" Target="sharedStrings.xml"/>'
            '</Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{_NS}"><sheetData/></worksheet>',
        "xl/worksheets/sheet2.xml":
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{p}worksheet {ns}>'
            f'<{p}dimension ref="A1:V16"/><!-- written by hand --><{p}sheetViews>'
            f'<{p}sheetView workbookViewId="0"/></{p}sheetViews>{sheet_data}'
            f'<{p}mergeCells count="1"><{p}mergeCell ref="D2:E2"/></{p}mergeCells>'
            f"</{p}worksheet>",
        "xl/sharedStrings.xml":
            f'<?xml version="1.0"?><sst xmlns="{_NS}" count="{len(shared or [])}">'
            + "".join(f"<si><t>{_escape(s)}</t></si>" for s in shared or []) + "</sst>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in parts.items():
            book.writestr(name, text)
    return path
