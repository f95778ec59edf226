"""Each reference fact has one home, a seed in dbt/seeds/ or a variable of dbt_project.yml:
change it there, and dbt and the embedded default both follow.

A copy of the dbt project gets changed seeds and variables, and real dbt rebuilds the models
that read them on a copy of the shared warehouse; the generator and ``models_py.reference`` read
the same changed files (``reference.SEEDS_DIR`` pointed at the copy):

- the city panel without 城镇登记失业人员数 (unemployed_registered);
- the resilience index without gdp_growth, and with loans_to_gdp entering negatively;
- three distance tiers instead of five;
- pilots approved up to October counting from their approval year;
- the county panel without 年末户籍人口 (pop_registered), and ending in 2005 (vars);
- one S003 period, 2012-2017, instead of two;
- a super-large city from 300万 instead of 500万.

S002's tie thresholds live in its study YAML, and a threshold added there gets a truth value;
the raw tables dbt's sources.yml declares are those of ``models_py.ingest.schema``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from models_py import reference
from models_py.estimate import specs
from models_py.generate import (business_cycle, city_world, policy_files, resilience_index,
                                s003_sources, yearbook_files)
from models_py.generate.latent import city_latent
from models_py.generate.scale import get_scale
from models_py.ingest import schema

REPO = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"
SEED = 20240601
DROPPED_INDICATOR, DROPPED_VARIABLE = "城镇登记失业人员数", "unemployed_registered"
TIERS = pd.DataFrame({"tier_id": [1, 2, 3], "tier": ["0-300", "300-1000", "1000-3000"],
                      "lower_km": [0, 300, 1000], "upper_km": [300, 1000, 3000]})
LAST_MONTH_SAME_YEAR = 10
ZHENGZHOU, BEIJING, SHANGHAI = "410100", "110000", "310000"  # 郑州: big data pilot 2016-10-08
DROPPED_COUNTY_INDICATOR, DROPPED_COUNTY_VARIABLE = "年末户籍人口", "pop_registered"
COUNTY_LAST_YEAR = 2005
ONE_PERIOD = pd.DataFrame({"period_id": [1], "period": ["2012-2017"], "first_year": [2012],
                           "last_year": [2017]})
SUPER_LARGE_FROM = 300
ADDED_TIE_THRESHOLD = 0.9


def change_seeds(seeds: Path) -> None:
    panel = pd.read_csv(seeds / "ref_city_panel_indicator.csv")
    panel[panel["indicator"] != DROPPED_INDICATOR].to_csv(
        seeds / "ref_city_panel_indicator.csv", index=False)
    index = pd.read_csv(seeds / "ref_index_indicator.csv")
    index = index[~((index["composite_index"] == "resilience")
                    & (index["indicator"] == "gdp_growth"))].copy()
    index.loc[index["indicator"] == "loans_to_gdp", "direction"] = "negative"
    index.to_csv(seeds / "ref_index_indicator.csv", index=False)
    TIERS.to_csv(seeds / "ref_distance_tier.csv", index=False)
    timing = pd.read_csv(seeds / "ref_pilot_timing.csv")
    timing["first_treated_year_offset"] = (timing["approval_month"] > LAST_MONTH_SAME_YEAR) * 1
    timing.to_csv(seeds / "ref_pilot_timing.csv", index=False)
    county = pd.read_csv(seeds / "ref_county_panel_indicator.csv")
    county[county["indicator"] != DROPPED_COUNTY_INDICATOR].to_csv(
        seeds / "ref_county_panel_indicator.csv", index=False)
    ONE_PERIOD.to_csv(seeds / "ref_s003_period.csv", index=False)
    sizes = pd.read_csv(seeds / "ref_city_size_class.csv")
    sizes.loc[sizes["size_class"] == "super_large", "min_population"] = SUPER_LARGE_FROM
    sizes.to_csv(seeds / "ref_city_size_class.csv", index=False)
    project = seeds.parent / "dbt_project.yml"
    text = project.read_text(encoding="utf-8")
    assert "county_panel_last_year: 2007" in text
    project.write_text(text.replace("county_panel_last_year: 2007",
                                    f"county_panel_last_year: {COUNTY_LAST_YEAR}"),
                       encoding="utf-8")


@pytest.fixture(scope="module")
def changed_project(tmp_path_factory, warehouse) -> tuple[Path, Path]:
    """A copy of the dbt project with the changed seeds, built into a copy of the warehouse:
    the seeds and the models that read them."""
    work = tmp_path_factory.mktemp("changed_seeds")
    project = work / "dbt"
    shutil.copytree(REPO / "dbt", project,
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"))
    change_seeds(project / "seeds")
    db = work / "warehouse.duckdb"
    shutil.copy(warehouse.db, db)
    models = ["ref_city_panel_indicator", "ref_index_indicator", "ref_distance_tier",
              "ref_pilot_timing", "ref_county_panel_indicator", "ref_s003_period",
              "ref_city_size_class", "int_city_year_values", "int_city_year_panel",
              "int_city_year_s001", "int_entropy_resilience_weights", "resilience_weights",
              "int_pair_distance", "int_pilot_city", "int_county_year_values", "dim_city",
              "int_pair_s003_city", "int_pair_city_period", "int_pair_connectivity_period"]
    cmd = [str(DBT), "build", "--select", *models, "--exclude-resource-type", "test",
           "--project-dir", str(project), "--profiles-dir", str(project),
           "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "WAREHOUSE_PATH": str(db)}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout[-6000:]
    return project / "seeds", db


@pytest.fixture
def changed_reference(changed_project, monkeypatch):
    """models_py.reference (and so the generator) reading the changed seeds."""
    monkeypatch.setattr(reference, "SEEDS_DIR", changed_project[0])
    reference.clear_cache()
    yield
    reference.clear_cache()


def query(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def test_dbt_follows_the_changed_seeds(changed_project):
    _, db = changed_project
    columns = set(query(db, "SELECT column_name FROM information_schema.columns WHERE "
                            "table_name = 'int_city_year_panel'")["column_name"])
    assert DROPPED_VARIABLE not in columns and "unemployment_insured" in columns

    weights = query(db, "SELECT indicator, direction, weight FROM marts.resilience_weights")
    assert "gdp_growth" not in set(weights["indicator"]) and len(weights) == 13
    assert weights.set_index("indicator").loc["loans_to_gdp", "direction"] == "negative"
    assert weights["weight"].sum() == pytest.approx(1.0)

    tiers = query(db, "SELECT DISTINCT distance_tier, distance_tier_id FROM "
                      "intermediate.int_pair_distance")
    assert set(tiers["distance_tier"]) == {"0-300", "300-1000", "1000-3000", "3000+"}
    pair = query(db, f"SELECT distance_tier, distance_tier_id FROM intermediate.int_pair_distance "
                     f"WHERE city_a = '{BEIJING}' AND city_b = '{SHANGHAI}'").iloc[0]
    assert (pair["distance_tier"], pair["distance_tier_id"]) == ("1000-3000", 3)  # 1067 km

    pilots = query(db, "SELECT city_id, first_treated_year FROM intermediate.int_pilot_city "
                       "WHERE programme = 'big_data'").set_index("city_id")["first_treated_year"]
    assert pilots[ZHENGZHOU] == 2016  # approved in October: now the same year

    county = query(db, "SELECT DISTINCT variable, year FROM intermediate.int_county_year_values")
    assert set(county["variable"]) == {"gdp", "urban_disposable_income", "rural_net_income"}
    assert county["year"].max() == COUNTY_LAST_YEAR

    for model in ("int_pair_city_period", "int_pair_connectivity_period"):
        periods = query(db, f"SELECT DISTINCT period, period_id FROM intermediate.{model}")
        assert periods.values.tolist() == [["2012-2017", 1]], model

    cities = query(db, "SELECT size_class, is_megacity_or_super_large, large_in_first_year, "
                       "population_mean, population_first_year FROM marts.dim_city "
                       "WHERE population_mean IS NOT NULL")
    middle = cities[cities["population_mean"].between(SUPER_LARGE_FROM, 500, inclusive="left")]
    assert len(middle) and (middle["size_class"] == "super_large").all()
    assert middle["is_megacity_or_super_large"].all()
    assert (cities["large_in_first_year"]
            == (cities["population_first_year"] >= SUPER_LARGE_FROM)).all()


def test_the_generator_follows_the_changed_seeds(changed_reference):
    assert DROPPED_INDICATOR not in {i for i, _, _ in yearbook_files.city_indicators()}
    assert reference.policy_year("2016-10-08") == 2016

    sc = get_scale("small")
    latent = city_latent(sc.city_ids, SEED)
    world = city_world.build_city_world(sc, latent, SEED)
    table, _ = yearbook_files.city_yearbook_table(world, 2015, SEED)
    assert not any(h.startswith(DROPPED_INDICATOR) for h in table.header)
    assert any(h.startswith("失业保险参保人数") for h in table.header)

    s001 = world.truth["S001"]
    assert s001["treated_cities"][ZHENGZHOU] == 2016
    pop_2012 = dict(zip(sc.city_ids, latent["pop_2012"]))
    assert s001["large_treated_cities"] == [c for c in s001["treated_cities"]
                                            if pop_2012[c] >= SUPER_LARGE_FROM]
    assert any(pop_2012[c] < 500 for c in s001["large_treated_cities"])
    weights = s001["implied_index_gain"]["weights"]
    assert "gdp_growth" not in weights and len(weights) == 13
    fit = resilience_index.entropy_fit(resilience_index.resilience_components(world.panel))
    assert fit.negative["loans_to_gdp"] and not fit.negative["gdp_per_capita"]


def test_the_generator_s_panels_follow_the_changed_variables_and_seeds(changed_reference):
    sc = get_scale("small")
    assert sc.county_years == tuple(range(1998, COUNTY_LAST_YEAR + 1))
    assert sc.mrio_years == (2012, 2017) and sc.baidu_years == tuple(range(2012, 2018))
    assert s003_sources.periods() == [(2012, 2017)]
    assert DROPPED_COUNTY_INDICATOR not in {i for i, _, _ in yearbook_files.county_indicators()}


def test_a_tie_threshold_added_to_s002_has_a_truth_value(tmp_path, monkeypatch):
    """S002's thresholds of pre-pilot ties live in s002.yml: one added to its robustness table
    is a threshold the generator states the estimators' targets for."""
    studies = tmp_path / "studies"
    shutil.copytree(specs.studies_dir(), studies)
    doc = yaml.safe_load((studies / "s002.yml").read_text(encoding="utf-8"))
    table = next(t for t in doc["tables"] if t.get("table") == "tie_threshold")
    table["expand"]["threshold"]["values"].append({"value": ADDED_TIE_THRESHOLD,
                                                   "label": "Top 10%"})
    (studies / "s002.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("STUDIES_DIR", str(studies))
    assert ADDED_TIE_THRESHOLD in business_cycle.tie_thresholds()

    sc = get_scale("small")
    world = city_world.build_city_world(sc, city_latent(sc.city_ids, SEED), SEED)
    docs = policy_files.policy_documents(world, SEED, last_year=max(sc.city_years))
    roster = reference.cities().set_index("city_id").loc[world.cities["city_id"]]
    listed = city_world.yearbook_listing(roster, sc.city_years)
    effects = business_cycle.pair_effects(world, docs, listed)
    added, every_pair = effects[str(ADDED_TIE_THRESHOLD)], effects["0.0"]
    assert 0 < added["pairs"] < every_pair["pairs"] and np.isfinite(added["twfe"])


def test_dbt_declares_the_raw_tables_of_the_ingest_schema():
    """dbt's sources.yml lists the raw tables of models_py.ingest.schema, in its order."""
    sources = yaml.safe_load((REPO / "dbt" / "models" / "sources.yml").read_text(encoding="utf-8"))
    raw = next(s for s in sources["sources"] if s["name"] == "raw")
    assert [t["name"] for t in raw["tables"]] == list(schema.RAW_TABLES)
