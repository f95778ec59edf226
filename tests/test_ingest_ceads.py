"""Reading and checking CEADs city MRIO files (xlsx, csv, parquet) and the raw loader.

Workbooks are written here cell by cell in the layout of the raw contract (SOURCES.md section 3),
by openpyxl and in the sheet-XML layouts of other writers; the expected blocks are worked out by
hand in ``ceads_files.py``.
"""
from __future__ import annotations

import ast
import struct
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from ceads_files import (HAND_GRID, edited, random_grid, sheet_xml, write_csv, write_parquet,
                         write_workbook, write_xlsx)
from models_py.ingest import ceads as ceads_loader
from models_py.ingest import schema
from models_py.ingest.ceads import read_mrio
from models_py.ingest.ceads import xlsx as ceads_xlsx
from models_py.ingest.ceads.xlsx_numbers import parse_number
from models_py.ingest.errors import IngestError

WRITE = {"xlsx": write_xlsx, "csv": write_csv, "parquet": write_parquet}
BLOCKS = ("Z", "Y_cat", "EX", "TFU", "ERR", "GO", "IM", "TII", "VA", "TVA", "TI")


def loaded_tables(result) -> dict[str, pa.Table]:
    """Every part of a load, each table's parts put together (as the writer would)."""
    parts: dict[str, list[pa.Table]] = {}
    for part in result.rows():
        for name, table in part.items():
            parts.setdefault(name, []).append(table)
    return {name: pa.concat_tables(p) for name, p in parts.items()}


def assert_same_table(t, ref, label="") -> None:
    assert (t.year, t.regions, t.sectors, t.region_names, t.sector_labels) == \
        (ref.year, ref.regions, ref.sectors, ref.region_names, ref.sector_labels), label
    for block in BLOCKS:
        np.testing.assert_array_equal(getattr(t, block), getattr(ref, block),
                                      err_msg=f"{label} {block}")
    np.testing.assert_array_equal(t.source.rows, ref.source.rows)
    assert t.source.footer_rows == ref.source.footer_rows, label


# ------------------------------------------------------------------------------ (a) reading

def test_hand_workbook_reads_the_right_blocks(tmp_path):
    t = read_mrio(write_xlsx(tmp_path / "ceads_city_mrio_2012.xlsx", HAND_GRID))
    assert t.year == 2012
    assert t.regions == ("110000", "120000") and t.sectors == ("01", "16")
    assert t.region_names == ("北京市", "天津市")
    assert t.sector_labels == ("Agriculture", "General equipment")
    np.testing.assert_array_equal(t.Z, [[10, 5, 2, 1], [4, 20, 1, 3], [3, 1, 15, 6],
                                        [2, 2, 5, 25]])
    assert t.Y_cat.shape == (4, 2, 5)
    np.testing.assert_array_equal(t.Y_cat[0, 0], [20, 30, 5, 10, -1])   # 北京 01, consumer 北京
    np.testing.assert_array_equal(t.Y_cat[3, 1], [6, 14, 3, 40, 2])    # 天津 16, consumer 天津
    np.testing.assert_array_equal(t.EX, [10, 12, 5, 8])
    np.testing.assert_array_equal(t.TFU, [87, 75, 90, 82])
    np.testing.assert_array_equal(t.ERR, [0, 3, 0, -1])
    np.testing.assert_array_equal(t.GO, [105, 100, 115, 117])
    np.testing.assert_array_equal(t.IM, [6, 2, 2, 5])
    np.testing.assert_array_equal(t.TII, [25, 30, 25, 40])
    np.testing.assert_array_equal(t.VA, [[40, 30, 45, 35], [10, 10, 15, 12], [10, 10, 10, 10],
                                         [20, 20, 20, 20]])
    np.testing.assert_array_equal(t.TVA, [80, 70, 90, 77])
    np.testing.assert_array_equal(t.TI, t.GO)
    assert t.source.sheet == "Table_2012_English Version" and t.source.format == "xlsx"
    np.testing.assert_array_equal(t.source.rows, [5, 6, 7, 8])
    assert t.source.footer_rows == {"IM": 9, "TII": 10, "VA001": 11, "VA002": 12, "VA003": 13,
                                    "VA004": 14, "TVA": 15, "TI": 16}


def test_csv_gbk_csv_and_parquet_read_identical_to_the_workbook(tmp_path):
    ref = read_mrio(write_xlsx(tmp_path / "ceads_city_mrio_2012.xlsx", HAND_GRID))
    others = [write_csv(tmp_path / "ceads_city_mrio_2012.csv", HAND_GRID),
              write_parquet(tmp_path / "ceads_city_mrio_2012.parquet", HAND_GRID)]
    (tmp_path / "gbk").mkdir()
    others.append(write_csv(tmp_path / "gbk" / "ceads_city_mrio_2012.csv", HAND_GRID, "gbk"))
    for path in others:
        t = read_mrio(path)
        assert (t.year, t.regions, t.sectors, t.region_names) == \
            (ref.year, ref.regions, ref.sectors, ref.region_names), path
        for block in ("Z", "Y_cat", "EX", "TFU", "ERR", "GO", "IM", "TII", "VA", "TVA", "TI"):
            np.testing.assert_array_equal(getattr(t, block), getattr(ref, block), err_msg=block)
        np.testing.assert_array_equal(t.source.rows, ref.source.rows)
        assert t.source.footer_rows == ref.source.footer_rows
    assert read_mrio(others[2]).source.encoding == "gb18030"


def test_blank_cells_read_as_zero_and_codes_written_as_numbers_keep_two_digits(tmp_path):
    grid = edited(HAND_GRID, {(5, 17): None, (4, 3): 1.0, (4, 5): 1})  # R5 was 0
    t = read_mrio(write_xlsx(tmp_path / "ceads_city_mrio_2012.xlsx", grid))
    assert t.Y_cat[0, 1, 4] == 0 and t.source.empty_cells == 1 and t.sectors == ("01", "16")


# ------------------------------------------------------------------------- (b) bad input

def _error(path: Path) -> str:
    with pytest.raises(IngestError) as e:
        read_mrio(path)
    return str(e.value)


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "parquet"])
def test_truncated_z_block_rows(tmp_path, fmt):
    grid = HAND_GRID[:7] + HAND_GRID[8:]                        # no row for 天津 16
    path = WRITE[fmt](tmp_path / f"ceads_city_mrio_2012.{fmt}", grid)
    msg = _error(path)
    assert "ceads_city_mrio_2012" in msg and "row 8" in msg and "truncated Z block" in msg
    assert "3 data rows" in msg


def test_truncated_z_block_columns(tmp_path):
    grid = [row[:6] + row[7:] for row in HAND_GRID]             # no column G (天津 16)
    msg = _error(write_xlsx(tmp_path / "ceads_city_mrio_2012.xlsx", grid))
    assert "truncated Z block" in msg and "row 4" in msg and "column 'G'" in msg
    assert "天津市 has 1 of the 2 sector columns" in msg


def test_missing_footer_row(tmp_path):
    grid = HAND_GRID[:14] + HAND_GRID[15:]                      # no TVA row
    msg = _error(write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid))
    assert "missing footer row TVA" in msg and "ceads_city_mrio_2012.csv" in msg


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "parquet"])
def test_unbalanced_row_names_row_and_both_numbers(tmp_path, fmt):
    grid = edited(HAND_GRID, {(6, 21): 101})                    # GO of 北京 16: 100 -> 101
    path = WRITE[fmt](tmp_path / f"ceads_city_mrio_2012.{fmt}", grid)
    msg = _error(path)
    assert "does not balance" in msg and "row 6" in msg and "column 'V'" in msg
    assert "= 100 but GO = 101" in msg


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "parquet"])
def test_non_numeric_cell(tmp_path, fmt):
    grid = edited(HAND_GRID, {(7, 4): "abc"})                   # E7, a Z cell
    path = WRITE[fmt](tmp_path / f"ceads_city_mrio_2012.{fmt}", grid)
    msg = _error(path)
    assert "expected a number" in msg and "row 7" in msg and "column 'E'" in msg
    assert "'abc'" in msg


def test_nan_is_not_a_number_in_any_format(tmp_path):
    grid = edited(HAND_GRID, {(6, 4): "nan"})                   # E6, a Z cell
    for path in (write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid),
                 write_xlsx(tmp_path / "ceads_city_mrio_2012.xlsx", grid)):
        msg = _error(path)
        assert "expected a number" in msg and "row 6" in msg and "column 'E'" in msg, path
    msg = _error(write_parquet(tmp_path / "ceads_city_mrio_2012.parquet",
                               edited(HAND_GRID, {(6, 4): float("nan")})))
    assert "expected a number" in msg and "row 6" in msg and "column 'E'" in msg


def test_thousands_separators_in_csv_are_numbers(tmp_path):
    grid = edited(HAND_GRID, {(5, 21): "1,05.0"})  # odd grouping still a separator: 105
    t = read_mrio(write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid))
    assert t.GO[0] == 105


def test_unknown_region_name(tmp_path):
    msg = _error(write_xlsx(tmp_path / "ceads_city_mrio_2012.xlsx",
                            edited(HAND_GRID, {(2, 5): "火星市"})))
    assert "火星市" in msg and "row 2" in msg and "column 'F'" in msg and "not found" in msg
    msg = _error(write_csv(tmp_path / "ceads_city_mrio_2012.csv",
                           edited(HAND_GRID, {(7, 0): "火星"})))
    assert "火星" in msg and "row 7" in msg and "column 'A'" in msg


def test_rows_out_of_the_column_order(tmp_path):
    grid = [list(r) for r in HAND_GRID[:4] + [HAND_GRID[6], HAND_GRID[7], HAND_GRID[4],
                                              HAND_GRID[5]] + HAND_GRID[8:]]
    grid[4][0] = "天津市"
    msg = _error(write_xlsx(tmp_path / "ceads_city_mrio_2012.xlsx", grid))
    assert "row 5" in msg and "expected region 北京市 (110000)" in msg


def test_sheet_year_must_match_the_file_name(tmp_path):
    path = write_xlsx(tmp_path / "ceads_city_mrio_2015.xlsx", HAND_GRID)
    msg = _error(path)
    assert "does not match the file name's year 2015" in msg and "Table_2012" in msg


def test_two_files_for_one_year(tmp_path):
    (tmp_path / "ceads").mkdir()
    write_xlsx(tmp_path / "ceads" / "ceads_city_mrio_2012.xlsx", HAND_GRID)
    write_csv(tmp_path / "ceads" / "ceads_city_mrio_2012.csv", HAND_GRID)
    with pytest.raises(IngestError, match="a second file for 2012"):
        ceads_loader.load(tmp_path)


# ---------------------------------------------------------------------------- raw loader

def test_loader_tables_with_provenance(tmp_path):
    folder = tmp_path / "ceads"
    folder.mkdir()
    write_xlsx(folder / "ceads_city_mrio_2012.xlsx", HAND_GRID)
    write_parquet(folder / "ceads_city_mrio_2015.parquet", HAND_GRID)
    result = ceads_loader.load(tmp_path)
    assert result.source == "ceads_mrio" and len(result.files) == 2
    tables = loaded_tables(result)
    assert result.row_counts() == {"ceads_region": 4, "ceads_sector": 4,
                                   "ceads_intermediate": 8, "ceads_final_use": 80,
                                   "ceads_row_totals": 8, "ceads_footer": 64}
    con = duckdb.connect()
    for name, table in tables.items():
        con.register(name, table)
        described = {c: kind for c, kind, *_ in con.execute(f"DESCRIBE {name}").fetchall()}
        assert described == schema.RAW_TABLES[name], name          # the declared raw schema
    assert con.execute("SELECT typeof(z) FROM ceads_intermediate LIMIT 1").fetchone()[0] \
        == "DOUBLE[]"
    # 天津 01 (position 3) buys 6 from 天津 16 (z[4]); the row is sheet row 7 of the workbook
    assert con.execute("SELECT z[4], city_id, sector_code, source_file, source_row "
                       "FROM ceads_intermediate WHERE year = 2012 AND position = 3").fetchone() \
        == (6.0, "120000", "01", "ceads/ceads_city_mrio_2012.xlsx", 7)
    assert con.execute("SELECT value FROM ceads_final_use WHERE year = 2015 AND city_id = "
                       "'110000' AND sector_code = '01' AND consumer_city_id = '110000' AND "
                       "category = 'FU202'").fetchone()[0] == -1
    assert con.execute("SELECT go, err, source_row FROM ceads_row_totals WHERE year = 2012 "
                       "AND city_id = '120000' AND sector_code = '16'").fetchone() == (117, -1, 8)
    assert con.execute("SELECT value, source_row FROM ceads_footer WHERE item = 'VA002' AND "
                       "year = 2012 AND city_id = '120000' AND sector_code = '16'").fetchone() \
        == (12, 12)
    assert con.execute("SELECT string_agg(region_name, ',' ORDER BY position) FROM ceads_region "
                       "WHERE year = 2015").fetchone()[0] == "北京市,天津市"




# ------------------------------------------ workbooks as other writers lay out the sheet XML

def _reference(tmp_path: Path, grid: list[list]):
    (tmp_path / "ref").mkdir(exist_ok=True)
    return read_mrio(write_csv(tmp_path / "ref" / "ceads_city_mrio_2012.csv", grid))


# (style of the sheet XML, rows in the order written)
WRITERS = {
    "shared strings, references, empty cells left out": dict(),
    "inline rich-text strings, no references, empty cells as <c/>":
        dict(strings="inline", refs=False),
    "formula strings, t='n', cached formula values, x: prefix":
        dict(strings="str", typed=True, formulas=True, prefix="x:"),
    "rows backwards, numbers in scientific notation":
        dict(order=list(range(len(HAND_GRID)))[::-1], number=lambda v: f"{v:.17e}"),
    "header rows last, numbers as 1.5E+01": dict(
        order=[*range(4, len(HAND_GRID)), 2, 0, 3, 1], number=lambda v: f"{v:.15E}"),
}


@pytest.mark.parametrize("style", WRITERS)
def test_workbooks_of_other_writers_read_like_the_csv(tmp_path, style):
    grid = edited(HAND_GRID, {(5, 5): None, (5, 6): 3})   # F5 left out (0), G5 1 -> 3
    grid = grid + [[], [], ["Source: CEADs city MRIO tables"]]   # a gap, then a note row
    data, shared = sheet_xml(grid, **WRITERS[style])
    t = read_mrio(write_workbook(tmp_path / "ceads_city_mrio_2012.xlsx", data, shared,
                                 prefix=WRITERS[style].get("prefix", "")))
    ref = _reference(tmp_path, grid)
    assert_same_table(t, ref, style)
    assert t.Z[0, 2] == 0 and t.Z[0, 3] == 3
    assert t.source.empty_cells == ref.source.empty_cells == 1
    assert t.source.sheet == "Table_2012_English Version"


def test_the_generator_s_writers_read_alike(tmp_path):
    """The generator's streaming writer (inline strings, no references, <c></c> for empty),
    xlsxwriter's, CSV and Parquet give the same table."""
    from models_py.generate import mrio_files

    _, b = random_grid(4)
    grid = mrio_files.build_grid(2017, b["names"], ["Agriculture", "Mining", "Equipment"],
                                 b["sectors"], b["Z"], b["Y"], b["EX"], b["ERR"], b["GO"],
                                 np.zeros(9), b["VA"].T)
    paths = []
    for k, write in enumerate((mrio_files.write_ceads_xlsx, mrio_files.write_ceads_xlsx_small,
                               mrio_files.write_ceads_csv, mrio_files.write_ceads_parquet)):
        suffix = ".xlsx" if k < 2 else (".csv" if k == 2 else ".parquet")
        (tmp_path / str(k)).mkdir()
        paths.append(tmp_path / str(k) / f"ceads_city_mrio_2017{suffix}")
        write(paths[-1], grid)
    streamed, xlsxwriter, csv, parquet = (read_mrio(p) for p in paths)
    np.testing.assert_array_equal(streamed.Z, b["Z"])
    assert_same_table(streamed, csv, "6 decimals")                   # the same formatting
    for block in BLOCKS:   # xlsxwriter writes 16 significant digits, Parquet every bit
        np.testing.assert_allclose(getattr(xlsxwriter, block), getattr(parquet, block),
                                   rtol=1e-15, atol=0, err_msg=block)
        np.testing.assert_allclose(getattr(streamed, block), getattr(parquet, block),
                                   rtol=0, atol=5e-7, err_msg=block)
    assert xlsxwriter.source.footer_rows == parquet.source.footer_rows


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_any_chunk_boundary_reads_the_same(tmp_path, monkeypatch, chunk):
    """The scan resumes wherever a chunk of decompressed XML ends, and grows its record
    buffers from nearly nothing."""
    monkeypatch.setattr(ceads_xlsx, "CHUNK", chunk)
    monkeypatch.setattr(ceads_xlsx, "HEADER_CHUNK", chunk)
    monkeypatch.setattr(ceads_xlsx._Scan, "ROOM", 1)
    ref = _reference(tmp_path, HAND_GRID)
    for k, style in enumerate(["shared strings, references, empty cells left out",
                               "inline rich-text strings, no references, empty cells as <c/>"]):
        data, shared = sheet_xml(HAND_GRID, **WRITERS[style])
        (tmp_path / str(k)).mkdir()
        t = read_mrio(write_workbook(tmp_path / str(k) / "ceads_city_mrio_2012.xlsx", data,
                                     shared))
        assert_same_table(t, ref, style)


def test_numbers_convert_exactly_as_python_float():
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2 ** 63, 20000, dtype=np.int64).astype(np.uint64)
    bits[::2] |= np.uint64(1 << 63)
    doubles = [v for v in bits.view(np.float64).tolist() if np.isfinite(v)]
    strings = [repr(v) for v in doubles]
    strings += [f"{v:.17e}" for v in rng.uniform(-1e6, 1e6, 5000)]
    strings += [f"{m}e{e}" for m, e in zip(rng.integers(1, 10 ** 18, 5000),
                                            rng.integers(-330, 300, 5000))]
    strings += ["0", "-0", "+12", "1.", ".5", "00012.5000", "1E5", "1e-5", " 7 ", "5e-324",
                "1.7976931348623157e308", "9007199254740993", "123456789012345678901234",
                "2.2250738585072011e-308", "0.1e-400"]
    declined = 0
    for s in strings:
        raw = np.frombuffer(s.encode(), dtype=np.uint8)
        value, ok = parse_number(raw, 0, len(raw))
        if ok:
            assert struct.pack("<d", value) == struct.pack("<d", float(s)), s
        else:
            declined += 1
    assert declined < len(strings) // 50               # Python converts only the hard few
    for s in ["", "-", "1e", "1,5", "abc", "1.2.3", "0x10", "nan", "inf", "--1"]:
        raw = np.frombuffer(s.encode(), dtype=np.uint8)
        assert not parse_number(raw, 0, len(raw))[1], s


def _xlsx_error(tmp_path: Path, grid: list[list], **style) -> str:
    data, shared = sheet_xml(grid, **style)
    with pytest.raises(IngestError) as e:
        read_mrio(write_workbook(tmp_path / "ceads_city_mrio_2012.xlsx", data, shared))
    return str(e.value)


def test_text_cells_that_read_as_numbers_are_numbers(tmp_path):
    grid = edited(HAND_GRID, {(5, 3): "10", (9, 3): "6", (5, 21): "1,05"})   # D5, D9 IM, V5 GO
    data, shared = sheet_xml(grid)
    t = read_mrio(write_workbook(tmp_path / "ceads_city_mrio_2012.xlsx", data, shared))
    assert t.Z[0, 0] == 10 and t.IM[0] == 6 and t.GO[0] == 105


@pytest.mark.parametrize("cell, what, value", [
    ('<c r="E7" t="b"><v>1</v></c>', "found text", "'TRUE'"),
    ('<c r="E7" t="e"><v>#N/A</v></c>', "found text", "'#N/A'"),
    ('<c r="E7" t="inlineStr"><is><t>-</t></is></c>', "found a missing-value marker", "'-'"),
    ('<c r="E7" t="str"><f>X</f><v>n.a.</v></c>', "found text", "'n.a.'"),
])
def test_cells_that_are_not_numbers_name_the_cell(tmp_path, cell, what, value):
    data, shared = sheet_xml(HAND_GRID)
    data = data.replace('<c r="E7" s="1"><v>1.0</v></c>', cell)
    msg = _xlsx_error_xml(tmp_path, data, shared)
    assert "expected a number" in msg and what in msg and "row 7" in msg
    assert "column 'E'" in msg and value in msg


def _xlsx_error_xml(tmp_path: Path, data: str, shared: list[str]) -> str:
    with pytest.raises(IngestError) as e:
        read_mrio(write_workbook(tmp_path / "ceads_city_mrio_2012.xlsx", data, shared))
    return str(e.value)


def test_broken_sheet_xml_is_an_error_naming_the_sheet(tmp_path):
    data, shared = sheet_xml(HAND_GRID)
    msg = _xlsx_error_xml(tmp_path, data.replace('<v>1.0</v></c>', '<v>1e400</v></c>', 1),
                          shared)
    assert "infinite value" in msg and "row 5" in msg
    msg = _xlsx_error_xml(tmp_path, data.replace('t="s"><v>0</v>', 't="s"><v>999</v>'),
                          shared)
    assert "shared string the workbook does not have (index 999" in msg and "row 1" in msg
    cut = data[:data.index('<row r="9">')]
    msg = _xlsx_error_xml(tmp_path, cut, shared)
    assert "Table_2012_English Version" in msg and "ends before </sheetData>" in msg
    msg = _xlsx_error_xml(tmp_path, "<sheetData/>", [])
    assert "expected the first sector code of the Z block" in msg and "row 4" in msg


# -------------------------------------------------------------- the load, a year at a time

def test_ingestion_imports_nothing_downstream_and_packages_form_no_cycle():
    """Data flows raw files -> ingest -> warehouse -> io / dbt -> estimate: ingest imports
    neither io, estimate nor generate, and the imports between models_py packages have no
    cycle."""
    root = Path(__file__).resolve().parents[1] / "models_py"
    imports: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        package = path.relative_to(root).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module == "models_py":
                names = [f"models_py.{a.name}" for a in node.names]   # from models_py import x
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "models_py" and len(parts) > 1 and parts[1] != package:
                    imports.setdefault(package, set()).add(parts[1])
    assert "reference" in imports["ingest"]          # the walk sees package imports
    assert not imports["ingest"] & {"io", "estimate", "generate", "studies"}, imports["ingest"]
    assert "ingest" in imports["io"]                 # io reads the blocks ingestion defines
    for start in imports:                            # no package reaches itself
        seen, todo = set(), list(imports[start])
        while todo:
            b = todo.pop()
            assert b != start, f"{start} imports itself through {sorted(seen)}"
            if b not in seen:
                seen.add(b)
                todo.extend(imports.get(b, ()))


def test_a_bad_last_year_leaves_the_warehouse_as_it_was(tmp_path):
    """Each table year is read and checked only while the load is being written, into staging
    tables swapped in at the end: a file that fails in the third year leaves the warehouse as
    it was, the two years written before it dropped with their staging tables."""
    from models_py import ingest

    folder = tmp_path / "ceads"
    folder.mkdir()
    for year in (2012, 2015, 2017):
        write_csv(folder / f"ceads_city_mrio_{year}.csv", HAND_GRID)
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        ingest.write(con, ceads_loader.load(tmp_path), tmp_path)
    with duckdb.connect(str(db)) as con:
        before = _contents(con)
    assert before["raw.ceads_region"][0] == 6 and before["raw._load_log"][0] == 3
    assert not [t for t in before if "_loading_" in t]   # the staging tables are swapped in
    write_csv(folder / "ceads_city_mrio_2017.csv", edited(HAND_GRID, {(6, 21): 101}))
    result = ceads_loader.load(tmp_path)                 # finds the files, reads none yet
    with duckdb.connect(str(db)) as con:
        with pytest.raises(IngestError, match="ceads_city_mrio_2017.csv, row 6, column 'V': "
                                              "row does not balance"):
            ingest.write(con, result, tmp_path)
        assert _contents(con) == before
    assert result.row_counts()["ceads_region"] == 4      # two years written, then dropped


def _contents(con) -> dict:
    tables = con.execute("SELECT table_schema || '.' || table_name FROM information_schema."
                         "tables ORDER BY 1").fetchall()
    return {t: con.execute(f"SELECT count(*), sum(hash(x)) FROM {t} x").fetchone()
            for (t,) in tables}
