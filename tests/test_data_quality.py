"""The gaps and oddities of real data, through the real Dagster definitions on copies of the
shared warehouse.

- A folder whose yearbooks carry no resident population (年末常住人口) and no hospital beds
  (医院床位数), and whose EPS export has one city-year with a talent share of 1.18: the marts
  build, per-capita values fall back to registered population (flagged per city-year), the
  entropy index is computed over the indicators present and says which was left out and why,
  and the plausibility warnings name the row (the Great Expectations suite, which owns the
  share's range) and the left-out indicator (dbt); the study downstream still runs.
- An integrity failure still blocks: a dbt integrity test that fails stops the build, and a
  failing blocking Great Expectations suite stops the run before anything downstream of its
  mart materializes.
"""
from __future__ import annotations

import csv
import io
import logging
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl
import pandas as pd
import pytest

from dagster_project.assets.dbt import dbt_models
from dagster_project.assets.studies import study_assets
from dagster_project.checks import suite_check
from models_py.estimate.specs import load_study
from support import decode, executable_assets, materialize, refresh_checks

DROPPED = ("年末常住人口", "医院床位数")
TALENT_FILE = "eps/eps_city_talent_institutions.csv"
IT_EMPLOYMENT = "信息传输、计算机服务和软件业从业人员"
PLANTED_SHARE = 1.18


def query(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def checks(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e
            for e in result.get_asset_check_evaluations()}


def materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


# --- a folder with the gaps and oddities -----------------------------------------------------

def drop_columns(path: Path, prefixes: tuple[str, ...]) -> None:
    """Remove the columns whose header starts with one of ``prefixes`` from a yearbook file
    (CSV in its own encoding, or the first sheet of a workbook), title rows kept."""
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        ws = wb.active
        header = next(r for r in ws.iter_rows() if r[0].value in ("城市", "地区"))
        for cell in reversed(header):
            if str(cell.value or "").startswith(prefixes):
                ws.delete_cols(cell.column)
        wb.save(path)
        return
    text, encoding = decode(path.read_bytes())
    rows = list(csv.reader(io.StringIO(text)))
    header = next(r for r in rows if r and r[0] in ("城市", "地区"))
    drop = {i for i, h in enumerate(header) if h.startswith(prefixes)}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([c for i, c in enumerate(row) if i not in drop])
    path.write_bytes(out.getvalue().encode(encoding))


def plant_talent_share(path: Path, city_id: str, year: int, value: float) -> None:
    """Set the IT employment (万人) of one city-year in the long EPS talent export."""
    text, encoding = decode(path.read_bytes())
    rows = list(csv.reader(io.StringIO(text)))
    col = {h: i for i, h in enumerate(rows[0])}
    hits = [r for r in rows[1:] if r[col["地区代码"]] == city_id and r[col["年份"]] == str(year)
            and r[col["指标"]] == IT_EMPLOYMENT]
    assert len(hits) == 1
    hits[0][col["数值"]] = f"{value:.4f}"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))


@pytest.fixture(scope="module")
def odd_folder(warehouse, tmp_path_factory):
    """The small default's yearbooks without resident population and hospital beds, and its
    EPS export with one implausible talent share, loaded and built on a copy of the shared
    warehouse with everything downstream of them but the S000, S002 and S004 studies (marts,
    checks, and the S001 and S003 studies)."""
    from dagster_project.definitions import defs

    base = tmp_path_factory.mktemp("odd_folder")
    raw = base / "raw"
    for folder in ("yearbook", "eps"):
        shutil.copytree(warehouse.raw_dir / folder, raw / folder)
    for path in sorted((raw / "yearbook").glob("city_yearbook_*")):
        drop_columns(path, DROPPED)
    row = warehouse.query("""
        SELECT panel.city_id, panel.year, panel.employment_urban_units, panel.employment_research
        FROM intermediate.int_city_year_panel AS panel
        JOIN marts.city_year USING (city_id, year)
        WHERE panel.n_interpolated = 0 AND panel.talent_share IS NOT NULL
        ORDER BY panel.city_id, panel.year LIMIT 1""").iloc[0]
    city_id, year = row["city_id"], int(row["year"])
    it = PLANTED_SHARE * row["employment_urban_units"] - row["employment_research"]
    plant_talent_share(raw / TALENT_FILE, city_id, year, it)

    db = base / "warehouse.duckdb"
    shutil.copy(warehouse.db, db)
    # S001 and S003 stand for the studies: the others' tables are left out
    selection = (dg.AssetSelection.keys(["raw", "city_yearbook"], ["raw", "eps"]).downstream()
                 - dg.AssetSelection.groups("s000", "s002", "s004"))
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize([*executable_assets(defs), *refresh_checks(defs)], raw, db,
                             selection=selection, instance=instance)
        warnings = [e.user_message for e in instance.all_logs(result.run_id)
                    if e.level == logging.WARNING and e.user_message]
    return result, db, (city_id, year), warnings


def test_the_marts_build_with_the_odd_folder(odd_folder):
    result, db, _, _ = odd_folder
    assert result.success
    built = materialized(result)
    assert {"marts/city_year", "marts/province_year", "marts/resilience_weights"} <= built
    for study in ("s001", "s003"):  # the studies still run
        assert any(key.startswith(f"results/{study}") for key in built), study


def test_registered_population_is_the_flagged_fallback(odd_folder):
    _, db, _, _ = odd_folder
    city_year = query(db, "SELECT pop_resident, pop_registered, population, population_source, "
                          "savings_per_capita, household_savings FROM marts.city_year")
    assert city_year["pop_resident"].isna().all()
    has_registered = city_year["pop_registered"].notna()
    assert has_registered.mean() > 0.95
    assert (city_year.loc[has_registered, "population_source"] == "registered").all()
    assert (city_year["population"] == city_year["pop_registered"])[has_registered].all()
    both = city_year.dropna(subset=["savings_per_capita", "household_savings"])
    assert len(both) > 0.9 * len(city_year)
    assert (both["savings_per_capita"] == both["household_savings"]
            / city_year.loc[both.index, "population"]).all()
    cities = query(db, "SELECT size_class, registered_population_years FROM marts.dim_city "
                       "WHERE in_s001 AND in_yearbook")
    assert cities["size_class"].notna().all()  # city size classes use the fallback too
    assert (cities["registered_population_years"] > 0).all()
    provinces = query(db, "SELECT n_cities_registered_population, n_cities, di_index "
                          "FROM marts.province_year")
    assert (provinces["n_cities_registered_population"] >= provinces["n_cities"]).all()
    assert provinces["di_index"].notna().all()


def test_the_index_is_computed_over_the_indicators_present(odd_folder):
    _, db, _, _ = odd_folder
    weights = query(db, "SELECT * FROM marts.resilience_weights").set_index("indicator")
    beds = weights.loc["beds_per_10k"]
    assert not beds["included"] and beds["weight"] == 0
    assert beds["left_out_reason"] == "no values in the panel"
    present = weights.drop(index="beds_per_10k")
    assert present["included"].all() and present["left_out_reason"].isna().all()
    assert present["weight"].sum() == pytest.approx(1.0)
    index = query(db, "SELECT resilience_index, resilience_index_missing FROM marts.city_year")
    assert index["resilience_index"].notna().mean() > 0.95
    silent = index["resilience_index"].isna() & (index["resilience_index_missing"].map(len) == 0)
    assert not silent.any()


def test_the_warnings_name_the_implausible_row(odd_folder):
    """The share's range is the suite's (each check has one owner): its plausibility check
    names the row, and dbt's plausibility check names the indicator it left out."""
    result, _, (city_id, year), warnings = odd_folder
    evaluations = checks(result)
    gx = evaluations[("marts/city_year", "gx_city_year_plausibility")]
    assert not gx.passed and gx.severity == dg.AssetCheckSeverity.WARN
    row = next(f for f in gx.metadata["failures"].value
               if f["kwargs"].get("column") == "talent_share")["rows"][0]
    assert (row["city_id"], row["year"]) == (city_id, year)
    assert evaluations[("marts/city_year", "gx_city_year_integrity")].passed

    left_out = evaluations[("marts/resilience_weights", "dbt_plausibility")]
    assert not left_out.passed and left_out.severity == dg.AssetCheckSeverity.WARN
    assert left_out.metadata["failures"].value[0]["rows"][0]["indicator"] == "beds_per_10k"

    logged = [w for w in warnings if "talent_share" in w]
    assert len(logged) == 1 and f"city_id={city_id}" in logged[0] and f"year={year}" in logged[0]


# --- integrity failures block ----------------------------------------------------------------

def test_a_failing_dbt_integrity_test_stops_the_build(warehouse, tmp_path):
    """A raw yearbook row with a scope outside the contract fails staging's integrity test
    (its accepted values): dbt builds nothing downstream, the step fails, the study does not
    run."""
    from dagster_project.definitions import defs

    db = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse.db, db)
    with duckdb.connect(str(db)) as con:
        con.execute("INSERT INTO raw.city_yearbook SELECT * REPLACE ('县城' AS scope) "
                    "FROM raw.city_yearbook LIMIT 1")
    # the model under the failing test and everything downstream of it: dbt skips the rest
    selection = dg.AssetSelection.keys(["staging", "stg_city_yearbook"]).downstream()
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize([*executable_assets(defs), *refresh_checks(defs)], warehouse.raw_dir,
                             db, selection=selection, instance=instance)
    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [e.check_name for e in failed] == ["integrity_stg_city_yearbook"]
    assert failed[0].severity == dg.AssetCheckSeverity.ERROR
    built = materialized(result)
    assert "staging/stg_city_yearbook" in built and "marts/city_year" not in built
    assert not any(key.startswith("results/") for key in built)
    assert "analyst_snapshot" not in built


def test_a_failing_blocking_suite_stops_the_run_before_anything_downstream(warehouse, tmp_path):
    """An integrity suite that the pair mart fails (its key without city_j is not unique):
    the mart is rebuilt and checked, and none of the S003 study assets downstream of it run."""
    suite = tmp_path / "city_pair_period.yml"
    suite.write_text("mart: city_pair_period\nkey: [city_i, period]\n", encoding="utf-8")
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse.db, db)
    studies = study_assets(load_study("s003"))
    selection = dg.AssetSelection.keys(["marts", "city_pair_period"]) | dg.AssetSelection.assets(
        *studies)
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize([dbt_models, *studies, suite_check(suite, "integrity")],
                             warehouse.raw_dir, db, selection=selection, instance=instance)
    gx = checks(result)[("marts/city_pair_period", "gx_city_pair_period_integrity")]
    assert not gx.passed and gx.severity == dg.AssetCheckSeverity.ERROR
    assert gx.metadata["failures"].value[0]["expectation"] == "expect_compound_columns_to_be_unique"
    assert materialized(result) == {"marts/city_pair_period"}
    assert not result.success
