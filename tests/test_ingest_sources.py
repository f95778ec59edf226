"""Baidu index, HSR, policy texts and firm records written by hand load with the right values,
and bad input stops the load with an error naming the file, the row and the value."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from models_py import ingest
from models_py.ingest import asif, baidu, hsr, policy, schema
from models_py.ingest.errors import IngestError, SourceAbsent

# ---------------------------------------------------------------------------------------------
# Baidu search index

BAIDU_2010_GBK = """搜索城市,目标城市,年份,日均搜索指数
北京,上海,2010,"1,234"
上海,北京,2010,980.5
石家庄市,襄樊,2010,12
襄樊市,北京,2010,0
"""

BAIDU_2012 = """搜索城市,目标城市,年份,日均搜索指数
普洱,北京市,2012,3.25

北京,普洱市,2012,7
"""


def write_baidu(raw: Path, text_2010: str = BAIDU_2010_GBK) -> Path:
    folder = raw / "baidu_index"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "baidu_index_2010.csv"
    path.write_bytes(text_2010.encode("gbk"))
    (folder / "baidu_index_2012.csv").write_bytes(BAIDU_2012.encode("utf-8-sig"))
    return path


def test_baidu_gbk_short_and_historical_names(tmp_path):
    write_baidu(tmp_path)
    result = baidu.load(tmp_path)
    t = result.tables["baidu_index"]
    assert len(t) == 6
    row = t[(t["origin_city_id"] == "110000") & (t["target_city_id"] == "310000")].iloc[0]
    assert (row["year"], row["daily_index"]) == (2010, 1234.0)
    assert (row["source_file"], row["source_row"]) == ("baidu_index/baidu_index_2010.csv", 2)
    xiangfan = t[t["origin_city_id"] == "420600"].iloc[0]  # 襄樊市 -> 襄阳市
    assert (xiangfan["target_city_id"], xiangfan["daily_index"]) == ("110000", 0.0)
    assert t[t["origin_city_id"] == "130100"]["target_city_id"].tolist() == ["420600"]
    later = t[t["year"] == 2012].sort_values("source_row")
    assert later["source_row"].tolist() == [2, 4]  # the blank line keeps its number
    assert later["origin_city_id"].tolist() == ["530800", "110000"]
    assert result.report["encodings"] == {"baidu_index/baidu_index_2010.csv": "gb18030",
                                          "baidu_index/baidu_index_2012.csv": "utf-8-sig"}
    assert result.report["rows"] == {"baidu_index": 6}
    assert "zero" in result.report["absent_pairs"]


def bad_baidu(tmp_path, line: str) -> IngestError:
    write_baidu(tmp_path, BAIDU_2010_GBK + line + "\n")
    with pytest.raises(IngestError) as e:
        baidu.load(tmp_path)
    return e.value


def assert_names(error: IngestError, file: str, row: int, value: str) -> None:
    text = str(error)
    assert file in text and f"row {row}" in text and value in text, text


def test_baidu_unknown_city(tmp_path):
    e = bad_baidu(tmp_path, "火星市,北京,2010,1")
    assert_names(e, "baidu_index_2010.csv", 6, "火星市")
    assert "搜索城市" in str(e)


def test_baidu_city_not_prefecture_in_that_year(tmp_path):
    (tmp_path / "baidu_index").mkdir()
    (tmp_path / "baidu_index" / "baidu_index_2012.csv").write_text(
        "搜索城市,目标城市,年份,日均搜索指数\n北京,巢湖,2012,1\n", encoding="utf-8")
    with pytest.raises(IngestError) as e:
        baidu.load(tmp_path)
    assert_names(e.value, "baidu_index_2012.csv", 2, "巢湖")


def test_baidu_non_numeric_index(tmp_path):
    e = bad_baidu(tmp_path, "北京,天津,2010,很多")
    assert_names(e, "baidu_index_2010.csv", 6, "很多")


def test_baidu_missing_marker_is_an_error(tmp_path):
    e = bad_baidu(tmp_path, "北京,天津,2010,--")
    assert_names(e, "baidu_index_2010.csv", 6, "--")
    assert "absent pair means zero" in str(e)


def test_baidu_duplicate_pair_names_both_rows(tmp_path):
    e = bad_baidu(tmp_path, "北京市,上海市,2010,5")
    assert_names(e, "baidu_index_2010.csv", 6, "北京市")
    assert "rows 2 and 6" in str(e)


def test_baidu_year_must_match_file(tmp_path):
    e = bad_baidu(tmp_path, "北京,天津,2011,5")
    assert_names(e, "baidu_index_2010.csv", 6, "2011")


def test_baidu_origin_equals_target(tmp_path):
    e = bad_baidu(tmp_path, "天津,天津市,2010,5")
    assert_names(e, "baidu_index_2010.csv", 6, "天津市")


def test_baidu_undecodable_bytes(tmp_path):
    path = write_baidu(tmp_path)
    path.write_bytes(BAIDU_2010_GBK.encode("gbk") + b"\xff\xfe\xfa,x,2010,1\n")
    with pytest.raises(IngestError) as e:
        baidu.load(tmp_path)
    assert_names(e.value, "baidu_index_2010.csv", 6, "ff fe fa")


# ---------------------------------------------------------------------------------------------
# High-speed rail

HSR_STATIONS = """站点,所在城市,行政区划代码
北京南,北京,110106
天津南,天津市,
济南西,济南,370112
南京南,南京市,
上海虹桥,上海,310112
石家庄,石家庄市,
郑州东,郑州,
武汉,武汉市,
长沙南,长沙,430121
广州南,广州,
北京南,北京市,
"""

HSR_LINES = """线路名称,开通日期,站点
京沪高铁,2011-06-30,北京南|天津南|济南西|南京南|上海虹桥
京广高铁,2012.12.26,北京南、石家庄、郑州东、武汉
京广高铁,2009.12.26,武汉、长沙南、广州南
"""


def write_hsr(raw: Path, lines: str = HSR_LINES, stations: str = HSR_STATIONS) -> None:
    folder = raw / "hsr"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hsr_lines.csv").write_bytes(lines.encode("gbk"))
    (folder / "hsr_stations.csv").write_text(stations, encoding="utf-8")


def test_hsr_staged_line_both_formats(tmp_path):
    write_hsr(tmp_path)
    result = hsr.load(tmp_path)
    stages = result.tables["hsr_line_stage"].set_index(["line_name", "stage"])
    assert stages.loc[("京广高铁", 1), "open_date"] == dt.date(2009, 12, 26)
    assert stages.loc[("京广高铁", 1), "source_row"] == 4
    assert stages.loc[("京广高铁", 2), "open_date"] == dt.date(2012, 12, 26)
    assert stages.loc[("京广高铁", 2), "n_stations"] == 4
    assert stages.loc[("京沪高铁", 1), "open_date"] == dt.date(2011, 6, 30)
    assert stages.loc[("京沪高铁", 1), "n_stations"] == 5

    served = result.tables["hsr_line_station"]
    jinghu = served[served["line_name"] == "京沪高铁"].sort_values("seq")
    assert jinghu["city_id"].tolist() == ["110000", "120000", "370100", "320100", "310000"]
    first = served[(served["line_name"] == "京广高铁") & (served["stage"] == 1)]
    assert first.sort_values("seq")["station"].tolist() == ["武汉", "长沙南", "广州南"]
    assert set(first["source_row"]) == {4}

    stations = result.tables["hsr_station"].set_index("station")
    assert len(stations) == 10  # 北京南 listed twice with the same city
    assert stations.loc["长沙南", "city_id"] == "430100"
    assert stations.loc["北京南", "source_row"] == 2
    assert result.report["duplicate_station_rows"] == [12]
    assert result.report["encodings"] == {"hsr/hsr_stations.csv": "utf-8",
                                          "hsr/hsr_lines.csv": "gb18030"}
    assert result.report["rows"] == {"hsr_line_stage": 3, "hsr_line_station": 12,
                                     "hsr_station": 10}


def test_hsr_bad_date(tmp_path):
    write_hsr(tmp_path, HSR_LINES + "沪宁城际,2010-02-30,上海虹桥|南京南\n")
    with pytest.raises(IngestError) as e:
        hsr.load(tmp_path)
    assert_names(e.value, "hsr_lines.csv", 5, "2010-02-30")


def test_hsr_unknown_station(tmp_path):
    write_hsr(tmp_path, HSR_LINES + "沪宁城际,2010.7.1,上海虹桥|苏州北|南京南\n")
    with pytest.raises(IngestError) as e:
        hsr.load(tmp_path)
    assert_names(e.value, "hsr_lines.csv", 5, "苏州北")
    assert "沪宁城际" in str(e.value)


def test_hsr_station_with_two_cities(tmp_path):
    write_hsr(tmp_path, stations=HSR_STATIONS + "武汉,长沙\n")
    with pytest.raises(IngestError) as e:
        hsr.load(tmp_path)
    assert_names(e.value, "hsr_stations.csv", 13, "长沙")
    assert "row 9" in str(e.value)


def test_hsr_unknown_station_city(tmp_path):
    write_hsr(tmp_path, stations=HSR_STATIONS + "火星站,火星市\n")
    with pytest.raises(IngestError) as e:
        hsr.load(tmp_path)
    assert_names(e.value, "hsr_stations.csv", 13, "火星市")


# ---------------------------------------------------------------------------------------------
# Policy texts

POLICY_INDEX = """文件编号,城市,发布日期,标题,文件名
杭政〔2016〕1号,杭州,2016-03-01,关于推进大数据发展的实施意见,p001.txt
筑府〔2016〕2号,贵阳市,2016.2.5,贵阳市大数据产业发展规划,p002.txt
"""


def write_policy(raw: Path, index: str = POLICY_INDEX) -> Path:
    folder = raw / "policy_texts"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.csv").write_bytes(index.encode("utf-8-sig"))
    (folder / "p001.txt").write_text("第一条 设立专项资金。\n第二条 减免税收。\n", encoding="utf-8")
    (folder / "p002.txt").write_text("建设数据中心。", encoding="utf-8")
    (folder / "draft.txt").write_text("未编号草稿", encoding="utf-8")
    return folder


def test_policy_index_and_texts(tmp_path):
    write_policy(tmp_path)
    result = policy.load(tmp_path)
    docs = result.tables["policy_document"].set_index("doc_id")
    hz = docs.loc["杭政〔2016〕1号"]
    assert (hz["city_id"], hz["publish_date"], hz["source_row"]) == ("330100",
                                                                      dt.date(2016, 3, 1), 2)
    assert hz["text"].startswith("第一条") and hz["n_chars"] == 22
    gy = docs.loc["筑府〔2016〕2号"]
    assert (gy["city_id"], gy["publish_date"], gy["n_chars"]) == ("520100",
                                                                  dt.date(2016, 2, 5), 7)
    assert gy["title"] == "贵阳市大数据产业发展规划" and gy["file_name"] == "p002.txt"
    assert result.report["unindexed_files"] == ["policy_texts/draft.txt"]
    assert result.report["encodings"]["policy_texts/index.csv"] == "utf-8-sig"
    assert result.report["encodings"]["policy_texts/p001.txt"] == "utf-8"
    assert len(result.files) == 3


def test_policy_missing_text_file(tmp_path):
    write_policy(tmp_path, POLICY_INDEX + "X3,北京,2017-01-01,标题,missing.txt\n")
    with pytest.raises(IngestError) as e:
        policy.load(tmp_path)
    assert_names(e.value, "index.csv", 4, "missing.txt")


def test_policy_duplicate_document_number(tmp_path):
    write_policy(tmp_path, POLICY_INDEX + "杭政〔2016〕1号,北京,2017-01-01,标题,draft.txt\n")
    with pytest.raises(IngestError) as e:
        policy.load(tmp_path)
    assert_names(e.value, "index.csv", 4, "杭政〔2016〕1号")
    assert "rows 2 and 4" in str(e.value)


def test_policy_bad_date(tmp_path):
    write_policy(tmp_path, POLICY_INDEX + "X3,北京,2017-13-01,标题,draft.txt\n")
    with pytest.raises(IngestError) as e:
        policy.load(tmp_path)
    assert_names(e.value, "index.csv", 4, "2017-13-01")


def test_policy_text_not_utf8(tmp_path):
    folder = write_policy(tmp_path)
    (folder / "p002.txt").write_bytes("建设数据中心\n".encode("gbk"))
    with pytest.raises(IngestError) as e:
        policy.load(tmp_path)
    assert "p002.txt" in str(e.value) and "UTF-8" in str(e.value)
    assert "index.csv row 3" in str(e.value)


def test_policy_undecodable_index(tmp_path):
    folder = write_policy(tmp_path)
    (folder / "index.csv").write_bytes(POLICY_INDEX.encode("utf-8") + b"\xff\xfe\xfa\n")
    with pytest.raises(IngestError) as e:
        policy.load(tmp_path)
    assert_names(e.value, "index.csv", 4, "ff fe fa")


# ---------------------------------------------------------------------------------------------
# Firm records

ASIF_HEADER = "法人代码,行政区划代码,行业代码,年份,工业总产值(千元),从业人数,开业年份,登记注册类型\n"
ASIF_2005 = ASIF_HEADER + """10000001X,130121,0610,2005,"12,345.5",120,1998,110
100000002,130123,3311,2005,-,35,,173
"""


def write_asif(raw: Path, csv_text: str = ASIF_2005) -> Path:
    folder = raw / "asif"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "asif_2005.csv").write_bytes(csv_text.encode("gbk"))
    table = pa.table({
        "法人代码": ["10000001X", "100000003"], "行政区划代码": ["130121", "430121"],
        "行业代码": ["0610", "3911"], "年份": pa.array([2006, 2006], pa.int64()),
        "工业总产值(千元)": pa.array([15000.0, None]), "从业人数": pa.array([130, 8], pa.int32()),
        "开业年份": pa.array([1998, None], pa.int64()), "登记注册类型": ["110", None]})
    pq.write_table(table, folder / "asif_2006.parquet")
    return folder


def test_asif_csv_and_parquet(tmp_path):
    write_asif(tmp_path)
    result = asif.load(tmp_path)
    t = result.tables["asif_firm_year"].set_index(["year", "firm_id"])
    a = t.loc[(2005, "10000001X")]
    assert (a["county_id"], a["cic4"], a["output_k_yuan"], a["employment"]) == (
        "130121", "0610", 12345.5, 120.0)
    assert (a["open_year"], a["registration_type"], a["source_row"]) == (1998, "110", 2)
    b = t.loc[(2005, "100000002")]
    assert pd.isna(b["output_k_yuan"]) and pd.isna(b["open_year"])
    c = t.loc[(2006, "100000003")]
    assert (c["county_id"], c["cic4"], c["employment"], c["source_row"]) == (
        "430121", "3911", 8.0, 3)
    assert pd.isna(c["registration_type"]) and pd.isna(c["output_k_yuan"])
    assert t.loc[(2006, "10000001X"), "source_file"] == "asif/asif_2006.parquet"
    assert result.report["rows"] == {"asif_firm_year": 4}
    assert result.report["encodings"] == {"asif/asif_2005.csv": "gb18030",
                                          "asif/asif_2006.parquet": "parquet"}


def bad_asif(tmp_path, line: str) -> IngestError:
    write_asif(tmp_path, ASIF_2005 + line + "\n")
    with pytest.raises(IngestError) as e:
        asif.load(tmp_path)
    return e.value


def test_asif_bad_county_code(tmp_path):
    e = bad_asif(tmp_path, "100000009,999999,3311,2005,1,1,2000,110")
    assert_names(e, "asif_2005.csv", 4, "999999")


def test_asif_cic_not_four_digits(tmp_path):
    e = bad_asif(tmp_path, "100000009,130121,610,2005,1,1,2000,110")
    assert_names(e, "asif_2005.csv", 4, "610")


def test_asif_duplicate_firm_year(tmp_path):
    e = bad_asif(tmp_path, "100000002,130121,3311,2005,1,1,2000,110")
    assert_names(e, "asif_2005.csv", 4, "100000002")
    assert "rows 3 and 4" in str(e)


def test_asif_non_numeric_output(tmp_path):
    e = bad_asif(tmp_path, "100000009,130121,3311,2005,abc,1,2000,110")
    assert_names(e, "asif_2005.csv", 4, "abc")


def test_asif_year_must_match_file(tmp_path):
    e = bad_asif(tmp_path, "100000009,130121,3311,2004,1,1,2000,110")
    assert_names(e, "asif_2005.csv", 4, "2004")


def test_asif_parquet_rows_counted_as_in_csv(tmp_path):
    folder = write_asif(tmp_path)
    pq.write_table(pa.table({
        "法人代码": ["A", "B", "A"], "行政区划代码": ["130121"] * 3, "行业代码": ["0610"] * 3,
        "年份": [2006] * 3, "工业总产值(千元)": [1.0] * 3, "从业人数": [1] * 3,
        "开业年份": [2000] * 3, "登记注册类型": ["110"] * 3}), folder / "asif_2006.parquet")
    with pytest.raises(IngestError) as e:
        asif.load(tmp_path)
    assert_names(e.value, "asif_2006.parquet", 4, "A")
    assert "rows 2 and 4" in str(e.value)


def test_asif_integer_cic_column_keeps_four_digits(tmp_path):
    folder = write_asif(tmp_path)
    pq.write_table(pa.table({
        "法人代码": ["A"], "行政区划代码": pa.array([130121], pa.int64()),
        "行业代码": pa.array([610], pa.int64()), "年份": [2006], "工业总产值(千元)": [1.0],
        "从业人数": [1], "开业年份": [2000], "登记注册类型": [110]}), folder / "asif_2006.parquet")
    result = asif.load(tmp_path)
    t = result.tables["asif_firm_year"].set_index(["year", "firm_id"])
    assert tuple(t.loc[(2006, "A"), ["county_id", "cic4", "registration_type"]]) == (
        "130121", "0610", "110")
    assert result.report["cic_from_integer_column"] == ["asif/asif_2006.parquet"]


def test_header_only_file_is_an_error(tmp_path):
    write_baidu(tmp_path, "搜索城市,目标城市,年份,日均搜索指数\n")
    with pytest.raises(IngestError) as e:
        baidu.load(tmp_path)
    assert "baidu_index_2010.csv" in str(e.value) and "no data rows" in str(e.value)


def test_asif_two_files_for_one_year(tmp_path):
    folder = write_asif(tmp_path)
    (folder / "asif_2006.csv").write_text(ASIF_HEADER, encoding="utf-8")
    with pytest.raises(IngestError) as e:
        asif.load(tmp_path)
    assert "asif_2006.csv" in str(e.value) and "asif_2006.parquet" in str(e.value)


def test_asif_undecodable_bytes(tmp_path):
    folder = write_asif(tmp_path)
    (folder / "asif_2005.csv").write_bytes(ASIF_2005.encode("utf-8") + b"\xff\xfe\xfa\n")
    with pytest.raises(IngestError) as e:
        asif.load(tmp_path)
    assert_names(e.value, "asif_2005.csv", 4, "ff fe fa")


# ---------------------------------------------------------------------------------------------
# The tables have the types declared in models_py/ingest/schema.py


def inferred_types(table) -> dict[str, str]:
    """The DuckDB type of each column of a loader's table, as DuckDB reads the frame."""
    con = duckdb.connect()
    con.register("t", table)
    return {name: kind for name, kind, *_ in con.execute("DESCRIBE t").fetchall()}


def test_loaders_produce_the_declared_types(small_default):
    for source, spec in ingest.SOURCES.items():
        result = ingest.load(source, small_default[0])
        assert result.status == "loaded" and sorted(result.tables) == sorted(spec.tables)
        for name, table in result.tables.items():
            assert inferred_types(table) == schema.RAW_TABLES[name], name


def test_hand_written_files_load_with_the_declared_types(tmp_path):
    raw = tmp_path / "raw"
    write_baidu(raw)
    write_hsr(raw)
    write_policy(raw)
    write_asif(raw)
    con = duckdb.connect()
    for source in ("baidu_index", "hsr", "policy_texts", "asif"):
        result = ingest.load(source, raw)
        for name, table in result.tables.items():
            assert inferred_types(table) == schema.RAW_TABLES[name], name
        ingest.write(con, result, raw)
    written = con.execute("SELECT table_name, column_name, data_type FROM "
                          "information_schema.columns WHERE table_schema = 'raw' AND "
                          "table_name NOT LIKE '\\_%' ESCAPE '\\'").fetchall()
    assert {(t, c, k) for t, c, k in written} == {
        (t, c, k) for t in ("baidu_index", "hsr_line_stage", "hsr_line_station", "hsr_station",
                            "policy_document", "asif_firm_year")
        for c, k in schema.RAW_TABLES[t].items()}
    assert con.execute("SELECT cic4 FROM raw.asif_firm_year WHERE firm_id = '10000001X' "
                       "AND year = 2005").fetchone() == ("0610",)


# ---------------------------------------------------------------------------------------------
# A source the landing folder does not hold is absent, not an error


def test_missing_folder_is_an_absent_source(tmp_path):
    result = ingest.load("baidu_index", tmp_path)
    assert result.status == "absent" and result.files == []
    assert result.absent == f"{tmp_path / 'baidu_index'}: no such folder"
    (table,) = result.tables.values()
    assert table.empty and list(table.columns) == schema.columns("baidu_index")


def test_folder_without_a_matching_file_is_absent_and_lists_what_it_holds(tmp_path):
    write_baidu(tmp_path)
    for path in (tmp_path / "baidu_index").iterdir():
        path.rename(path.with_name("baidu_" + path.name))  # misnamed exports
    with pytest.raises(SourceAbsent) as e:
        baidu.load(tmp_path)
    assert "no file named like baidu_index_" in str(e.value)
    assert "it holds: baidu_baidu_index_2010.csv, baidu_baidu_index_2012.csv" in str(e.value)
    (tmp_path / "asif").mkdir()
    assert ingest.load("asif", tmp_path).absent.endswith("(it is empty)")


def test_a_file_where_the_source_folder_should_be_is_an_error(tmp_path):
    (tmp_path / "eps").write_text("not a folder", encoding="utf-8")
    with pytest.raises(IngestError, match="expected a folder of source files"):
        ingest.load("eps", tmp_path)


def test_a_missing_landing_folder_is_an_error_not_seven_absent_sources(tmp_path):
    for source in ingest.SOURCES:
        with pytest.raises(IngestError) as e:
            ingest.load(source, tmp_path / "typo")
        assert str(e.value) == f"{tmp_path / 'typo'}: landing folder not found"


def test_hsr_without_both_files(tmp_path):
    (tmp_path / "hsr").mkdir()
    assert ingest.load("hsr", tmp_path).absent.endswith(
        "neither hsr_stations.csv nor hsr_lines.csv")
    write_hsr(tmp_path)
    (tmp_path / "hsr" / "hsr_lines.csv").unlink()
    with pytest.raises(IngestError) as e:
        hsr.load(tmp_path)
    assert "hsr_lines.csv: file not found" in str(e.value)


def test_policy_texts_without_their_index(tmp_path):
    folder = write_policy(tmp_path)
    (folder / "index.csv").unlink()
    with pytest.raises(IngestError) as e:
        policy.load(tmp_path)
    assert "index.csv: file not found: the policy texts need their index" in str(e.value)
    for path in folder.iterdir():
        path.unlink()
    assert ingest.load("policy_texts", tmp_path).absent.endswith("no index.csv and no policy texts")
