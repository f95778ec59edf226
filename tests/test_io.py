"""The input-output engine: CEADs tables read back from the warehouse, the Leontief solve and
industrial transfer (worked out by hand, and against pymrio and MARIO), the accounting
identities, and the planted transfers of the embedded default.

Reading and checking the raw files is tested in ``test_ingest_ceads.py``.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import mario
import numpy as np
import pandas as pd
import pymrio
import pytest

from ceads_files import HAND_GRID, random_grid, write_csv, write_xlsx
from models_py.ingest import ceads as ceads_loader
from models_py.ingest.ceads import read_mrio
from models_py.ingest.ceads.table import FINAL_USE, Provenance
from models_py.io import leontief
from models_py.io.table import MrioTable, read_warehouse


def read_table(path: Path) -> MrioTable:
    """The input-output table of a raw file."""
    return MrioTable.from_blocks(read_mrio(path))


def city_outputs(tables) -> list[leontief.CityOutput]:
    """City output of each table, solved as the input-output step solves them."""
    return [leontief.city_output(leontief.solve_output(t, overwrite=True)) for t in tables]


# ------------------------------------------------------------- reading back from the warehouse

def test_raw_tables_round_trip_through_the_warehouse(tmp_path):
    from models_py import warehouse

    folder = tmp_path / "ceads"
    folder.mkdir()
    write_csv(folder / "ceads_city_mrio_2012.csv", HAND_GRID)
    grid, _ = random_grid(3)
    write_csv(folder / "ceads_city_mrio_2017.csv", grid)
    result = ceads_loader.load(tmp_path)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        warehouse.replace_tables(con, "raw", result.rows())
        for year in (2012, 2017):
            back = read_warehouse(con, year)
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

    second = _two_city_year(2015, [105, 200], [66, 11], [0, 77])
    np.testing.assert_allclose(second.GO, [105, 200], rtol=1e-14)
    outputs = city_outputs([first, second])
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
    A = t.Z * leontief.inverse_output(t.GO)[None, :]
    assert np.isfinite(A).all() and (A[:, 1] == 0).all()
    solution = leontief.solve_output(t)
    np.testing.assert_allclose(solution.X[:, 0], [5, 0])
    assert leontief.failed_identities(leontief.identities(t, solution)) == []


# ------------------------------------- (d) against pymrio and MARIO on a random table

def test_output_matches_pymrio_and_mario(tmp_path):
    grid, blocks = random_grid()
    table = read_table(write_xlsx(tmp_path / "ceads_city_mrio_2017.xlsx",
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
    grid, _ = random_grid(11)
    good = read_table(write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid))
    solution = leontief.solve_output(good)
    values = leontief.identities(good, solution)
    assert leontief.failed_identities(values) == [], values
    assert values["row_balance"] < 1e-12 and values["output_identity"] < 1e-12
    assert 0 < values["max_column_sum"] < 1

    unbalanced = read_table(write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid))
    unbalanced.Z[2, 5] += 40.0                         # row 3 no longer adds up to GO
    broken = leontief.identities(unbalanced, leontief.solve_output(unbalanced))
    failed = leontief.failed_identities(broken)
    assert any(f.startswith("row_balance") for f in failed)
    assert any(f.startswith("output_identity") for f in failed)
    assert leontief.row_balance_error(unbalanced) == pytest.approx(40 / unbalanced.GO[2])

    heavy = read_table(write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid))
    heavy.Z[:, 4] *= 10                                # inputs worth more than the output
    assert leontief.max_column_sum(heavy) > 1
    assert any(f.startswith("max_column_sum")
               for f in leontief.failed_identities({"max_column_sum":
                                                    leontief.max_column_sum(heavy)}))
    nan = read_table(write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid))
    nan.GO[0] = np.nan
    assert leontief.nonfinite_count(nan.GO) == 1


def test_solve_in_place_releases_z_and_matches_the_copying_solve(tmp_path):
    grid, _ = random_grid(5)
    path = write_csv(tmp_path / "ceads_city_mrio_2012.csv", grid)
    copied = leontief.solve_output(read_table(path))
    table = read_table(path)
    in_place = leontief.solve_output(table, overwrite=True, threads=1)
    assert table.Z is None
    np.testing.assert_allclose(in_place.X, copied.X, rtol=1e-13)
    c_ordered = read_table(path)
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
    outputs = city_outputs(read_table(p) for p in result.files)
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
