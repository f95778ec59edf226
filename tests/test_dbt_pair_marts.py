"""The city-pair marts (S003 city_pair_period, S002 city_pair_year) built by real dbt.

First on a tiny warehouse whose raw tables are written here by hand, with every expected value
worked out in the test; then on the small embedded default, loaded by the real raw assets.
"""
from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from models_py import reference
from models_py.ingest import schema

ROOT = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"
# The pair marts with everything upstream, and only the data tests of the pair models (the
# upstream models' own tests belong to their owners' suites).
BUILD_PAIR_MARTS = ["build", "--select", "+city_pair_period", "+city_pair_year",
                    "path:models/intermediate/_int_pair.yml", "path:models/marts/_marts_pair.yml",
                    "--indirect-selection", "empty"]

BJ, TJ, SH, HZ, YB = "110000", "120000", "310000", "330100", "222400"  # 延边: CEADs, no yearbook
YEARS = range(2010, 2018)
POP = {BJ: 2000.0, TJ: 1500.0, SH: 2400.0, HZ: 900.0}                 # 万人
GDPPC_BASE = {BJ: 50000.0, TJ: 45000.0, SH: 60000.0, HZ: 40000.0}      # 元 in 2010
GDPPC_GROWTH = {BJ: 1.10, TJ: 1.02, SH: 1.05, HZ: 1.08}                # per year
MISSING = {(BJ, 2013, "gdp_per_capita")}                               # a missing-value marker


def run_dbt(args: list[str], db: Path, target: Path) -> None:
    cmd = [str(DBT), *args, "--threads", "4",
           "--project-dir", str(ROOT / "dbt"), "--profiles-dir", str(ROOT / "dbt"),
           "--target-path", str(target), "--log-path", str(target / "logs")]
    done = subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, "WAREHOUSE_PATH": str(db)})
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


def haversine_km(lon1, lat1, lon2, lat2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def coordinates() -> dict[str, tuple[float, float]]:
    ref = pd.read_csv(ROOT / "dbt" / "seeds" / "ref_city.csv", dtype={"city_id": str})
    return {c: (lon, lat) for c, lon, lat in zip(ref["city_id"], ref["longitude"], ref["latitude"])}


# --------------------------------------------------------------------------- tiny hand-made world

def gdppc(city: str, year: int) -> float:
    return GDPPC_BASE[city] * GDPPC_GROWTH[city] ** (year - 2010)


def city_values(city: str, year: int) -> dict[str, float]:
    """Canonical yearbook values (万元, 万人, 人, share) of a city-year."""
    gdp = gdppc(city, year) * POP[city]
    k = 1 + 0.1 * (year - 2010)
    return {
        "gdp": gdp, "gdp_per_capita": gdppc(city, year), "pop_resident": POP[city],
        "urbanization_rate": 0.6 + 0.01 * (year - 2010), "fdi": 0.02 * k * gdp,
        "imports": 0.1 * gdp, "exports": 0.15 * k * gdp, "college_students": 3000.0 * POP[city] * k,
        "fiscal_expenditure": 0.15 * gdp, "employment_urban_units": 0.12 * POP[city] * k,
        "industrial_fixed_assets": 0.4 * k * gdp, "industrial_current_assets": 0.3 * gdp,
        "loans": 1.2 * k * gdp, "broadband_subscribers": 0.3 * POP[city] * k,
    }


def patents(city: str, year: int) -> float:
    return 1000.0 * POP[city] / 100 + 50 * (year - 2010)


TRANSFER_COLUMNS = ("period VARCHAR, city_i VARCHAR, city_j VARCHAR, transfer DOUBLE, it DOUBLE, "
                    "it_direction TINYINT, transfer_labor DOUBLE, it_labor DOUBLE, "
                    "transfer_capital DOUBLE, it_capital DOUBLE, transfer_technology DOUBLE, "
                    "it_technology DOUBLE")

# 京沪: stage 1 北京-天津 2011-06-30, stage 2 天津-上海 2014-07-01 (one line, two stages);
# 京津城际 北京-天津 2008-08-01; 沪杭 上海-杭州 2016-10-26.
HSR_STAGES = [("京沪高速铁路", 1, dt.date(2011, 6, 30), [("北京南站", BJ), ("天津南站", TJ)]),
              ("京沪高速铁路", 2, dt.date(2014, 7, 1), [("天津南站", TJ), ("上海虹桥站", SH)]),
              ("京津城际铁路", 1, dt.date(2008, 8, 1), [("北京南站", BJ), ("天津站", TJ)]),
              ("沪杭高速铁路", 1, dt.date(2016, 10, 26), [("上海虹桥站", SH), ("杭州东站", HZ)])]
# Baidu: 北京 -> 上海 every year; 北京 -> 天津 in 2012 only; 上海 -> 北京 never (absent = 0).
BAIDU = {(BJ, SH, y): 10.0 * (y - 2011) for y in range(2012, 2018)} | {(BJ, TJ, 2012): 8.0}
POLICY_DOCS = [("D1", HZ, dt.date(2015, 6, 1), "对企业给予资金支持。继续资金支持。落实税收优惠。纳入政府采购。"),
               ("D2", HZ, dt.date(2016, 3, 1), "加强人才培养。发展服务外包，承接服务外包。")]


def write_tiny_raw(db: Path) -> None:
    yearbook = []
    for city in POP:
        for year in YEARS:
            for variable, value in city_values(city, year).items():
                value = None if (city, year, variable) in MISSING else value
                yearbook.append((city, year, variable, "全市", value, None, None, None, None,
                                 f"yearbook/city_yearbook_{year}.csv", len(yearbook) + 1, None))
    eps = [("city", c, y, "patent_applications", patents(c, y), "件", "专利申请数", "件",
            patents(c, y), "eps/patents.csv", None, k) for k, (c, y) in
           enumerate((c, y) for c in POP for y in YEARS)]
    ceads = [(year, pos, city, city) for year in (2012, 2015, 2017)
             for pos, city in enumerate([BJ, TJ, SH, YB] + ([HZ] if year < 2017 else []))]
    baidu = [(y, o, t, v, f"baidu_index/baidu_index_{y}.csv", k)
             for k, ((o, t, y), v) in enumerate(BAIDU.items())]
    stages = [(line, stage, opened, len(stations), "hsr/hsr_lines.csv", k)
              for k, (line, stage, opened, stations) in enumerate(HSR_STAGES)]
    line_stations = [(line, stage, seq, name, city, "hsr/hsr_lines.csv", k)
                     for k, (line, stage, _, stations) in enumerate(HSR_STAGES)
                     for seq, (name, city) in enumerate(stations, 1)]
    stations = sorted({(name, city) for *_, st in HSR_STAGES for name, city in st})
    station_rows = [(name, city, city, "hsr/hsr_stations.csv", k)
                    for k, (name, city) in enumerate(stations)]
    docs = [(d, c, when, "title", f"{d}.txt", text, len(text), "policy_texts/index.csv", k)
            for k, (d, c, when, text) in enumerate(POLICY_DOCS)]
    rows = {"city_yearbook": yearbook, "eps": eps, "ceads_region": ceads, "baidu_index": baidu,
            "hsr_line_stage": stages, "hsr_line_station": line_stations,
            "hsr_station": station_rows, "policy_document": docs}
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE SCHEMA io")
        for table, values in rows.items():   # with the columns of the declared raw schema
            columns = schema.RAW_TABLES[table]
            typed = ", ".join(f"{name} {kind}" for name, kind in columns.items())
            con.execute(f"CREATE TABLE raw.{table} ({typed})")
            con.executemany(f"INSERT INTO raw.{table} VALUES ({', '.join(['?'] * len(columns))})",
                            values)
        con.execute(f"CREATE TABLE io.transfer ({TRANSFER_COLUMNS})")
        con.execute("INSERT INTO io.transfer VALUES ('2012-2015', ?, ?, 100.0, ln(101.0), 1, "
                    "60.0, ln(61.0), 30.0, ln(31.0), 10.0, ln(11.0))", [BJ, SH])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, pd.DataFrame]:
    base = tmp_path_factory.mktemp("pair_tiny")
    db = base / "wh.duckdb"
    write_tiny_raw(db)
    run_dbt(BUILD_PAIR_MARTS, db, base / "target")
    with duckdb.connect(str(db), read_only=True) as con:
        return {name: con.execute(f"SELECT * FROM {name}").df() for name in (
            "marts.city_pair_period", "marts.city_pair_year", "intermediate.int_hsr_pair_year",
            "intermediate.int_policy_tool_city_year")}


def row(frame: pd.DataFrame, **keys) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for k, v in keys.items():
        mask &= frame[k] == v
    assert mask.sum() == 1, keys
    return frame[mask].iloc[0]


def test_tiny_s003_cities_and_pairs(tiny):
    cpp = tiny["marts.city_pair_period"]
    # 杭州 is missing from the 2017 table, 延边 from the yearbook: 3 cities, 3 x 2 x 2 rows
    assert set(cpp["city_i"]) == {BJ, TJ, SH}
    assert len(cpp) == 3 * 2 * 2
    assert not cpp.duplicated(["pair_id", "period"]).any()


def test_tiny_great_circle_distance(tiny):
    xy = coordinates()
    expected = haversine_km(*xy[BJ], *xy[SH])
    assert abs(expected - 1067) < 5
    r = row(tiny["marts.city_pair_period"], city_i=BJ, city_j=SH, period="2012-2015")
    assert r["distance_km"] == pytest.approx(expected, rel=1e-9)
    assert (r["distance_tier"], r["distance_tier_id"]) == seed_tier(expected)
    r = row(tiny["marts.city_pair_period"], city_i=TJ, city_j=BJ, period="2015-2017")
    assert r["distance_km"] == pytest.approx(haversine_km(*xy[TJ], *xy[BJ]), rel=1e-9)
    assert (r["distance_tier"], r["distance_tier_id"]) == seed_tier(r["distance_km"])
    assert seed_tier(r["distance_km"]) != seed_tier(expected)


def seed_tier(km: float) -> tuple[str, int]:
    """The tier of seed ref_distance_tier a distance falls in (lower bound inclusive)."""
    tiers = reference.distance_tiers()
    hit = tiers[(tiers["lower_km"] <= km) & (km < tiers["upper_km"])]
    if hit.empty:
        return f"{tiers['upper_km'].max()}+", int(tiers["tier_id"].max()) + 1
    return hit["tier"].iloc[0], int(hit["tier_id"].iloc[0])


def test_tiny_hsr_line_counts(tiny):
    hsr = tiny["intermediate.int_hsr_pair_year"]
    # 京沪 reaches 上海 on 2014-07-01: 184 of 365 days in 2014, then 1
    assert row(hsr, city_a=BJ, city_b=SH, year=2014)["hsr_lines"] == pytest.approx(184 / 365)
    assert row(hsr, city_a=BJ, city_b=SH, year=2015)["hsr_lines"] == pytest.approx(1.0)
    assert row(hsr, city_a=BJ, city_b=SH, year=2013)["hsr_lines"] == 0.0
    # 北京-天津: 京津城际 and 京沪 (two stages, one line) = 2 lines once both are open
    assert row(hsr, city_a=BJ, city_b=TJ, year=2011)["hsr_lines"] == pytest.approx(
        1 + (dt.date(2012, 1, 1) - dt.date(2011, 6, 30)).days / 365)
    assert row(hsr, city_a=BJ, city_b=TJ, year=2012)["hsr_lines"] == pytest.approx(2.0)
    # 沪杭 opens 2016-10-26 in a leap year
    assert row(hsr, city_a=SH, city_b=HZ, year=2016)["hsr_lines"] == pytest.approx(67 / 366)

    cpp = tiny["marts.city_pair_period"]
    p1 = (0 + 0 + 184 / 365 + 1) / 4
    for i, j in ((BJ, SH), (SH, BJ), (TJ, SH)):
        assert row(cpp, city_i=i, city_j=j, period="2012-2015")["connectivity_hsr"] == \
            pytest.approx(p1)
        assert row(cpp, city_i=i, city_j=j, period="2015-2017")["connectivity_hsr"] == \
            pytest.approx(1.0)
    assert row(cpp, city_i=BJ, city_j=TJ, period="2012-2015")["connectivity_hsr"] == \
        pytest.approx(2.0)


def test_tiny_baidu_connectivity(tiny):
    cpp = tiny["marts.city_pair_period"]
    r = row(cpp, city_i=BJ, city_j=SH, period="2012-2015")
    assert r["connectivity_i"] == pytest.approx(math.log(1 + (10 + 20 + 30 + 40) / 4))
    assert r["connectivity_double"] == pytest.approx(r["connectivity_hsr"] * r["connectivity_i"])
    assert row(cpp, city_i=BJ, city_j=SH, period="2015-2017")["connectivity_i"] == \
        pytest.approx(math.log(1 + (40 + 50 + 60) / 3))
    # searched in one year of four: the absent years count 0
    assert row(cpp, city_i=BJ, city_j=TJ, period="2012-2015")["connectivity_i"] == \
        pytest.approx(math.log(1 + 8 / 4))
    for period in ("2012-2015", "2015-2017"):
        r = row(cpp, city_i=SH, city_j=BJ, period=period)
        assert r["connectivity_i"] == 0.0 and r["connectivity_double"] == 0.0


def test_tiny_period_means_gradient_controls(tiny):
    cpp = tiny["marts.city_pair_period"]
    years = range(2012, 2016)

    def mean(f):
        return sum(f(y) for y in years) / len(years)

    r = row(cpp, city_i=BJ, city_j=SH, period="2012-2015")
    v = lambda c, y: city_values(c, y)  # noqa: E731
    # the missing 2013 GDP per capita of 北京 comes back as GDP / population
    assert r["gdppc_i"] == pytest.approx(mean(lambda y: gdppc(BJ, y)))
    assert r["gdppc_j"] == pytest.approx(mean(lambda y: gdppc(SH, y)))
    assert r["gradient_gdppc"] == ("down" if r["gdppc_i"] > r["gdppc_j"] else "up")
    assert r["gradient_pop"] == "up"  # 北京 2000万 < 上海 2400万
    assert r["ed_i"] == pytest.approx(mean(lambda y: gdppc(BJ, y)) / 1e4)
    assert r["u_j"] == pytest.approx(mean(lambda y: v(SH, y)["urbanization_rate"]))
    assert r["fi_i"] == pytest.approx(mean(lambda y: v(BJ, y)["fdi"] / v(BJ, y)["gdp"]))
    assert r["hc_i"] == pytest.approx(
        mean(lambda y: v(BJ, y)["college_students"] / (POP[BJ] * 1e4)))
    assert r["ft_j"] == pytest.approx(
        mean(lambda y: (v(SH, y)["imports"] + v(SH, y)["exports"]) / v(SH, y)["gdp"]))
    assert r["ge_i"] == pytest.approx(0.15)
    assert r["factor_labor_i"] == pytest.approx(
        mean(lambda y: v(BJ, y)["employment_urban_units"] / POP[BJ]))
    assert r["factor_fcapital_i"] == pytest.approx(
        math.log(mean(lambda y: v(BJ, y)["industrial_fixed_assets"])))
    assert r["factor_clc_j"] == pytest.approx(math.log(mean(
        lambda y: v(SH, y)["industrial_current_assets"] / v(SH, y)["employment_urban_units"])))
    assert r["factor_tech_j"] == pytest.approx(math.log(mean(lambda y: patents(SH, y))))
    # the period 2015-2017 holds 2015, 2016 and 2017
    r2 = row(cpp, city_i=BJ, city_j=SH, period="2015-2017")
    assert r2["gdppc_i"] == pytest.approx(sum(gdppc(BJ, y) for y in (2015, 2016, 2017)) / 3)


def test_tiny_transfer_join(tiny):
    cpp = tiny["marts.city_pair_period"]
    r = row(cpp, city_i=BJ, city_j=SH, period="2012-2015")
    assert (r["transfer"], r["it_direction"], r["transfer_technology"]) == (100.0, 1, 10.0)
    assert cpp["transfer"].isna().sum() == len(cpp) - 1


def test_tiny_business_cycle_synchronization(tiny):
    cpy = tiny["marts.city_pair_year"]
    assert cpy["year"].min() == 2011                 # growth needs the year before
    assert len(cpy[cpy["year"] <= 2017]) == 6 * 7    # 4 cities: 6 unordered pairs
    for year in (2011, 2013, 2014, 2017):  # 2013-2014 cross 北京's missing GDP per capita
        r = row(cpy, city_a=BJ, city_b=SH, year=year)
        assert r["gdppc_growth_a"] == pytest.approx(math.log(1.10))
        assert r["bcs"] == pytest.approx(-abs(math.log(1.10) - math.log(1.05)))


def test_tiny_gravity_ties(tiny):
    cpy = tiny["marts.city_pair_year"]
    xy = coordinates()
    d = haversine_km(*xy[BJ], *xy[SH])
    r = row(cpy, city_a=BJ, city_b=SH, year=2012)
    g_bj, g_sh = city_values(BJ, 2012)["gdp"], city_values(SH, 2012)["gdp"]
    assert r["ties"] == pytest.approx(math.sqrt(POP[BJ] * g_bj) * math.sqrt(POP[SH] * g_sh) / d**2)
    year = cpy[cpy["year"] == 2012]
    assert (year["strong_tie_year"] == (year["ties"] > year["ties"].median())).all()
    # the pre-pilot base: mean over 2010-2014 (the first pilot, 杭州, is treated from 2015)
    def ties(a, b, y):
        return (math.sqrt(POP[a] * city_values(a, y)["gdp"])
                * math.sqrt(POP[b] * city_values(b, y)["gdp"]) / haversine_km(*xy[a], *xy[b]) ** 2)

    pairs = cpy.drop_duplicates("pair_id").set_index("pair_id")
    base = pd.Series({p: sum(ties(*p.split("_"), y) for y in range(2010, 2015)) / 5
                      for p in pairs.index})
    assert pairs["ties_base"].to_dict() == pytest.approx(base.to_dict())
    assert (pairs["strong_tie"] == (base > base.median())).all()


def test_tiny_treatment_and_policy_tools(tiny):
    cpy = tiny["marts.city_pair_year"]
    # 上海 approved 2016-01 (treated 2016), 北京 2018-07 (treated 2019), 杭州 2015-03 (2015)
    for year, treated in ((2015, 0), (2016, 1)):
        r = row(cpy, city_a=BJ, city_b=SH, year=year)
        assert (r["pair_first_treated_year"], r["treated"]) == (2016, treated)
    r = row(cpy, city_a=BJ, city_b=SH, year=2019)
    assert (r["treated_members"], r["pilot_members"]) == (2, 2)
    assert row(cpy, city_a=BJ, city_b=HZ, year=2015)["treated"] == 1
    assert row(cpy, city_a=BJ, city_b=SH, year=2013)["region_pair"] == "both_east"

    tools = tiny["intermediate.int_policy_tool_city_year"]
    r = row(tools, city_id=HZ, year=2015)
    assert (r["supply"], r["environment"], r["demand"]) == (2, 1, 1)
    r = row(tools, city_id=HZ, year=2016)
    assert (r["supply_cum"], r["environment_cum"], r["demand_cum"], r["documents_cum"]) == \
        (3, 1, 3, 2)
    r = row(cpy, city_a=SH, city_b=HZ, year=2017)
    assert (r["tool_supply_cum"], r["tool_demand_cum"]) == (3, 3)
    assert r["tool_supply_per_doc"] == pytest.approx(1.5)
    assert row(cpy, city_a=BJ, city_b=TJ, year=2017)["tool_supply_cum"] == 0


# ------------------------------------------------------------------------------ small default

def test_small_default_pair_marts(warehouse):
    db, truth = warehouse.db, warehouse.truth

    with duckdb.connect(str(db), read_only=True) as con:
        cpp = con.execute("SELECT * FROM marts.city_pair_period").df()
        cpy = con.execute("SELECT * FROM marts.city_pair_year").df()
        tools = con.execute("SELECT * FROM intermediate.int_policy_tool_city_year").df()
        n = con.execute("SELECT count(*) FROM intermediate.int_pair_s003_city").fetchone()[0]
    assert n == truth["S003"]["cities"] - 1  # 延边朝鲜族自治州 has no yearbook data
    assert set(cpp["city_i"]) == set(cpp["city_j"]) and cpp["city_i"].nunique() == n
    assert len(cpp) == n * (n - 1) * 2
    assert not cpp.duplicated(["pair_id", "period"]).any()
    assert not cpp.duplicated(["city_i", "city_j", "period_id"]).any()
    assert cpp["transfer"].notna().all()

    # connectivity exactly as the generator planted it
    # (examples whose cities are both in the panel: 延边 has no yearbook data and is left out)
    examples = pd.DataFrame(truth["S003"]["examples"])
    names = set(cpp["city_i_name"])
    examples = examples[examples["city_i"].isin(names) & examples["city_j"].isin(names)]
    got = examples.merge(cpp, left_on=["city_i", "city_j", "period"],
                         right_on=["city_i_name", "city_j_name", "period"])
    assert len(got) == len(examples) >= 12
    assert (got["connectivity_HSR"] - got["connectivity_hsr"]).abs().max() < 1e-12
    assert (got["connectivity_I"] - got["connectivity_i"]).abs().max() < 1e-12
    assert (got["IT"] - got["it"]).abs().max() < 1e-6

    # S002: unordered pairs, treatment years and keyword counts as planted
    assert not cpy.duplicated(["pair_id", "year"]).any() and (cpy["city_a"] < cpy["city_b"]).all()
    first = pd.concat([cpy[["city_a", "first_treated_year_a"]].set_axis(["city", "year"], axis=1),
                       cpy[["city_b", "first_treated_year_b"]].set_axis(["city", "year"], axis=1)])
    first = first.dropna().drop_duplicates().set_index("city")["year"].astype(int).to_dict()
    planted = truth["S002"]["treated_cities"]
    cities = set(cpy["city_a"]) | set(cpy["city_b"])
    assert first == {c: y for c, y in planted.items() if c in cities}
    totals = tools.groupby("city_id")[["documents", "supply", "environment", "demand"]].sum()
    for city, t in truth["S002"]["policy_texts"]["cities"].items():
        k = t["keywords"]
        assert totals.loc[city].tolist() == [t["documents"], k["supply"], k["environment"],
                                             k["demand"]]
