"""CEADs city MRIO reading, the raw loader, and the Leontief / industrial-transfer engine.

Workbooks are written here cell by cell in the layout of the raw contract (SOURCES.md section 3);
the expected blocks and outputs are worked out by hand in the comments.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from models_py.ingest import ceads as ceads_loader
from models_py.ingest.errors import IngestError
from models_py.io import leontief
from models_py.io.ceads import FINAL_USE, MrioTable, Provenance, read_mrio

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
    path = {"xlsx": write_xlsx, "csv": write_csv, "parquet": write_parquet}[fmt](
        tmp_path / f"ceads_city_mrio_2012.{fmt}", grid)
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
    path = {"xlsx": write_xlsx, "csv": write_csv, "parquet": write_parquet}[fmt](
        tmp_path / f"ceads_city_mrio_2012.{fmt}", grid)
    msg = _error(path)
    assert "does not balance" in msg and "row 6" in msg and "column 'V'" in msg
    assert "= 100 but GO = 101" in msg


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "parquet"])
def test_non_numeric_cell(tmp_path, fmt):
    grid = edited(HAND_GRID, {(7, 4): "abc"})                   # E7, a Z cell
    path = {"xlsx": write_xlsx, "csv": write_csv, "parquet": write_parquet}[fmt](
        tmp_path / f"ceads_city_mrio_2012.{fmt}", grid)
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
    assert result.row_counts() == {"ceads_region": 4, "ceads_sector": 4,
                                   "ceads_intermediate": 8, "ceads_final_use": 80,
                                   "ceads_row_totals": 8, "ceads_footer": 64}
    con = duckdb.connect()
    for name, table in result.tables.items():
        con.register(name, table)
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


def test_raw_tables_round_trip_through_the_warehouse(tmp_path):
    from models_py import warehouse

    folder = tmp_path / "ceads"
    folder.mkdir()
    write_csv(folder / "ceads_city_mrio_2012.csv", HAND_GRID)
    grid, _ = _random_grid(3)
    write_csv(folder / "ceads_city_mrio_2017.csv", grid)
    result = ceads_loader.load(tmp_path)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        warehouse.replace_tables(con, "raw", result.tables)
        for year in (2012, 2017):
            back = ceads_loader.read_warehouse(con, year)
            ref = read_mrio(folder / f"ceads_city_mrio_{year}.csv")
            assert (back.regions, back.sectors, back.region_names, back.sector_labels) == \
                (ref.regions, ref.sectors, ref.region_names, ref.sector_labels)
            for block in ("Z", "Y_cat", "EX", "TFU", "ERR", "GO", "IM", "TII", "VA", "TVA",
                          "TI"):
                np.testing.assert_array_equal(getattr(back, block), getattr(ref, block),
                                              err_msg=block)
            np.testing.assert_array_equal(back.source.rows, ref.source.rows)
            assert back.source.footer_rows == ref.source.footer_rows
            np.testing.assert_allclose(leontief.solve_output(back, overwrite=True).X,
                                       leontief.solve_output(ref).X, rtol=1e-12)


# -------------------------------------------------------------- (c) a worked example by hand

def table_from_blocks(year: int, regions: list[str], sectors: list[str], Z, Y_cat, EX, ERR
                      ) -> MrioTable:
    """An MrioTable straight from blocks (GO from the row balance; footer rows left empty)."""
    Z = np.asfortranarray(Z, dtype=float)
    Y_cat = np.asarray(Y_cat, dtype=float)
    EX, ERR = np.asarray(EX, dtype=float), np.asarray(ERR, dtype=float)
    n = Z.shape[0]
    GO = Z.sum(axis=1) + Y_cat.sum(axis=(1, 2)) + EX - ERR
    zero = np.zeros(n)
    return MrioTable(year, tuple(regions), tuple(regions), tuple(sectors), tuple(sectors), Z,
                     Y_cat, EX, Y_cat.sum(axis=(1, 2)) + EX, ERR, GO, zero, zero,
                     np.zeros((4, n)), zero, zero,
                     Provenance(Path("blocks"), "memory", None, np.arange(n) + 5, {}))


def _two_city_year(year: int, go: list[float], y_first: list[float],
                   y_second: list[float]) -> MrioTable:
    """Two cities x one sector (01, labor) with A = [[.1, .2], [.2, .1]] in both years.

    I - A = [[.9, -.2], [-.2, .9]]. Final demand is chosen from the output it must drive,
    y_j = (I - A) X_j:  2012: X_1 = (70, 20) -> y_1 = (59, 4);  X_2 = (25, 100) -> y_2 = (2.5, 85).
                        2015: X_1 = (80, 30) -> y_1 = (66, 11); X_2 = (20, 90) -> y_2 = (0, 77).
    Exports minus errors drive (5, 80): EX - ERR = (I - A)(5, 80) = (-11.5, 71), so ERR = 11.5
    in city 1 and EX = 71 in city 2. GO = sum of the X_j plus (5, 80): (100, 200) in 2012,
    (105, 200) in 2015. Z = A diag(GO).
    """
    Z = np.array([[0.1, 0.2], [0.2, 0.1]]) * np.array(go)[None, :]
    Y_cat = np.zeros((2, 2, 5))
    Y_cat[:, 0, :] = np.outer(y_first, [0.2, 0.5, 0.1, 0.3, -0.1])  # categories sum to y
    Y_cat[:, 1, 1] = y_second
    return table_from_blocks(year, ["110000", "120000"], ["01"], Z, Y_cat, [0.0, 71.0],
                             [11.5, 0.0])


def test_two_city_example_by_hand():
    first = _two_city_year(2012, [100, 200], [59, 4], [2.5, 85])
    np.testing.assert_allclose(first.GO, [100, 200], rtol=1e-14)
    solution = leontief.solve_output(first)
    np.testing.assert_allclose(solution.X, [[70, 25], [20, 100]], rtol=1e-13)
    np.testing.assert_allclose(solution.x_rest, [5, 80], rtol=1e-13)
    np.testing.assert_allclose(leontief.leontief_inverse(first),
                               np.array([[0.9, 0.2], [0.2, 0.9]]) / 0.77, rtol=1e-13)

    second = _two_city_year(2015, [105, 200], [66, 11], [0, 77])
    np.testing.assert_allclose(second.GO, [105, 200], rtol=1e-14)
    outputs = leontief.city_outputs([first, second])
    np.testing.assert_allclose(outputs[1].x, [[80, 20], [30, 90]], rtol=1e-13)
    np.testing.assert_allclose(outputs[1].by_class["labor"], outputs[1].x)
    assert not outputs[1].by_class["capital"].any()

    out = leontief.output_table(outputs)
    assert len(out) == 8 and set(out["year"]) == {2012, 2015}
    row = out[(out.year == 2015) & (out.producer_city_id == "120000")
              & (out.consumer_city_id == "110000")]
    assert row["x"].item() == pytest.approx(30)

    # dX = [[10, -5], [10, -10]] (producer x consumer). The transfer from 北京 to 天津 is the
    # change in 天津's output driven by 北京's final demand: T_12 = dX_21 = 10, and
    # T_21 = dX_12 = -5 (北京's output driven by 天津's demand fell: a backflow).
    transfers = leontief.transfer_table(outputs).set_index(["city_i", "city_j"])
    assert list(transfers["period"].unique()) == ["2012-2015"] and len(transfers) == 2
    bj_tj = transfers.loc[("110000", "120000")]
    assert bj_tj["transfer"] == pytest.approx(10)
    assert bj_tj["it"] == pytest.approx(np.log(11)) and bj_tj["it_direction"] == 1
    assert bj_tj["transfer_labor"] == pytest.approx(10) and bj_tj["transfer_capital"] == 0
    tj_bj = transfers.loc[("120000", "110000")]
    assert tj_bj["transfer"] == pytest.approx(-5) and tj_bj["it"] == pytest.approx(-np.log(6))
    assert tj_bj["it_direction"] == 0 and tj_bj["it_labor"] == pytest.approx(-np.log(6))


def test_zero_output_sector_has_zero_coefficients():
    t = table_from_blocks(2012, ["110000"], ["01", "02"], [[1.0, 0.0], [0.0, 0.0]],
                          [[[4, 0, 0, 0, 0]], [[0, 0, 0, 0, 0]]], [0, 0], [0, 0])
    assert t.GO[1] == 0
    A = leontief.technical_coefficients(t.Z, t.GO)
    assert np.isfinite(A).all() and (A[:, 1] == 0).all()
    solution = leontief.solve_output(t)
    np.testing.assert_allclose(solution.X[:, 0], [5, 0])
    assert leontief.failed_identities(leontief.identities(t, solution)) == []


# ------------------------------------- (d) against pymrio and MARIO on a random table

def _random_grid(seed: int = 7) -> tuple[list[list], dict]:
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


def test_output_matches_pymrio_and_mario(tmp_path):
    pymrio = pytest.importorskip("pymrio")
    mario = pytest.importorskip("mario")
    grid, blocks = _random_grid()
    table = read_mrio(write_xlsx(tmp_path / "ceads_city_mrio_2017.xlsx",
                                 [[("" if v is None else (float(v) if isinstance(v, np.floating)
                                   else v)) for v in r] for r in grid],
                                 sheet="Table_2017_English Version"))
    np.testing.assert_array_equal(table.Z, blocks["Z"])
    ours = leontief.solve_output(table).X
    R, S = len(table.regions), len(table.sectors)

    # pymrio: Z, Y by (region, category) and x = GO, then L from calc_all; X_j = L y_j
    idx = pd.MultiIndex.from_product([table.regions, table.sectors], names=["region", "sector"])
    cols = pd.MultiIndex.from_product([table.regions, FINAL_USE], names=["region", "category"])
    io = pymrio.IOSystem(Z=pd.DataFrame(table.Z, idx, idx),
                         Y=pd.DataFrame(table.Y_cat.reshape(table.n, -1), idx, cols),
                         x=pd.DataFrame({"indout": table.GO}, idx))
    io.calc_all()
    by_consumer = io.Y.T.groupby(level="region", sort=False).sum().T[list(table.regions)]
    np.testing.assert_allclose(ours, io.L.values @ by_consumer.values, rtol=1e-9, atol=0)

    # MARIO 0.3.3 has no CEADs parser: the same numbers in MARIO's own IOT workbook layout,
    # with exports and (minus) errors as final-demand categories so that MARIO's X is GO.
    path = _write_mario_workbook(tmp_path / "mario_iot.xlsx", table, blocks["VA"])
    db = mario.parse_from_excel(str(path), table="IOT", mode="flows")
    rows = [(f"c{r}", "Sector", f"s{s}") for r in table.regions for s in table.sectors]
    np.testing.assert_allclose(db.X.loc[rows].values.ravel(), table.GO, rtol=1e-12)
    w = db.w.loc[rows, rows].values
    Y = db.Y.loc[rows]
    y = np.column_stack([Y.loc[:, (f"c{r}", "Consumption category", list(FINAL_USE))]
                         .sum(axis=1).values for r in table.regions])
    np.testing.assert_allclose(ours, w @ y, rtol=1e-9, atol=0)
    assert ours.shape == (R * S, R)


def _write_mario_workbook(path: Path, table: MrioTable, VA: np.ndarray) -> Path:
    n = table.n
    categories = [*FINAL_USE, "EX", "ERR"]
    sectors = [f"s{s}" for s in table.sectors]             # text labels: Excel keeps them
    regions = [f"c{r}" for r in table.regions]
    rows = [(r, "Sector", s) for r in regions for s in sectors] + \
        [("-", "Factor of production", f"VA00{k + 1}") for k in range(4)] + \
        [("-", "Factor of production", "IM"), ("-", "Satellite account", "none")]
    cols = [(r, "Sector", s) for r in regions for s in sectors] + \
        [(r, "Consumption category", c) for r in regions for c in categories]
    data = np.zeros((len(rows), len(cols)))
    data[:n, :n] = table.Z
    for r in range(len(regions)):
        base = n + r * len(categories)
        data[:n, base:base + 5] = table.Y_cat[:, r, :]
    data[:n, n + 5] = table.EX
    data[:n, n + 6] = -table.ERR
    data[n:n + 4, :n] = VA
    data[n + 4, :n] = table.IM
    frame = pd.DataFrame(data, index=pd.MultiIndex.from_tuples(rows),
                         columns=pd.MultiIndex.from_tuples(cols))
    units = pd.DataFrame(
        {"unit": ["万元"] * (len(sectors) + 5) + ["none"]},
        index=pd.MultiIndex.from_tuples([("Sector", s) for s in sectors]
                                        + [("Factor of production", f"VA00{k + 1}")
                                           for k in range(4)]
                                        + [("Factor of production", "IM"),
                                           ("Satellite account", "none")]))
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="flows")
        units.to_excel(writer, sheet_name="units")
    return path


# --------------------------------------------------------------------------- (e) identities

def test_identities_hold_on_a_good_table_and_fail_on_broken_ones(tmp_path):
    grid, _ = _random_grid(11)
    good = read_mrio(write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid))
    solution = leontief.solve_output(good)
    values = leontief.identities(good, solution)
    assert leontief.failed_identities(values) == [], values
    assert values["row_balance"] < 1e-12 and values["output_identity"] < 1e-12
    assert 0 < values["max_column_sum"] < 1

    unbalanced = read_mrio(write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid))
    unbalanced.Z[2, 5] += 40.0                         # row 3 no longer adds up to GO
    broken = leontief.identities(unbalanced, leontief.solve_output(unbalanced))
    failed = leontief.failed_identities(broken)
    assert any(f.startswith("row_balance") for f in failed)
    assert any(f.startswith("output_identity") for f in failed)
    assert leontief.row_balance_error(unbalanced) == pytest.approx(40 / unbalanced.GO[2])

    heavy = read_mrio(write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid))
    heavy.Z[:, 4] *= 10                                # inputs worth more than the output
    assert leontief.max_column_sum(heavy) > 1
    assert any(f.startswith("max_column_sum")
               for f in leontief.failed_identities({"max_column_sum":
                                                    leontief.max_column_sum(heavy)}))
    nan = read_mrio(write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid))
    nan.GO[0] = np.nan
    assert leontief.nonfinite_count(nan.GO) == 1


def test_solve_in_place_releases_z_and_matches_the_copying_solve(tmp_path):
    grid, _ = _random_grid(5)
    path = write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid)
    copied = leontief.solve_output(read_mrio(path))
    table = read_mrio(path)
    in_place = leontief.solve_output(table, overwrite=True, threads=1)
    assert table.Z is None
    np.testing.assert_allclose(in_place.X, copied.X, rtol=1e-13)
    c_ordered = read_mrio(path)
    c_ordered.Z = np.ascontiguousarray(c_ordered.Z)    # the transposed-factor path
    np.testing.assert_allclose(leontief.solve_output(c_ordered, overwrite=True).X, copied.X,
                               rtol=1e-12)


# ----------------------------------------------------- the generator's embedded default

def test_generated_small_default_reads_and_reproduces_the_planted_transfers(small_default):
    """The embedded default's CEADs files load, and the engine finds the transfers the
    generator planted (truth examples: T, T per class, IT, IT_direction)."""
    from models_py.ingest import names

    raw, truth = small_default
    result = ceads_loader.load(raw)
    assert result.report["years"] == [2012, 2015, 2017]
    outputs = leontief.city_outputs(read_mrio(p) for p in result.files)
    transfers = leontief.transfer_table(outputs).set_index(["period", "city_i", "city_j"])
    cities = names.cities()
    examples = truth["S003"]["examples"]
    assert examples
    for ex in examples:
        i, j = (cities.resolve(ex[k], None, None) for k in ("city_i", "city_j"))
        row = transfers.loc[(ex["period"], i, j)]
        for ours, theirs in [("transfer", "T"), ("transfer_labor", "T_labor"),
                             ("transfer_capital", "T_capital"),
                             ("transfer_technology", "T_technology"), ("it", "IT")]:
            assert row[ours] == pytest.approx(ex[theirs], rel=1e-9, abs=1e-6), (ex, ours)
        assert row["it_direction"] == ex["IT_direction"]
