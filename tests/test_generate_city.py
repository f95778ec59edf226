"""The city, county, EPS, policy-text and firm-record sources at small scale: file names, layouts,
encodings, units, names and markers as the raw-source contract describes them; reproducibility;
the truth sections; and the planted S001 effect seen in the latent panel."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models_py import reference
from models_py.generate import (city_sources, city_world, policy_files, resilience_index,
                                yearbook_files)
from models_py.generate.latent import city_latent
from models_py.generate.scale import get_scale
from support import decode

SEED = 20240601
MARKERS = {"", "-", "—", "--", "…", "NA", "N/A"}
HEADER = re.compile(r"^(?P<ind>[^()]+)\((?P<unit>[^()]*)\)(?:_(?:全市|市辖区))?$")


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    sc = get_scale("small")
    latent = city_latent(sc.city_ids, SEED)
    out = tmp_path_factory.mktemp("city_raw")
    truth = city_sources.write_all(out, sc, latent, SEED)
    return out, sc, latent, truth


def grid(path) -> list[list[str]]:
    """Rows of a CSV file or of the first sheet of a workbook, cells as text ('' if empty)."""
    if path.suffix == ".csv":
        return list(csv.reader(io.StringIO(decode(path.read_bytes())[0])))
    frame = pd.read_excel(path, header=None, engine="calamine", dtype=object)
    return [["" if pd.isna(v) else (str(int(v)) if isinstance(v, float) and v.is_integer()
                                    else str(v)) for v in row] for row in frame.values.tolist()]


def header_at(rows, first_cells) -> int:
    return next(i for i, r in enumerate(rows[:4]) if r and r[0] in first_cells)


def yearbook_paths(out, prefix, years):
    found = {}
    for y in years:
        paths = [p for p in (out / "yearbook").glob(f"{prefix}_{y}.*")]
        assert len(paths) == 1, (y, paths)
        found[y] = paths[0]
    return found


def test_city_yearbook_one_file_per_year_in_both_formats_and_encodings(generated):
    out, sc, _, _ = generated
    files = yearbook_paths(out, "city_yearbook", sc.city_years)
    assert {p.suffix for p in files.values()} == {".csv", ".xlsx"}
    encodings = {decode(p.read_bytes())[1] for p in files.values() if p.suffix == ".csv"}
    assert {"gbk", "utf-8-sig", "utf-8"} <= encodings
    for p in files.values():
        if p.suffix == ".csv" and decode(p.read_bytes())[1] == "gbk":
            p.read_bytes().decode("gbk")  # plain GBK, not only GB18030


def test_city_yearbook_header_rows_titles_and_columns(generated):
    out, sc, _, _ = generated
    catalog = reference.table("ref_variable_catalog")
    known = set(zip(catalog["indicator"], catalog["unit"].fillna("")))
    titles, firsts, with_code, units, scopes = set(), set(), 0, set(), set()
    for year, path in yearbook_paths(out, "city_yearbook", sc.city_years).items():
        rows = grid(path)
        h = header_at(rows, ("城市", "地区"))
        titles.add(h)
        header = rows[h]
        firsts.add(header[0])
        with_code += "行政区划代码" in header
        indicators = set()
        for col in header[1:]:
            if col == "行政区划代码":
                continue
            m = HEADER.match(col)
            assert m and (m["ind"], m["unit"]) in known, (path.name, col)
            indicators.add(m["ind"])
            units.add((m["ind"], m["unit"]))
            scopes.add(col.rsplit("_", 1)[1] if "_" in col else "")
        assert indicators == {i for i, _, _ in yearbook_files.city_indicators()}, path.name
    assert titles == {0, 1, 2, 3}
    assert firsts == {"城市", "地区"}
    assert 0 < with_code < len(sc.city_years)
    assert {("地区生产总值", "亿元"), ("地区生产总值", "万元"), ("年末户籍人口", "人"),
            ("年末户籍人口", "万人"), ("当年实际使用外资金额", "万美元")} <= units
    assert {"", "全市", "市辖区"} <= scopes


def test_city_yearbook_rows_names_markers_and_separators(generated):
    out, sc, _, _ = generated
    files = yearbook_paths(out, "city_yearbook", sc.city_years)
    cities = reference.cities()
    shorts = set(cities["short_name"]) - set(cities["city_name"])
    names_by_year, cells, separators, short_used = {}, [], 0, 0
    for year, path in files.items():
        rows = grid(path)
        h = header_at(rows, ("城市", "地区"))
        body = [r for r in rows[h + 1:] if any(r)]
        names_by_year[year] = {r[0] for r in body}
        short_used += len(names_by_year[year] & shorts)
        first = 2 if "行政区划代码" in rows[h] else 1
        cells += [c for r in body for c in r[first:]]
        if path.suffix == ".csv":
            separators += sum(bool(re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", c)) for r in body
                              for c in r)
    assert "襄樊市" in names_by_year[2010] and "襄阳市" not in names_by_year[2010]
    assert "襄阳市" in names_by_year[2012] or "襄阳" in names_by_year[2012]
    assert "巢湖市" not in names_by_year[2012]
    assert short_used > 0
    assert separators > 100
    missing = [c for c in cells if c in MARKERS]
    assert 0.003 < len(missing) / len(cells) < 0.03
    assert {"", "-", "—", "--", "…", "NA", "N/A"} <= set(missing)


def test_city_yearbook_values_are_plausible_and_consistent(generated):
    out, _, _, _ = generated
    rows = grid(out / "yearbook" / "city_yearbook_2015.xlsx")
    h = header_at(rows, ("城市", "地区"))
    frame = pd.DataFrame(rows[h + 1:], columns=rows[h])
    num = frame.iloc[:, 2:].apply(pd.to_numeric, errors="coerce")
    gdppc = num["人均地区生产总值(元)"]
    assert gdppc.dropna().between(8_000, 400_000).all()
    pop = num["年末常住人口(万人)"]
    assert pop.dropna().between(50, 3_400).all()
    implied = num["地区生产总值(万元)"] / (gdppc * pop)
    assert implied.dropna().between(0.99, 1.01).all()
    assert num["城镇人口比重(%)"].dropna().between(10, 100).all()
    assert (num["第二产业增加值占GDP比重(%)"] + num["第三产业增加值占GDP比重(%)"]).dropna().lt(100).all()


def test_county_yearbooks_carry_codes_of_the_scale(generated):
    out, sc, _, _ = generated
    files = yearbook_paths(out, "county_yearbook", sc.county_years)
    assert {p.suffix for p in files.values()} == {".csv", ".xlsx"}
    firsts = set()
    for path in files.values():
        rows = grid(path)
        h = header_at(rows, ("县", "地区"))
        firsts.add(rows[h][0])
        assert rows[h][1:] == ["行政区划代码", "地区生产总值(万元)", "年末户籍人口(万人)",
                               "城镇居民人均可支配收入(元)", "农村居民人均纯收入(元)"]
        codes = [r[1] for r in rows[h + 1:] if any(r)]
        assert sorted(codes) == sorted(sc.county_ids)
    assert firsts == {"县", "地区"}


def test_eps_long_wide_gbk_and_levels(generated):
    out, sc, _, _ = generated
    paths = sorted((out / "eps").iterdir())
    assert any(p.suffix == ".csv" and decode(p.read_bytes())[1] == "gbk" for p in paths)
    long_rows, wide_sheets = [], 0
    for p in paths:
        sheets = ([(None, grid(p))] if p.suffix == ".csv" else
                  [(name, [["" if pd.isna(v) else str(v) for v in r]
                           for r in f.values.tolist()])
                   for name, f in pd.read_excel(p, sheet_name=None, header=None,
                                                engine="calamine", dtype=object).items()])
        for _, rows in sheets:
            if rows[0][0] == "地区" and "数值" in rows[0]:
                frame = pd.DataFrame(rows[1:], columns=rows[0])
                long_rows.append(frame.reindex(columns=["地区", "地区代码", "年份", "指标", "单位",
                                                        "数值"]).assign(file=p.name))
            else:
                assert HEADER.match(rows[0][0]), (p.name, rows[0][0])
                assert rows[1][0] == "地区" and rows[1][1:] == [str(y) for y in sc.city_years]
                wide_sheets += 1
    assert wide_sheets >= 1
    eps = pd.concat(long_rows, ignore_index=True)
    nation = eps[eps["地区"] == "全国"]
    assert sorted(nation["年份"].astype(int)) == list(range(2009, 2024))
    assert set(eps.loc[eps["年份"].astype(str) == "1984", "指标"]) == {"1984年每百人固定电话数"}
    provinces = set(reference.cities()["province_name"])
    prov = eps[eps["地区"].isin(provinces) & (eps["指标"] == "城镇化率")]
    assert prov["地区代码"].str.fullmatch(r"\d{2}0000").all()
    assert {"信息传输、计算机服务和软件业从业人员", "科学研究和技术服务业从业人员", "知识产权保护指数",
            "政策执行能力指数", "城镇居民人均可支配收入", "农村居民人均可支配收入"} <= set(eps["指标"])


def test_policy_texts_follow_approval_and_carry_planted_keywords(generated):
    out, sc, _, truth = generated
    index = pd.read_csv(out / "policy_texts" / "index.csv", dtype=str, encoding="utf-8-sig")
    assert list(index.columns) == ["文件编号", "城市", "发布日期", "标题", "文件名"]
    assert index["文件编号"].is_unique and index["文件名"].is_unique
    pilots = reference.table("ref_cbec_pilot").sort_values("approval_date") \
        .drop_duplicates("city_id")
    pilots = pilots[pilots["city_id"].isin(sc.city_ids)]
    approval = dict(zip(pilots["city_name"], pilots["approval_date"]))
    assert set(index["城市"]) <= set(approval)
    assert (index["发布日期"] > index["城市"].map(approval)).all()
    totals = {}
    for name, city in zip(index["文件名"], index["城市"]):
        counts = policy_files.keyword_counts((out / "policy_texts" / name).read_text("utf-8"))
        for tool, k in counts.items():
            totals.setdefault(city, dict.fromkeys(counts, 0))[tool] += k
    planted = truth["S002"]["policy_texts"]["cities"]
    names = dict(zip(reference.cities()["city_id"], reference.cities()["city_name"]))
    for cid, info in planted.items():
        assert totals.get(names[cid], dict.fromkeys(info["keywords"], 0)) == info["keywords"]


def test_policy_tool_sentences_hold_exactly_their_keyword():
    every = [k for words in policy_files.policy_tools().values() for k in words]
    assert sorted(policy_files.POLICY_SENTENCES) == sorted(every)
    for word, sentences in policy_files.POLICY_SENTENCES.items():
        for s in sentences:
            assert {k: s.count(k) for k in every if k in s} == {word: 1}, s
    for s in policy_files.FILLERS + policy_files.TOPICS:
        assert not any(k in s for k in every), s


def test_asif_years_columns_and_firm_panel(generated):
    out, sc, _, _ = generated
    frames = []
    for y in sc.county_years:
        paths = list((out / "asif").glob(f"asif_{y}.*"))
        assert len(paths) == 1
        p = paths[0]
        if p.suffix == ".csv":
            f = pd.read_csv(io.StringIO(decode(p.read_bytes())[0]), dtype=str)
        else:
            f = pd.read_parquet(p).astype(str)
        assert list(f.columns) == ["法人代码", "行政区划代码", "行业代码", "年份", "工业总产值(千元)",
                                   "从业人数", "开业年份", "登记注册类型"]
        frames.append(f.assign(fmt=p.suffix))
    firms = pd.concat(frames, ignore_index=True)
    assert set(firms["fmt"]) == {".csv", ".parquet"}
    assert firms["法人代码"].str.fullmatch(r"[0-9]{8}[0-9X]").all()
    assert firms["行业代码"].str.fullmatch(r"[0-9]{4}").all()
    assert set(firms["行政区划代码"]) <= set(sc.county_ids)
    assert not firms.duplicated(["法人代码", "年份"]).any()
    years = firms.groupby("法人代码")["年份"].agg(["min", "max", "size"]).astype(int)
    assert (years["size"] > 1).mean() > 0.5                     # stable ids across years
    assert (years["min"] > 1998).any() and (years["max"] < 2007).any()  # entry and exit
    assert firms["登记注册类型"].isin(["171", "172", "173", "174"]).mean() > 0.1


def test_clusters_show_in_firm_records(generated):
    out, _, latent, truth = generated
    frames = [pd.read_csv(p, dtype=str) if p.suffix == ".csv" else pd.read_parquet(p)
              for p in sorted((out / "asif").glob("asif_2007.*"))]
    firms = frames[0].astype(str)
    counts = firms.groupby(["行政区划代码", "行业代码"]).size()
    share = counts / firms.groupby("行政区划代码").size()
    for cluster in truth["S004"]["clusters"]:
        share_of_county = share.loc[(cluster["county_id"], cluster["industry"])]
        assert share_of_county >= float(reference.dbt_var("cluster_min_county_share"))
    # elsewhere no industry has what the pipeline calls a cluster (the dbt variables cluster_*:
    # enough firms, a share of the county's and a density index, the share over the nation's);
    # a high share alone is no sign, a county of ten firms may well have two in one industry
    clustered = {c["county_id"] for c in truth["S004"]["clusters"]}
    other = ~counts.index.get_level_values(0).isin(clustered)
    national = firms.groupby("行业代码").size() / len(firms)
    density = share / national.reindex(counts.index.get_level_values(1)).to_numpy()
    looks = (counts >= int(reference.dbt_var("cluster_min_firms"))) \
        & (share >= float(reference.dbt_var("cluster_min_county_share"))) \
        & (density >= float(reference.dbt_var("cluster_min_dbi")))
    assert not looks[other].any(), looks[other & looks.to_numpy()]
    # and nearly every planted one shows: a cluster whose industry is common nationwide (its
    # national share above a tenth of its share of the county's firms) misses the density index
    planted = [(c["county_id"], c["industry"]) for c in truth["S004"]["clusters"]]
    shows = looks.loc[planted]
    assert shows.mean() >= 0.95, shows[~shows]
    assert (density.loc[planted][~shows] < float(reference.dbt_var("cluster_min_dbi"))).all()


def test_same_seed_gives_identical_bytes(generated, tmp_path):
    out, sc, latent, _ = generated
    city_sources.write_all(tmp_path, sc, latent, SEED)
    for rel in ("yearbook/city_yearbook_2010.csv", "yearbook/county_yearbook_1999.csv",
                "eps/eps_city_talent_institutions.csv", "asif/asif_1998.csv",
                "policy_texts/index.csv", "yearbook/city_yearbook_2011.xlsx"):
        assert (tmp_path / rel).read_bytes() == (out / rel).read_bytes(), rel


def test_truth_sections_are_complete_and_serialisable(generated):
    truth = generated[3]
    json.dumps(truth)
    assert set(truth) == {"S000", "S001", "S002", "S004"}
    for section in truth.values():
        for name, est in section["estimands"].items():
            assert est["sign"] in {"+", "-", "0"}, name
            assert est["how"], name
    s001 = truth["S001"]["estimands"]
    assert s001["event_study_leads"]["sign"] == "0" and s001["placebo"]["sign"] == "0"
    assert s001["mechanism_talent_share"]["value"] == 0.011
    assert s001["mechanism_log_new_digital_firms"]["value"] == 0.204


def twfe(frame: pd.DataFrame, y: str, x: str) -> tuple[float, float]:
    """Two-way (city, year) fixed-effects slope and its city-clustered t statistic on a
    balanced panel."""
    d = frame[["city_id", "year", y, x]].copy()
    for col in (y, x):
        for _ in range(50):
            d[col] = d[col] - d.groupby("city_id")[col].transform("mean")
            d[col] = d[col] - d.groupby("year")[col].transform("mean")
    beta = (d[x] * d[y]).sum() / (d[x] ** 2).sum()
    score = (d[x] * (d[y] - beta * d[x])).groupby(d["city_id"]).sum()
    g = len(score)
    se = np.sqrt(g / (g - 1) * (score ** 2).sum()) / (d[x] ** 2).sum()
    return beta, beta / se


def test_resilience_index_rises_in_pilot_cities_at_small_scale(generated):
    _, sc, latent, truth = generated
    world = city_world.build_city_world(sc, latent, SEED)
    sample = world.cities.loc[world.cities["in_s001"] == 1, "city_id"]
    comp = resilience_index.resilience_components(world.panel[world.panel["city_id"].isin(sample)])
    comp = comp[comp["year"].between(*city_world.s001_years())].reset_index(drop=True)
    comp["index"] = resilience_index.entropy_fit(comp).score(comp)
    treated = truth["S001"]["treated_cities"]
    comp["did"] = [float(c in treated and y >= treated[c])
                   for c, y in zip(comp["city_id"], comp["year"])]
    beta, t = twfe(comp, "index", "did")
    assert beta > 0 and t > 2.5
    panel = world.panel[world.panel["city_id"].isin(sample)
                        & world.panel["year"].between(*city_world.s001_years())].copy()
    panel["did"] = [float(c in treated and y >= treated[c])
                    for c, y in zip(panel["city_id"], panel["year"])]
    panel["talent"] = (panel["employment_it"] + panel["employment_research"]) \
        / panel["employment_urban_units"]
    beta, t = twfe(panel, "talent", "did")
    assert beta == pytest.approx(0.011, abs=0.002) and t > 5


def test_make_generate_parses_the_dbt_project_first():
    """The generator reads S002's study file, whose check reads dbt's manifest: on a fresh clone
    (here: the dbt project newer than its manifest) `make generate` parses the project first."""
    project = Path(__file__).resolve().parents[1]
    plan = subprocess.run(["make", "-n", "-C", str(project), "-W", "dbt/dbt_project.yml",
                           "generate"], capture_output=True, text=True, check=True).stdout
    assert "dbt parse" in plan and "models_py.generate" in plan
    assert plan.index("dbt parse") < plan.index("models_py.generate")
