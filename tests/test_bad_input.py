"""Bad raw input fails the asset with a message naming file, row and value, and leaves the
warehouse exactly as it was. Raw files are never modified."""
from __future__ import annotations

import shutil

import pytest

from dagster_project.assets.raw import raw_asset
from models_py.ingest.files import sha256
from ceads_files import HAND_GRID, edited, write_xlsx
from support import (YEARBOOK_2010_GBK, failure_message, materialize, warehouse_state,
                     write_city_yearbooks)

YEARBOOK = "yearbook/city_yearbook_2010.csv"


@pytest.fixture
def loaded(tmp_path):
    """A warehouse holding a good yearbook load, and the folder it came from."""
    raw = tmp_path / "good"
    write_city_yearbooks(raw)
    db = tmp_path / "wh.duckdb"
    assert materialize([raw_asset("city_yearbook")], raw, db).success
    return raw, db, warehouse_state(db)


def corrupt(tmp_path, good, text: str | None = None, data: bytes | None = None):
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    target = bad / YEARBOOK
    target.write_bytes(data if data is not None else text.encode("gbk"))
    return bad, sha256(target)


CASES = {
    "unresolvable city name": (
        YEARBOOK_2010_GBK + "火星市,,10,10,10,10,1\n",
        ["city_yearbook_2010.csv", "row 6", "city name not found", "'火星市'"]),
    "unknown header": (
        YEARBOOK_2010_GBK.replace("地区生产总值(亿元)", "GDP"),
        ["city_yearbook_2010.csv", "row 3", "unknown header", "'GDP'"]),
    "non-numeric value": (
        YEARBOOK_2010_GBK.replace('"3,401.02"', "3401.O2"),
        ["city_yearbook_2010.csv", "row 4", "地区生产总值(亿元)", "not a number", "'3401.O2'"]),
    "duplicate city-year": (
        YEARBOOK_2010_GBK + "襄阳市,420600,1500,10,10,10,1\n",
        ["city_yearbook_2010.csv", "row 6", "duplicate place-year", "row 5", "'襄阳市'"]),
    "unit the catalog cannot convert": (
        YEARBOOK_2010_GBK.replace("地区生产总值(亿元)", "地区生产总值(千元)"),
        ["city_yearbook_2010.csv", "row 3", "unit '千元'", "'地区生产总值(千元)'"]),
    "city not prefecture-level that year": (
        YEARBOOK_2010_GBK.replace("石家庄,130100", "三沙,"),
        ["city_yearbook_2010.csv", "row 4", "三沙市 (460300) is not a prefecture-level city in 2010"]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_yearbook_fails_cleanly(tmp_path, loaded, case):
    good, db, before = loaded
    text, expected = CASES[case]
    bad, digest = corrupt(tmp_path, good, text=text)
    result = materialize([raw_asset("city_yearbook")], bad, db)
    assert not result.success
    message = failure_message(result)
    for part in expected:
        assert part in message, (part, message)
    assert warehouse_state(db) == before
    assert sha256(bad / YEARBOOK) == digest


def test_undecodable_file_fails_cleanly(tmp_path, loaded):
    good, db, before = loaded
    data = YEARBOOK_2010_GBK.encode("gbk") + b"\xff\xfe\xfa\xff\n"
    bad, _ = corrupt(tmp_path, good, data=data)
    result = materialize([raw_asset("city_yearbook")], bad, db)
    assert not result.success
    message = failure_message(result)
    assert "city_yearbook_2010.csv" in message and "row 6" in message
    assert "cannot be decoded as UTF-8 or GBK/GB18030" in message
    assert warehouse_state(db) == before


# --- CEADs MRIO tables: a truncated Z block, rows that do not balance to gross output ---------

MRIO = "ceads/ceads_city_mrio_2012.xlsx"


@pytest.fixture
def loaded_mrio(tmp_path):
    """A warehouse holding a good CEADs load (the hand-made 2 x 2 table of ceads_files)."""
    raw = tmp_path / "good_mrio"
    (raw / "ceads").mkdir(parents=True)
    write_xlsx(raw / MRIO, HAND_GRID)
    db = tmp_path / "wh.duckdb"
    assert materialize([raw_asset("ceads_mrio")], raw, db).success
    return raw, db, warehouse_state(db)


def _bad_mrio(tmp_path, good, grid):
    bad = tmp_path / "bad_mrio"
    shutil.copytree(good, bad)
    write_xlsx(bad / MRIO, grid)
    return bad, sha256(bad / MRIO)


def test_truncated_z_block_fails_cleanly(tmp_path, loaded_mrio):
    good, db, before = loaded_mrio
    bad, digest = _bad_mrio(tmp_path, good, HAND_GRID[:7] + HAND_GRID[8:])  # 天津 16 row gone
    result = materialize([raw_asset("ceads_mrio")], bad, db)
    assert not result.success
    message = failure_message(result)
    for part in ("ceads_city_mrio_2012.xlsx", "row 8", "truncated Z block"):
        assert part in message, (part, message)
    assert warehouse_state(db) == before
    assert sha256(bad / MRIO) == digest


def test_unbalanced_mrio_row_fails_cleanly(tmp_path, loaded_mrio):
    good, db, before = loaded_mrio
    bad, digest = _bad_mrio(tmp_path, good, edited(HAND_GRID, {(6, 21): 101}))  # GO 100 -> 101
    result = materialize([raw_asset("ceads_mrio")], bad, db)
    assert not result.success
    message = failure_message(result)
    for part in ("ceads_city_mrio_2012.xlsx", "row 6", "does not balance", "but GO = 101"):
        assert part in message, (part, message)
    assert warehouse_state(db) == before
    assert sha256(bad / MRIO) == digest
