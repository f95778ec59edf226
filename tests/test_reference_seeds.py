"""Each reference fact has one home, a seed in dbt/seeds/: change the seed, and dbt and the
embedded default both follow.

A copy of the dbt project gets four changed seeds, and real dbt rebuilds the models that read
them on a copy of the shared warehouse; the generator and ``models_py.reference`` read the same
changed seeds (``reference.SEEDS_DIR`` pointed at the copy):

- the city panel without 城镇登记失业人员数 (unemployed_registered);
- the resilience index without gdp_growth, and with loans_to_gdp entering negatively;
- three distance tiers instead of five;
- pilots approved up to October counting from their approval year.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from models_py import reference
from models_py.generate import city_world, resilience_index, yearbook_files
from models_py.generate.latent import city_latent
from models_py.generate.scale import get_scale

REPO = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"
SEED = 20240601
DROPPED_INDICATOR, DROPPED_VARIABLE = "城镇登记失业人员数", "unemployed_registered"
TIERS = pd.DataFrame({"tier_id": [1, 2, 3], "tier": ["0-300", "300-1000", "1000-3000"],
                      "lower_km": [0, 300, 1000], "upper_km": [300, 1000, 3000]})
LAST_MONTH_SAME_YEAR = 10
ZHENGZHOU, BEIJING, SHANGHAI = "410100", "110000", "310000"  # 郑州: big data pilot 2016-10-08


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
              "ref_pilot_timing", "int_city_year_values", "int_city_year_panel",
              "int_city_year_s001", "int_entropy_resilience_weights", "resilience_weights",
              "int_pair_distance", "int_pilot_city"]
    cmd = [str(DBT), "build", "--select", *models, "--exclude-resource-type", "test",
           "--vars", json.dumps({"warehouse_path": str(db)}),
           "--project-dir", str(project), "--profiles-dir", str(project),
           "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout[-6000:]
    return project / "seeds", db


@pytest.fixture
def changed_reference(changed_project, monkeypatch):
    """models_py.reference (and so the generator) reading the changed seeds."""
    monkeypatch.setattr(reference, "SEEDS_DIR", changed_project[0])
    reference.table.cache_clear()
    yield
    reference.table.cache_clear()


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


def test_the_generator_follows_the_changed_seeds(changed_reference):
    assert DROPPED_INDICATOR not in {i for i, _, _ in yearbook_files.city_indicators()}
    assert reference.policy_year("2016-10-08") == 2016

    sc = get_scale("small")
    world = city_world.build_city_world(sc, city_latent(sc.city_ids, SEED), SEED)
    table, _ = yearbook_files.city_yearbook_table(world, 2015, SEED)
    assert not any(h.startswith(DROPPED_INDICATOR) for h in table.header)
    assert any(h.startswith("失业保险参保人数") for h in table.header)

    s001 = world.truth["S001"]
    assert s001["treated_cities"][ZHENGZHOU] == 2016
    weights = s001["implied_index_gain"]["weights"]
    assert "gdp_growth" not in weights and len(weights) == 13
    fit = resilience_index.entropy_fit(resilience_index.resilience_components(world.panel))
    assert fit.negative["loans_to_gdp"] and not fit.negative["gdp_per_capita"]
