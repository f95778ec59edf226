"""Yearbook and EPS files written by hand load into DuckDB with the right values.

Each test writes raw files the way real exports look (GBK, title rows, mixed units, short and
historical names, missing markers) and materializes the real Dagster asset into a DuckDB file.
"""
from __future__ import annotations

import duckdb
import openpyxl
import pytest

from dagster_project.assets.raw import raw_asset
from models_py.ingest import schema
from support import materialize, write_city_yearbooks

USD_2010 = 6.7695  # ref_usd_cny.csv

@pytest.fixture
def yearbook_db(tmp_path):
    raw = tmp_path / "raw"
    write_city_yearbooks(raw)
    db = tmp_path / "wh.duckdb"
    result = materialize([raw_asset("city_yearbook")], raw, db)
    assert result.success
    return result, duckdb.connect(str(db), read_only=True)


def value(con, city, year, variable, scope="全市"):
    rows = con.execute("SELECT value FROM raw.city_yearbook WHERE city_id = ? AND year = ? "
                       "AND variable = ? AND scope = ?", [city, year, variable, scope]).fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


def test_gbk_yearbook_with_title_rows_loads_in_canonical_units(yearbook_db):
    _, con = yearbook_db
    assert value(con, "130100", 2010, "gdp") == pytest.approx(3401.02e4)        # 亿元 -> 万元
    assert value(con, "130100", 2010, "pop_registered") == pytest.approx(987.6543)  # 人 -> 万人
    assert value(con, "130100", 2010, "fdi") == pytest.approx(12345 * USD_2010)  # 万美元 -> 万元
    assert value(con, "130100", 2010, "gdp", "市辖区") == pytest.approx(1.5e6)


def test_historical_and_short_names_resolve_and_missing_markers_stay_missing(yearbook_db):
    _, con = yearbook_db
    # 襄樊市 (2010) and 襄阳 (2012) are both 襄阳市, 420600.
    assert value(con, "420600", 2010, "gdp") == pytest.approx(1538.3e4)
    assert value(con, "420600", 2012, "gdp") == pytest.approx(2501960.5)
    assert value(con, "420600", 2010, "pop_registered") is None
    assert value(con, "420600", 2012, "gdp_per_capita") is None
    assert value(con, "110000", 2012, "urbanization_rate") == pytest.approx(0.862)


def test_unknown_indicator_is_kept_and_reported(yearbook_db):
    result, con = yearbook_db
    kept = con.execute("SELECT city_id, source_value, variable FROM raw.city_yearbook "
                       "WHERE indicator = '城市书店数' ORDER BY city_id").fetchall()
    assert kept == [("130100", 7.0, None), ("420600", 3.0, None)]
    report = result.asset_materializations_for_node("load_city_yearbook")[0].metadata["report"]
    assert report.data["unknown_headers"] == {"yearbook/city_yearbook_2010.csv": ["城市书店数(个)"]}


def test_rows_carry_file_row_and_encoding(yearbook_db):
    _, con = yearbook_db
    assert con.execute("SELECT source_file, source_row FROM raw.city_yearbook WHERE city_id = "
                       "'420600' AND year = 2010 AND variable = 'gdp' AND scope = '全市'"
                       ).fetchone() == ("yearbook/city_yearbook_2010.csv", 5)
    log = dict(con.execute("SELECT file, encoding FROM raw._load_log").fetchall())
    assert log == {"yearbook/city_yearbook_2010.csv": "gb18030",
                   "yearbook/city_yearbook_2012.xlsx": "xlsx"}



def test_yearbook_of_unknown_indicators_only_keeps_the_declared_types(tmp_path):
    # Every indicator unknown to the catalog: variable and unit hold no text to infer a type
    # from, and the table still has the declared one.
    (tmp_path / "raw" / "yearbook").mkdir(parents=True)
    (tmp_path / "raw" / "yearbook" / "city_yearbook_2012.csv").write_text(
        "城市,城市书店数(个)\n北京,7\n", encoding="utf-8")
    db = tmp_path / "wh.duckdb"
    assert materialize([raw_asset("city_yearbook")], tmp_path / "raw", db).success
    with duckdb.connect(str(db), read_only=True) as con:
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'city_yearbook'").fetchall())
        row = con.execute("SELECT variable, indicator, source_value FROM raw.city_yearbook"
                          ).fetchone()
    assert types == schema.RAW_TABLES["city_yearbook"]
    assert row == (None, "城市书店数", 7.0)


EPS_LONG = """地区,地区代码,年份,指标,单位,数值
全国,,2015,互联网上网人数,万人,"68,826"
河北省,130000,2015,城镇化率,%,51.33
北京市,110000,2015,专利申请数,件,156312
石家庄市,,2015,专利申请数,件,—
襄樊,,2009,专利申请数,件,812
"""


def test_eps_long_gbk_and_wide_workbook(tmp_path):
    raw = tmp_path / "raw"
    (raw / "eps").mkdir(parents=True)
    (raw / "eps" / "eps_long.csv").write_bytes(EPS_LONG.encode("gbk"))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "专利申请数"
    ws.append(["信息传输、软件和信息技术服务业新注册企业数(个)"])
    ws.append(["地区", "2016", "2017"])
    ws.append(["石家庄市", 120, 150])
    ws.append(["天津", 900, "-"])
    wb.save(raw / "eps" / "eps_wide.xlsx")
    db = tmp_path / "wh.duckdb"
    assert materialize([raw_asset("eps")], raw, db).success
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT region_level, region_id, year, variable, value FROM raw.eps "
                       "ORDER BY variable, region_id, year").fetchall()
    assert rows == [
        ("nation", "000000", 2015, "internet_users", 68826.0),
        ("city", "120000", 2016, "new_digital_firms", 900.0),
        ("city", "120000", 2017, "new_digital_firms", None),
        ("city", "130100", 2016, "new_digital_firms", 120.0),
        ("city", "130100", 2017, "new_digital_firms", 150.0),
        ("city", "110000", 2015, "patent_applications", 156312.0),
        ("city", "130100", 2015, "patent_applications", None),
        ("city", "420600", 2009, "patent_applications", 812.0),
        ("province", "130000", 2015, "urbanization_rate", pytest.approx(0.5133)),
    ]
