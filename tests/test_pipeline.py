"""The whole pipeline on the small embedded default: every asset and check of the definitions
materialized for real into a DuckDB file."""
from __future__ import annotations

import json

import duckdb
import pytest

from models_py import reference
from models_py.generate.scale import get_scale
from support import digests


@pytest.fixture(scope="module")
def pipeline(warehouse):
    return warehouse, warehouse.db, warehouse.raw_dir, warehouse.raw_digests, warehouse.truth


@pytest.fixture(scope="module")
def con(warehouse):
    with duckdb.connect(str(warehouse.db), read_only=True) as c:
        yield c


def test_every_check_ran_and_passed(pipeline):
    evaluations = pipeline[0].check_evaluations()
    names = {e.check_name for e in evaluations}
    assert {f"gx_{m}_{kind}" for m in ("city_year", "province_year", "county_year",
                                       "city_pair_period", "city_pair_year")
            for kind in ("integrity", "plausibility")} <= names
    assert "dbt_plausibility" in names
    assert "accounting_identities" in names
    # every model with a dbt integrity test (dbt/macros/test_integrity.sql) had it run
    from dagster_project.assets.dbt import MANIFEST

    tested = {node["name"] for node in MANIFEST["nodes"].values()
              if (node.get("test_metadata") or {}).get("name") == "integrity"}
    assert len(tested) > 50 and tested <= names
    assert [e.check_name for e in evaluations if not e.passed] == []


def test_raw_files_are_untouched(pipeline):
    _, _, raw_dir, before, _ = pipeline
    assert digests(raw_dir) == before


def test_yearbook_counts_and_resolved_names(con):
    sc = get_scale("small")
    roster = reference.cities().set_index("city_id").loc[list(sc.city_ids)]
    listed = roster[roster["level"].isin(["municipality", "prefecture_city"])]
    for year in (2010, 2016, 2023):
        expected = {c for c, r in listed.iterrows() if r["valid_from"] <= year <= r["valid_to"]}
        got = {c for (c,) in con.execute("SELECT DISTINCT city_id FROM raw.city_yearbook "
                                         "WHERE year = ?", [year]).fetchall()}
        assert got == expected, year
    # 襄阳市 is written 襄樊市 in the 2010 file and still resolves to its stable id.
    assert con.execute("SELECT count(*) FROM raw.city_yearbook WHERE city_id = '420600' "
                       "AND year = 2010 AND variable = 'gdp'").fetchone()[0] >= 1
    # Baidu writes short names; every origin resolves to a CEADs city of the small roster.
    origins = {c for (c,) in con.execute("SELECT DISTINCT origin_city_id FROM raw.baidu_index"
                                         ).fetchall()}
    assert origins <= set(sc.ceads_city_ids) and len(origins) > 30


def test_canonical_units(con):
    # GDP (万元) = GDP per capita (元) x resident population (万人), whatever units each edition
    # used (亿元 or 万元, 人 or 万人).
    ratio = con.execute("""
        SELECT quantile_cont(gdp / (gdp_per_capita * pop_resident), [0.05, 0.5, 0.95])
        FROM marts.city_year WHERE gdp > 0 AND gdp_per_capita > 0 AND pop_resident > 0
    """).fetchone()[0]
    assert 0.8 < ratio[0] and 0.95 < ratio[1] < 1.05 and ratio[2] < 1.25
    # 万美元 -> 万元 at the year's USD/CNY rate.
    fx = reference.usd_cny()
    for year, source_value, value in con.execute(
            "SELECT year, source_value, value FROM raw.city_yearbook WHERE variable = 'fdi' "
            "AND source_unit = '万美元' AND value IS NOT NULL LIMIT 50").fetchall():
        assert value == pytest.approx(source_value * fx[year])
    low, high = con.execute("SELECT min(urbanization_rate), max(urbanization_rate) "
                            "FROM marts.city_year").fetchone()
    assert 0 < low and high <= 1  # % -> share


def test_marts_have_their_rows(con, pipeline):
    sc = get_scale("small")
    roster = reference.cities().set_index("city_id").loc[list(sc.city_ids)]
    assert con.execute("SELECT count(*) FROM marts.city_year").fetchone()[0] == \
        int(roster["in_s001"].sum()) * 12
    n = con.execute("SELECT count(DISTINCT city_i) FROM marts.city_pair_period").fetchone()[0]
    assert con.execute("SELECT count(*) FROM marts.city_pair_period").fetchone()[0] == n * (n - 1) * 2
    regions = len(sc.ceads_city_ids)
    assert con.execute("SELECT count(*) FROM io.transfer").fetchone()[0] == regions * (regions - 1) * 2
    assert con.execute("SELECT count(*) FROM marts.city_pair_period WHERE it IS NULL").fetchone()[0] == 0


def test_analysts_copy_holds_every_table(pipeline, con):
    db = pipeline[1]
    copy = db.with_name("warehouse_read.duckdb")
    tables = "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2"
    with duckdb.connect(str(copy), read_only=True) as snap:
        assert snap.execute(tables).fetchall() == con.execute(tables).fetchall()
        assert snap.execute("SELECT count(*) FROM marts.city_year").fetchone() == \
            con.execute("SELECT count(*) FROM marts.city_year").fetchone()


def test_generator_runs_as_a_dagster_job(tmp_path, small_default):
    from dagster_project.definitions import defs

    job = defs.resolve_job_def("generate_embedded_default")
    config = {"ops": {"write_embedded_default": {"config": {
        "scale": "small", "out_dir": str(tmp_path / "raw"), "truth_path": str(tmp_path / "t.json")}}}}
    assert job.execute_in_process(run_config=config).success
    # The job writes what the generator writes with the same scale and seed, byte for byte,
    # and the same truth (but for the time it took).
    raw_dir, truth = small_default
    assert digests(tmp_path / "raw") == digests(raw_dir)
    written = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert written.pop("seconds") > 0
    assert written == {k: v for k, v in truth.items() if k != "seconds"}


def test_first_treated_year_agrees_with_the_generators_rule(con):
    # The warehouse (int_pilot_city) and the embedded default (reference.policy_year) read the
    # same rule (seed ref_pilot_timing) for the pilot approval dates.
    pilots = reference.table("ref_big_data_pilot")
    expected = {c: reference.policy_year(d) for c, d in zip(pilots["city_id"], pilots["approval_date"])}
    got = dict(con.execute("SELECT DISTINCT city_id, first_treated_year FROM marts.city_year "
                           "WHERE treated").fetchall())
    assert got and all(expected[c] == y for c, y in got.items())


def test_dbt_assets_sit_in_the_groups_of_their_layers():
    """The lineage UI groups dbt's assets by layer: seeds under ``reference``, models under
    their folder's name; none is left in ``default``."""
    from dagster_project.definitions import defs

    groups = {node.key.to_user_string(): node.group_name
              for node in defs.resolve_asset_graph().asset_nodes}
    assert groups["reference/ref_city"] == "reference"
    assert groups["staging/stg_city_yearbook"] == "staging"
    assert groups["intermediate/int_city_year_panel"] == "intermediate"
    assert groups["marts/city_year"] == groups["marts/dim_city"] == "marts"
    assert "default" not in set(groups.values()), sorted(
        k for k, g in groups.items() if g == "default")
