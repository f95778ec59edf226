"""What a run tells its operator: row counts and timing in the assets' metadata, failing rows in
a failed blocking check, and progress lines of long steps in the run log.

Metadata is read from the session's warehouse run. The other runs materialize single assets on
copies of that warehouse, with a Dagster instance carrying the ``python_logs`` settings of the
project's ``dagster.yaml`` (what ``make refresh`` and ``make ui`` use), and read the run log.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from dagster_project.assets.io import OUTPUT, io_transfer
from dagster_project.assets.raw import raw_asset
from dagster_project.assets.studies import table_asset
from dagster_project.checks import suite_check
from models_py.estimate.specs import load_study
from models_py.warehouse import PROJECT_ROOT, table_names
from support import materialize, run_log


@pytest.fixture
def instance():
    """An ephemeral instance with the project's python_logs settings."""
    settings = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text(encoding="utf-8"))
    with dg.DagsterInstance.ephemeral(settings={"python_logs": settings["python_logs"]}) as inst:
        yield inst


@pytest.fixture
def copy(warehouse, tmp_path) -> Path:
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse.db, db)
    return db


def _metadata(materializations) -> dict[str, dict]:
    return {e.asset_key.to_user_string(): {k: v.value for k, v in
                                          e.materialization.metadata.items()}
            for e in materializations}


def test_assets_report_row_counts_and_seconds(warehouse):
    meta = _metadata(warehouse.materializations())
    tables = warehouse.query("SELECT table_schema || '.' || table_name AS t FROM "
                             "information_schema.tables")["t"].tolist()   # and views
    owned = [k for k in meta if k.startswith(("io/", "results/"))]
    assert "io/transfer" in owned and "results/s003_baseline" in owned
    for key in owned:
        m = meta[key]
        assert m["seconds"] >= 0, key
        relation = key.replace("/", ".")
        if relation in tables:   # the rows reported are the rows written
            count = warehouse.query(f'SELECT count(*) AS n FROM {relation.split(".")[0]}.'
                                    f'"{relation.split(".")[1]}"')["n"][0]
            assert m["rows"] == count, key
    assert meta["io/transfer"]["rows"] > 0
    for key in (k for k in meta if k.startswith("figures/")):
        assert meta[key]["seconds"] >= 0
    snapshot = meta["analyst_snapshot"]
    assert snapshot["seconds"] > 0 and snapshot["tables_and_views"] == len(tables)
    dbt_models = [k for k in meta if k.startswith("marts/")]
    assert dbt_models and all(meta[k]["Execution Duration"] > 0 for k in dbt_models)
    for e in warehouse.check_evaluations():
        if e.check_name.startswith("gx_"):
            assert e.metadata["rows"].value > 0 and e.metadata["seconds"].value >= 0


def test_a_failed_blocking_identity_check_names_the_failing_rows(copy, warehouse, instance):
    """One row of the 2012 CEADs table no longer balances: the input-output check fails and
    names that row first; the run log shows each table year read and solved."""
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE raw.ceads_row_totals SET ex = ex + 0.05 * go WHERE year = 2012 "
                    "AND (city_id, sector_code) = (SELECT (city_id, sector_code) FROM "
                    "raw.ceads_row_totals WHERE year = 2012 ORDER BY source_row LIMIT 1 OFFSET 1)")
        region, sector = con.execute("SELECT city_id, sector_code FROM raw.ceads_row_totals "
                                     "WHERE year = 2012 ORDER BY source_row LIMIT 1 OFFSET 1"
                                     ).fetchone()
    result = materialize([io_transfer], warehouse.raw_dir, copy, instance=instance)
    (check,) = result.get_asset_check_evaluations()
    assert (check.asset_key, check.passed) == (OUTPUT, False)
    assert check.severity == dg.AssetCheckSeverity.ERROR
    failing = check.metadata["failing_rows"].value
    assert list(failing) == ["2012"] and failing["2012"]["count"] >= 1
    worst = failing["2012"]["rows"][0]
    assert (worst["region"], worst["sector"]) == (region, sector)
    assert worst["relative_error"] > 0.01
    assert 0 < len(failing["2012"]["rows"]) <= 20

    log = run_log(instance, result.run_id)
    assert f"region={region}, sector={sector}" in log
    years = warehouse.query("SELECT DISTINCT year FROM raw.ceads_region ORDER BY 1")["year"]
    for k, year in enumerate(years, start=1):
        assert f"[{k}/{len(years)}] table year {year}: read" in log
        assert f"[{k}/{len(years)}] table year {year}: solved in" in log


def test_a_failed_blocking_suite_names_the_failing_rows(copy, warehouse, instance, tmp_path):
    """A blocking suite whose key the pair mart breaks: its metadata and the run log's error
    line name a sample of the rows by the key."""
    suite = tmp_path / "city_pair_period.yml"
    suite.write_text("mart: city_pair_period\nkey: [city_i, period]\n", encoding="utf-8")
    check = suite_check(suite, "integrity")
    result = materialize([check], warehouse.raw_dir, copy, instance=instance,
                         selection=dg.AssetSelection.all_asset_checks())
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    (failure,) = evaluation.metadata["failures"].value
    first = warehouse.query("SELECT city_i, period FROM marts.city_pair_period "
                            "ORDER BY city_i, period LIMIT 1").iloc[0]
    assert 0 < len(failure["rows"]) <= 20
    assert set(failure["rows"][0]) == {"city_i", "period"}
    errors = [e.user_message for e in instance.all_logs(result.run_id)
              if e.level >= 40 and "expect_compound_columns_to_be_unique" in e.user_message]
    assert errors and f"city_i={first['city_i']}" in errors[0]


def test_a_raw_load_shows_each_file_in_the_run_log(copy, warehouse, instance):
    result = materialize([raw_asset("baidu_index")], warehouse.raw_dir, copy, instance=instance)
    assert result.success
    log = run_log(instance, result.run_id)
    files = sorted(p.name for p in (warehouse.raw_dir / "baidu_index").glob("*.csv"))
    rows = warehouse.query("SELECT source_file, count(*) AS n FROM raw.baidu_index GROUP BY 1")
    rows = dict(zip(rows["source_file"], rows["n"]))
    for k, name in enumerate(files, start=1):
        rel = f"baidu_index/{name}"
        assert f"baidu_index [{k}/{len(files)}] {rel}: {rows[rel]:,} rows in" in log


def test_a_many_spec_table_shows_each_spec_in_the_run_log(copy, warehouse, instance):
    study = load_study("s003")
    specs = study.table_specs("robustness")
    assert len(specs) >= 4
    result = materialize([table_asset(study, "robustness")], warehouse.raw_dir, copy,
                         instance=instance)
    assert result.success
    log = run_log(instance, result.run_id)
    for k, spec in enumerate(specs, start=1):
        assert f"[{k}/{len(specs)}] robustness ({spec.column}) {spec.kind}" in log


def test_dbt_tables_report_their_row_counts(warehouse):
    observed = {e.asset_key.to_user_string(): e.asset_observation_data.asset_observation
                .metadata["dagster/row_count"].value
                for e in warehouse.events if e.is_asset_observation}
    for mart in ("city_year", "city_pair_period", "county_year"):
        count = warehouse.query(f"SELECT count(*) AS n FROM marts.{mart}")["n"][0]
        assert observed[f"marts/{mart}"] == count > 0
    assert "staging/stg_city_yearbook" not in observed       # a view: not counted


def test_a_failed_dbt_integrity_test_names_the_failing_rows(copy, warehouse, instance):
    """A raw yearbook row with a scope outside the contract fails staging's integrity test;
    the run log's error line names the rule, the value and where all failing rows are kept."""
    from dagster_project.assets.dbt import dbt_models

    with duckdb.connect(str(copy)) as con:
        con.execute("INSERT INTO raw.city_yearbook SELECT * REPLACE ('县城' AS scope) "
                    "FROM raw.city_yearbook LIMIT 1")
    result = materialize([dbt_models], warehouse.raw_dir, copy, instance=instance,
                         selection=dg.AssetSelection.keys(["staging", "stg_city_yearbook"]))
    assert not result.success
    errors = [e.user_message for e in instance.all_logs(result.run_id)
              if e.level >= 40 and "dbt test integrity_stg_city_yearbook" in e.user_message]
    assert len(errors) == 1
    assert "fails for 1 rows" in errors[0] and "县城" in errors[0]
    assert "failure=scope not in (全市, 市辖区)" in errors[0]
    assert "test_failures.integrity_stg_city_yearbook" in errors[0]


def test_a_null_and_a_duplicate_fail_the_models_integrity_test_naming_the_rule(copy, warehouse,
                                                                               instance):
    """Two raw yearbook rows lose, one its year, the other its city, and a third is loaded
    twice: the staging model's one integrity test (``dbt/macros/test_integrity.sql``) fails,
    blocking, and its failing rows name each row with the rule it breaks, in the run log and in
    the test_failures view."""
    from dagster_project.assets.dbt import dbt_models

    with duckdb.connect(str(copy)) as con:
        no_year, no_city, twice = con.execute(
            "SELECT rowid, source_file, source_row, variable FROM raw.city_yearbook "
            "WHERE variable IS NOT NULL ORDER BY source_file, source_row, variable LIMIT 3"
        ).fetchall()
        con.execute("UPDATE raw.city_yearbook SET year = NULL WHERE rowid = ?", [no_year[0]])
        con.execute("UPDATE raw.city_yearbook SET city_id = NULL WHERE rowid = ?", [no_city[0]])
        con.execute("INSERT INTO raw.city_yearbook SELECT * FROM raw.city_yearbook "
                    "WHERE rowid = ?", [twice[0]])
    result = materialize([dbt_models], warehouse.raw_dir, copy, instance=instance,
                         selection=dg.AssetSelection.keys(["staging", "stg_city_yearbook"]))
    assert not result.success
    failed = [(e.check_name, e.severity) for e in result.get_asset_check_evaluations()
              if not e.passed]
    assert failed == [("integrity_stg_city_yearbook", dg.AssetCheckSeverity.ERROR)]
    errors = [e.user_message for e in instance.all_logs(result.run_id)
              if e.level >= 40 and "dbt test integrity_stg_city_yearbook" in e.user_message]
    assert len(errors) == 1 and "fails for 4 rows" in errors[0]
    assert "failure=city_id is null" in errors[0] and "failure=year is null" in errors[0]
    assert "failure=duplicate (city_id, year, variable, scope)" in errors[0]
    assert "test_failures.integrity_stg_city_yearbook" in errors[0]
    with duckdb.connect(str(copy), read_only=True) as con:
        rows = con.execute("SELECT failure, source_file, source_row, variable FROM "
                           "test_failures.integrity_stg_city_yearbook ORDER BY 1").fetchall()
    duplicate = "duplicate (city_id, year, variable, scope)"
    assert rows == [("city_id is null", *no_city[1:]), (duplicate, *twice[1:]),
                    (duplicate, *twice[1:]), ("year is null", *no_year[1:])]


def test_a_build_drops_the_failing_rows_views_of_removed_tests(copy, warehouse, instance):
    """A test_failures view no test of the project keeps (a test since removed) is dropped
    after a build, and said so in the run log; the views of the current tests stay."""
    from dagster_project.assets.dbt import dbt_models

    with duckdb.connect(str(copy)) as con:
        con.execute("CREATE VIEW test_failures.unique_stg_eps_removed AS SELECT 1 AS x")
        before = set(table_names(con, "test_failures"))
    result = materialize([dbt_models], warehouse.raw_dir, copy, instance=instance,
                         selection=dg.AssetSelection.keys(["staging", "stg_eps"]))
    assert result.success
    with duckdb.connect(str(copy), read_only=True) as con:
        after = set(table_names(con, "test_failures"))
    assert before - after == {"unique_stg_eps_removed"}
    assert "integrity_stg_eps" in after
    assert any("dropped 1 views of tests the dbt project no longer has: "
               "test_failures.unique_stg_eps_removed" in e.user_message
               for e in instance.all_logs(result.run_id))
