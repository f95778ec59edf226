"""The city, province and county marts built by real dbt: on tiny hand-made raw tables, compared
with hand computations, and on the small embedded default, compared with its truth.

Each dbt run is a subprocess with its own target and log folders. The hand-made build and the
entropy example start when the module starts, so they run while the small default is generated
and loaded.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from models_py import reference
from models_py.generate.scale import get_scale

REPO = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"
SELECT = ["+city_year", "+province_year", "+county_year", "+dim_county", "+dim_province",
          "+resilience_weights", "+digital_infrastructure_weights"]


def start_dbt(args: list[str], db: Path, work: Path) -> subprocess.Popen:
    """dbt <args> against the DuckDB file ``db``, with target and logs under ``work``."""
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "WAREHOUSE_PATH": str(db)}
    cmd = [str(DBT), *args, "--project-dir", "dbt", "--profiles-dir", "dbt",
           "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    return subprocess.Popen(cmd, cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"dbt {proc.args[1]} failed:\n{out[-6000:]}"
    return out


# The hand-made build: models and seeds only (the data tests run on the shared warehouse).
HANDMADE_BUILD = ["build", "--select", *SELECT, "--exclude-resource-type", "test"]


def query(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


# --- hand-made raw tables --------------------------------------------------------------------

# Three cities of one province (浙江) for the balance indices, a pilot approved in February
# (贵阳, 2016-02-25) and one approved in October (郑州, 2016-10-08). Resident population bases
# put one city in each size class.
CITIES = {"330100": 150.0, "330200": 70.0, "330300": 600.0, "520100": 40.0, "410100": 1100.0}
# The panel's variables from the seed; population, the shares and urbanization get values of
# their own below.
SET_BELOW = {"pop_resident", "share_secondary", "share_tertiary", "urbanization_rate"}
YEARBOOK_VARIABLES = [v for v in reference.city_panel_indicators("city_yearbook")["variable"]
                      if v not in SET_BELOW]
EPS_CITY_VARIABLES = list(reference.city_panel_indicators("eps")["variable"])
BASE = {"gdp": 1e6, "gdp_per_capita": 5e4, "employment_urban_units": 20.0, "employment_it": 0.4,
        "employment_research": 0.5, "ip_protection_index": 60.0, "policy_capacity_index": 55.0}
# 2013 GDP (万元) and population (万人) of the three 浙江 cities: GDP per capita 1, 1, 3 (万元).
THEIL_GDP = {"330100": 1e6, "330200": 2e6, "330300": 3e6}
THEIL_POP = {"330100": 100.0, "330200": 200.0, "330300": 100.0}
# hospital_beds of 杭州: a marker in 2010, 1000 in 2011, a marker in 2012, no row in 2013, 1600 in
# 2014 and nothing after: 2012 and 2013 are interior (1200, 1400), 2010 and 2015+ are not.
BEDS_330100 = {2010: None, 2011: 1000.0, 2012: None, 2014: 1600.0}


def city_value(variable: str, k: int, i: int, year: int) -> float:
    """A smooth value that differs by variable (k), city (i) and year, so that every ratio
    varies across the panel."""
    t = year - 2010
    return BASE.get(variable, 1e4) * (1 + (0.1 + 0.03 * k) * i) * (1 + (0.02 + 0.004 * k) * t)


def handmade_city_rows() -> tuple[list[tuple], list[tuple]]:
    yearbook, eps = [], []
    for i, (city, pop) in enumerate(CITIES.items()):
        for year in range(2010, 2024):
            t = year - 2010
            values = {v: city_value(v, k, i, year) for k, v in enumerate(YEARBOOK_VARIABLES)}
            values["pop_resident"] = pop * (1 + 0.01 * t)
            values["share_secondary"] = 0.45 - 0.01 * i - 0.005 * t
            values["share_tertiary"] = 0.40 + 0.01 * i + 0.006 * t
            values["urbanization_rate"] = 0.50 + 0.05 * i + 0.01 * t
            if year == 2013 and city in THEIL_GDP:
                values["gdp"], values["pop_resident"] = THEIL_GDP[city], THEIL_POP[city]
            if city == "330100":
                del values["hospital_beds"]
                if year in BEDS_330100:
                    values["hospital_beds"] = BEDS_330100[year]
            yearbook += [(city, year, v, "全市", x, "", "handmade.csv", 1)
                         for v, x in values.items()]
            for k, v in enumerate(EPS_CITY_VARIABLES):
                if city == "330300" and v == "policy_capacity_index":
                    continue  # a series missing entirely
                eps.append(("city", city, year, v, city_value(v, k, i, year), "", "eps.csv", 1))
        eps.append(("city", city, 1984, "telephones_per_100_1984", 1.0 + i, "部", "eps.csv", 1))
    for year in range(2009, 2024):
        eps.append(("nation", "000000", year, "internet_users", 40000.0 + 5000 * (year - 2009),
                    "万人", "eps.csv", 1))
    for province, urban in (("330000", 0.6), ("410000", 0.5), ("520000", 0.4)):
        for year in range(2010, 2024):
            t = year - 2010
            eps += [("province", province, year, "urbanization_rate", urban + 0.01 * t, "", "e", 1),
                    ("province", province, year, "urban_disposable_income", 2e4 * 1.07 ** t, "", "e", 1),
                    ("province", province, year, "rural_disposable_income", 8e3 * 1.09 ** t, "", "e", 1)]
    return yearbook, eps


# Firm records of 2000 in five counties (N = 500 firms nationwide):
#   A: 10 small private firms of 1711 + 30 state firms of 3311        (40)
#   B:  8 large foreign firms of 2633 + 32 state firms of 3311        (40)
#   C: 358 collective firms of 3311                                   (358)
#   D:  2 small private firms of 4011                                 (2)
#   E:  8 small private firms of 1811 + 52 state firms of 3311        (60)
# National shares: 1711 10/500, 2633 8/500, 1811 8/500, 4011 2/500, 3311 472/500.
COUNTY_A, COUNTY_B, COUNTY_C, COUNTY_D, COUNTY_E = "330122", "330127", "330182", "330185", "330203"
FIRMS = [(COUNTY_A, "1711", 10, "173", 40), (COUNTY_A, "3311", 30, "110", 400),
         (COUNTY_B, "2633", 8, "310", 600), (COUNTY_B, "3311", 32, "110", 400),
         (COUNTY_C, "3311", 358, "120", 100), (COUNTY_D, "4011", 2, "173", 30),
         (COUNTY_E, "1811", 8, "172", 50), (COUNTY_E, "3311", 52, "110", 400)]


def handmade_county_rows() -> tuple[list[tuple], list[tuple]]:
    yearbook = []
    for i, county in enumerate((COUNTY_A, COUNTY_B, COUNTY_C, COUNTY_D, COUNTY_E)):
        for year in range(1998, 2008):
            t = year - 1998
            for variable, base, growth in (("gdp", 5e5, 0.10), ("pop_registered", 40.0, 0.005),
                                           ("urban_disposable_income", 6000.0, 0.08),
                                           ("rural_net_income", 2500.0, 0.06)):
                yearbook.append((county, year, variable, "全市", base * (1 + 0.1 * i)
                                 * (1 + growth) ** t, "", "county.csv", 1))
    firms, n = [], 0
    for county, cic4, count, registration, employment in FIRMS:
        for _ in range(count):
            n += 1
            firms.append((2000, f"{n:08d}X", county, cic4, 6000.0, float(employment), 1995,
                          registration, "asif_2000.csv", n + 1))
    return yearbook, firms


def write_handmade_raw(db: Path) -> None:
    city_yearbook, eps = handmade_city_rows()
    county_yearbook, firms = handmade_county_rows()
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.city_yearbook (city_id VARCHAR, year BIGINT, variable VARCHAR, "
                    "scope VARCHAR, value DOUBLE, unit VARCHAR, source_file VARCHAR, source_row BIGINT)")
        con.executemany("INSERT INTO raw.city_yearbook VALUES (?, ?, ?, ?, ?, ?, ?, ?)", city_yearbook)
        con.execute("CREATE TABLE raw.eps (region_level VARCHAR, region_id VARCHAR, year BIGINT, "
                    "variable VARCHAR, value DOUBLE, unit VARCHAR, source_file VARCHAR, source_row BIGINT)")
        con.executemany("INSERT INTO raw.eps VALUES (?, ?, ?, ?, ?, ?, ?, ?)", eps)
        con.execute("CREATE TABLE raw.county_yearbook (county_id VARCHAR, year BIGINT, variable VARCHAR, "
                    "scope VARCHAR, value DOUBLE, unit VARCHAR, source_file VARCHAR, source_row BIGINT)")
        con.executemany("INSERT INTO raw.county_yearbook VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        county_yearbook)
        con.execute("CREATE TABLE raw.asif_firm_year (year INTEGER, firm_id VARCHAR, county_id VARCHAR, "
                    "cic4 VARCHAR, output_k_yuan DOUBLE, employment DOUBLE, open_year INTEGER, "
                    "registration_type VARCHAR, source_file VARCHAR, source_row BIGINT)")
        con.executemany("INSERT INTO raw.asif_firm_year VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", firms)


def start_show(sql: str, work: Path) -> subprocess.Popen:
    """`dbt show` of the inline query ``sql`` (the project's macros at hand), its rows as JSON."""
    return start_dbt(["show", "--inline", sql, "--output", "json", "--log-format", "json",
                      "--quiet", "--limit", "10"], work / "empty.duckdb", work)


def shown_rows(proc: subprocess.Popen) -> list[dict]:
    """The rows a :func:`start_show` printed, once it has finished."""
    lines = [json.loads(line) for line in finish(proc).splitlines() if line.startswith("{")]
    return json.loads(next(line["data"]["preview"] for line in lines
                           if "preview" in line.get("data", {})))


# The entropy macro on a 3 x 2 example: a positive (1, 2, 4), b negative (10, 30, 20).
ENTROPY_EXAMPLE = (
    "{{ entropy_weights('(select * from (values (1.0, 10.0), (2.0, 30.0), (4.0, 20.0)) "
    "as example (a, b))', [{'dimension': 'd', 'name': 'a', 'direction': 'positive'}, "
    "{'dimension': 'd', 'name': 'b', 'direction': 'negative'}]) }}")


# The integrity tests' range of an entropy index: 1 + shift rounded up by one unit in the last
# place (a province at the maximum of every indicator) is in it, beyond it is not.
RANGE_EXAMPLE = (
    "select x, {{ entropy_index_in_range('x') }} as in_range, "
    "x <= 1 + {{ var('entropy_shift') }} as plain_bound from (values (0.0001::double, 1), "
    "(1.0001000000000002, 2), (1.0002, 3), (0.00005, 4)) as example (x, k) order by k")


@pytest.fixture(scope="module", autouse=True)
def handmade_runs(tmp_path_factory):
    """Starts the hand-made build (models and seeds; the data tests run on the small default)
    and the entropy example; the tests wait for them."""
    work = tmp_path_factory.mktemp("handmade")
    db = work / "wh.duckdb"
    write_handmade_raw(db)
    build = start_dbt(HANDMADE_BUILD, db, work / "build")
    show = start_show(ENTROPY_EXAMPLE, work / "show")
    in_range = start_show(RANGE_EXAMPLE, work / "range")
    runs = {"db": db, "build": build, "show": show, "range": in_range}
    yield runs
    for proc in (build, show, in_range):
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture(scope="module")
def handmade(handmade_runs) -> Path:
    finish(handmade_runs["build"])
    return handmade_runs["db"]


# --- the small default -----------------------------------------------------------------------

def test_small_default_builds_and_the_marts_measure_what_was_planted(warehouse):
    db, truth = warehouse.db, warehouse.truth

    roster = reference.cities().set_index("city_id").loc[list(get_scale("small").city_ids)]
    n_sample = int((roster["in_s001"] == 1).sum())
    assert n_sample == truth["S001"]["sample_cities"]
    city_year = query(db, "SELECT * FROM marts.city_year")
    assert len(city_year) == n_sample * 12
    assert not city_year.duplicated(["city_id", "year"]).any()
    assert sorted(city_year["year"].unique()) == list(range(2012, 2024))

    # S001: resilience rises in treated cities after treatment relative to controls.
    first = city_year.groupby("city_id")["first_treated_year"].first().dropna().astype(int)
    assert first.to_dict() == truth["S001"]["treated_cities"]
    post = city_year["year"] >= 2017
    pre = city_year["year"] <= 2015
    means = city_year.groupby([city_year["treated"], post, pre])["resilience_index"].mean()
    did = (means[True, True, False] - means[True, False, True]) \
        - (means[False, True, False] - means[False, False, True])
    assert truth["S001"]["estimands"]["did_resilience"]["sign"] == "+"
    assert did > 0.02
    weights = query(db, "SELECT indicator, weight FROM marts.resilience_weights")
    reference_weights = truth["S001"]["implied_index_gain"]["weights"]
    assert set(weights["indicator"]) == set(reference_weights)
    for indicator, weight in zip(weights["indicator"], weights["weight"]):
        assert weight == pytest.approx(reference_weights[indicator], abs=0.01)

    # S000: the sample provinces and their 2013 Theil index; the digital-infrastructure weights
    # recomputed from the published components.
    province_year = query(db, "SELECT * FROM marts.province_year ORDER BY province_id, year")
    assert sorted(province_year["province_id"].unique()) == sorted(truth["S000"]["provinces"])
    theil_2013 = province_year[province_year["year"] == 2013].set_index("province_id")["theil"]
    # the truth's Theil is the world's; the yearbooks' figures differ from it where an edition
    # revises a city's GDP (by a few percent: 0.002 of a Theil over three cities)
    for province, value in truth["S000"]["province_theil_2013"].items():
        assert theil_2013[province] == pytest.approx(value, abs=0.003), province
    indicators = reference.index_indicators("digital_infrastructure")["indicator"].tolist()
    x = province_year[indicators].to_numpy()
    std = (x - x.min(axis=0)) / (x.max(axis=0) - x.min(axis=0)) + 1e-4
    p = std / std.sum(axis=0)
    d = 1 + (p * np.log(p)).sum(axis=0) / np.log(len(x))
    published = query(db, "SELECT weight FROM marts.digital_infrastructure_weights")["weight"]
    np.testing.assert_allclose(published.to_numpy(), d / d.sum(), rtol=1e-9)

    # S004: the cluster indicator finds the planted clusters from their start year.
    county_year = query(db, "SELECT county_id, year, cluster, entrepreneurial_cluster "
                            "FROM marts.county_year")
    planted = pd.DataFrame(truth["S004"]["clusters"])
    merged = county_year.merge(planted, on="county_id", how="left")
    present = merged["start_year"].notna() & (merged["year"] >= merged["start_year"])
    hits = (merged["cluster"] & present).sum()
    assert hits / present.sum() > 0.85
    assert (merged["cluster"] & ~present).sum() <= 0.05 * merged["cluster"].sum()
    found = merged[merged["cluster"] & present]
    assert (found["entrepreneurial_cluster"] == found["entrepreneurial"].astype(bool)).all()


# --- hand-made inputs ------------------------------------------------------------------------

def test_entropy_weights_on_a_worked_example(handmade_runs):
    rows = {r["indicator"]: r for r in shown_rows(handmade_runs["show"])}
    # a (positive): x' = (0, 1/3, 1) + 0.0001;  b (negative): x' = (30 - b) / 20 = (1, 0, 1/2)
    # + 0.0001.  p = x' / sum x';  e = -sum(p ln p) / ln 3:
    #   a: p = (0.0000750, 0.2500063, 0.7499188), e_a = 0.5125751
    #   b: p = (0.6666222, 0.0000667, 0.3333111), e_b = 0.5799996
    # d = 1 - e = (0.4874249, 0.4200004);  w = d / sum d = (0.5371515, 0.4628485).
    assert rows["a"]["entropy"] == pytest.approx(0.5125751, abs=1e-7)
    assert rows["b"]["entropy"] == pytest.approx(0.5799996, abs=1e-7)
    assert rows["a"]["weight"] == pytest.approx(0.5371515, abs=1e-7)
    assert rows["b"]["weight"] == pytest.approx(0.4628485, abs=1e-7)
    assert (rows["a"]["min_value"], rows["a"]["max_value"], rows["a"]["n_obs"]) == (1.0, 4.0, 3)


def test_an_index_at_its_maximum_is_in_range_up_to_rounding(handmade_runs):
    rows = shown_rows(handmade_runs["range"])
    assert [r["in_range"] for r in rows] == [True, True, False, False]
    assert rows[1]["plain_bound"] is False      # the rounding the range allows for


def test_theil_and_cv_of_a_three_city_province(handmade):
    row = query(handmade, "SELECT * FROM marts.province_year "
                          "WHERE province_id = '330000' AND year = 2013").iloc[0]
    # GDP shares s = (1, 2, 3)/6, population shares w = (1, 2, 1)/4, GDP per capita y = (1, 1, 3)
    # 万元 with provincial mean mu = 6/4 = 1.5:
    #   T = 1/6 ln(2/3) + 1/3 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3) = 0.1438410
    #   weighted CV = sqrt(1/4 0.25 + 1/2 0.25 + 1/4 2.25) / 1.5 = sqrt(0.75) / 1.5 = 0.5773503
    #   plain CV = sqrt(((2/3)^2 2 + (4/3)^2) / 3) / (5/3) = 0.5656854
    assert row["n_cities"] == 3
    assert row["theil"] == pytest.approx(0.1438410, abs=1e-7)
    assert row["cv"] == pytest.approx(0.5773503, abs=1e-7)
    assert row["cv_unweighted"] == pytest.approx(0.5656854, abs=1e-7)
    assert row["balance_theil"] == pytest.approx(-0.1438410, abs=1e-7)
    # single-city provinces are not in the panel
    provinces = query(handmade, "SELECT DISTINCT province_id FROM marts.province_year")
    assert provinces["province_id"].tolist() == ["330000"]


def test_interior_gaps_are_interpolated_and_flagged_ends_are_not(handmade):
    panel = query(handmade, "SELECT year, hospital_beds, interpolated, policy_capacity_index "
                            "FROM intermediate.int_city_year_panel WHERE city_id = '330100' "
                            "ORDER BY year").set_index("year")
    assert panel.loc[2011, "hospital_beds"] == 1000.0
    assert panel.loc[2012, "hospital_beds"] == pytest.approx(1200.0)
    assert panel.loc[2013, "hospital_beds"] == pytest.approx(1400.0)
    assert panel.loc[2014, "hospital_beds"] == 1600.0
    assert list(panel.loc[2012, "interpolated"]) == ["hospital_beds"]
    assert list(panel.loc[2013, "interpolated"]) == ["hospital_beds"]
    assert list(panel.loc[2011, "interpolated"]) == []
    assert math.isnan(panel.loc[2010, "hospital_beds"])  # leading gap: no extrapolation
    assert panel.loc[2015:2023, "hospital_beds"].isna().all()  # trailing gap
    assert "hospital_beds" not in list(panel.loc[2010, "interpolated"])
    missing = query(handmade, "SELECT count(policy_capacity_index) AS n FROM "
                              "intermediate.int_city_year_panel WHERE city_id = '330300'")
    assert missing["n"].iloc[0] == 0  # a series missing entirely stays missing


def test_first_treated_year_follows_the_pilot_timing_seed(handmade):
    city_year = query(handmade, "SELECT * FROM marts.city_year").set_index(["city_id", "year"])
    assert len(city_year) == len(CITIES) * 12
    guiyang, zhengzhou, hangzhou = (city_year.loc[c] for c in ("520100", "410100", "330100"))
    # approved 2016-02-25 and 2016-10-08: the seed's rule puts them in different years
    first = {"520100": reference.policy_year("2016-02-25"),
             "410100": reference.policy_year("2016-10-08")}
    assert first["520100"] != first["410100"]
    for city, frame in (("520100", guiyang), ("410100", zhengzhou)):
        assert (frame["first_treated_year"] == first[city]).all()
        assert frame.loc[first[city], "did"] and not frame.loc[first[city] - 1, "did"]
        assert frame.loc[2012, "rel_year"] == 2012 - first[city]
    assert not hangzhou["treated"].any() and not hangzhou["did"].any()
    assert hangzhou["rel_year"].isna().all()
    sizes = query(handmade, "SELECT city_id, size_class FROM marts.dim_city WHERE in_yearbook")
    assert dict(zip(sizes["city_id"], sizes["size_class"])) == {
        "330100": "large", "330200": "medium", "330300": "super_large", "520100": "small",
        "410100": "megacity"}
    xiangyang = query(handmade, "SELECT city_name, name_history FROM marts.dim_city "
                                "WHERE city_id = '420600'").iloc[0]
    assert xiangyang["city_name"] == "襄阳市"
    assert [(n["name"], n["from_year"], n["to_year"]) for n in xiangyang["name_history"]] == [
        ("襄樊市", 1983, 2010), ("襄阳市", 2011, 9999)]


def test_cluster_index_on_a_tiny_firm_table(handmade):
    index = query(handmade, "SELECT * FROM intermediate.int_county_industry_cluster_index")
    index = index.set_index(["county_id", "cic4"])
    # dbi = (N_ck / N_c) / (N_k / N)
    assert index.loc[(COUNTY_A, "1711"), "dbi"] == pytest.approx((10 / 40) / (10 / 500))  # 12.5
    assert index.loc[(COUNTY_B, "2633"), "dbi"] == pytest.approx((8 / 40) / (8 / 500))  # 12.5
    assert index.loc[(COUNTY_C, "3311"), "dbi"] == pytest.approx(1 / (472 / 500))
    assert index.loc[(COUNTY_D, "4011"), "dbi"] == pytest.approx(1 / (2 / 500))  # 250, 2 firms
    assert index.loc[(COUNTY_E, "1811"), "dbi"] == pytest.approx((8 / 60) / (8 / 500))  # 8.33
    clusters = index[index["is_cluster"]].index.tolist()
    assert sorted(clusters) == [(COUNTY_A, "1711"), (COUNTY_B, "2633")]
    assert index.loc[(COUNTY_A, "1711"), "is_entrepreneurial_cluster"]
    assert not index.loc[(COUNTY_B, "2633"), "is_entrepreneurial_cluster"]

    county_year = query(handmade, "SELECT * FROM marts.county_year WHERE year = 2000")
    county_year = county_year.set_index("county_id")
    assert county_year.loc[COUNTY_A, ["cluster", "entrepreneurial_cluster", "other_cluster"]] \
        .tolist() == [True, True, False]
    assert county_year.loc[COUNTY_B, ["cluster", "entrepreneurial_cluster", "other_cluster"]] \
        .tolist() == [True, False, True]
    assert county_year.loc[COUNTY_A, "cluster_index"] == pytest.approx(12.5)
    assert county_year.loc[COUNTY_A, "cluster_index_industry"] == "1711"
    assert county_year.loc[COUNTY_E, "cluster_index"] == pytest.approx((8 / 60) / (8 / 500))
    assert county_year.loc[COUNTY_D, "cluster_index"] == 0  # no industry with 8 firms
    assert not county_year.loc[[COUNTY_C, COUNTY_D, COUNTY_E], "cluster"].any()
    other_years = query(handmade, "SELECT count(*) AS n FROM marts.county_year "
                                  "WHERE year <> 2000 AND (cluster OR n_firms > 0)")
    assert other_years["n"].iloc[0] == 0
    growth = query(handmade, f"SELECT gdp_growth, income_gap FROM marts.county_year "
                             f"WHERE county_id = '{COUNTY_A}' AND year = 1999").iloc[0]
    assert growth["gdp_growth"] == pytest.approx(math.log(1.10))
    assert growth["income_gap"] == pytest.approx(6000 * 1.08 / (2500 * 1.06))
