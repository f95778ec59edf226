"""Loading one year of a yearly source: the real loader asset (or the ingest layer, for the
CEADs tables written in parts) on a copy of the session's warehouse and landing folder."""
from __future__ import annotations

import shutil
import subprocess

import dagster as dg
import pandas as pd
import pytest

from dagster_project.assets.raw import raw_assets
from dagster_project.launch import Run, parse
from dagster_project.refresh import TAGS, command
from dagster_project.resources import resources
from models_py import ingest, warehouse as wh
from models_py.ingest.errors import IngestError
from support import YEARBOOK_2014, change_last_digit, failure_message


@pytest.fixture
def site(warehouse, tmp_path):
    """Copies of the session's landing folder and warehouse, which the tests may change."""
    raw, db = tmp_path / "raw", tmp_path / "warehouse.duckdb"
    shutil.copytree(warehouse.raw_dir, raw)
    shutil.copyfile(warehouse.db, db)
    return raw, db


def load_year(raw, db, source: str, year: int) -> dg.ExecuteInProcessResult:
    """Materialize the source's loader asset with the run config ``year``."""
    (loader,) = [a for a in raw_assets if a.op.name == f"load_{source}"]
    return dg.materialize([loader], resources=resources(db, raw, db.parent / "publish"),
                          run_config={"ops": {f"load_{source}": {"config": {"year": year}}}},
                          raise_on_error=False)


def query(db, sql: str) -> pd.DataFrame:
    with wh.connect(db, read_only=True) as con:
        return con.execute(sql).df()


def yearbook_rows(db, where: str) -> pd.DataFrame:
    rows = query(db, f"SELECT * FROM raw.city_yearbook WHERE {where}")
    return rows.sort_values(["source_row", "variable", "scope"]).reset_index(drop=True)


def stored_tables(db) -> dict[str, tuple]:
    """Row count and content hash of every table stored in the warehouse. Views are left out:
    a view recomputes its floating-point sums in whatever order the threads finish, so two
    reads of an unchanged view may hash differently."""
    with wh.connect(db, read_only=True) as con:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                             "WHERE table_type = 'BASE TABLE' ORDER BY 1, 2").fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*), sum(hash(t)) FROM {s}."{t}" t')
                .fetchone() for s, t in tables}


def test_the_launch_command_line_keeps_config_and_tags_apart():
    """`python -m dagster_project.launch`: each option lands in its own field of the run."""
    assert parse(["--job", "refresh_city_yearbook",
                  "--config-json", '{"ops": {"load_city_yearbook": {"config": {"year": 2014}}}}',
                  "--tags", '{"refresh/sources": "city_yearbook 2014"}']) == Run(
        job="refresh_city_yearbook",
        run_config={"ops": {"load_city_yearbook": {"config": {"year": 2014}}}},
        tags={"refresh/sources": "city_yearbook 2014"})
    run = parse(["--assets", "raw/eps,marts/city_year"])
    assert run.assets == ("raw/eps", "marts/city_year") and run.checks is None
    assert run.run_config == {} and run.tags == {}


def test_one_year_replaces_only_that_year(site):
    raw, db = site
    others_before = query(db, "SELECT count(*) n, sum(hash(t)) h FROM raw.city_yearbook t "
                              "WHERE year <> 2014")
    year_before = yearbook_rows(db, "year = 2014")
    log_before = query(db, "SELECT * FROM raw._load_log")
    change_last_digit(raw / YEARBOOK_2014)

    result = load_year(raw, db, "city_yearbook", 2014)
    assert result.success, failure_message(result)

    others_after = query(db, "SELECT count(*) n, sum(hash(t)) h FROM raw.city_yearbook t "
                             "WHERE year <> 2014")
    pd.testing.assert_frame_equal(others_before, others_after)
    year_after = yearbook_rows(db, "year = 2014")
    assert len(year_after) == len(year_before)
    differing = (year_after.fillna(-1) != year_before.fillna(-1)).any(axis=1)
    assert differing.sum() == 1     # the one value changed in the file

    log = query(db, "SELECT * FROM raw._load_log")
    new = log.iloc[len(log_before):]
    assert list(new["file"]) == [YEARBOOK_2014]
    assert new["sha256"].iloc[0] == ingest.files.sha256(raw / YEARBOOK_2014)
    status = query(db, "SELECT * FROM raw._source_status WHERE source = 'city_yearbook'")
    total = query(db, "SELECT count(*) n FROM raw.city_yearbook")["n"][0]
    assert status["status"][0] == "loaded" and status["rows"][0] == total
    assert status["message"][0].startswith("2014 replaced")

    # The loader's metadata counts as the status does: the table's rows and files, every
    # year's; and beside them what this load read, the year's rows from its one file.
    files = query(db, "SELECT count(DISTINCT source_file) n FROM raw.city_yearbook")["n"][0]
    assert status["files"][0] == files > 1
    metadata = {k: v.value for k, v in result.asset_materializations_for_node(
        "load_city_yearbook")[0].metadata.items()}
    assert (metadata["rows"], metadata["files"]) == (total, files)
    assert (metadata["year"], metadata["year_rows"], metadata["year_files"]) == \
        (2014, len(year_after), 1)
    assert metadata["seconds"] > 0


def test_bad_file_of_the_year_leaves_the_warehouse_as_it_was(site):
    raw, db = site
    before = stored_tables(db)
    change_last_digit(raw / YEARBOOK_2014, to=b"x")   # a number that is not one

    result = load_year(raw, db, "city_yearbook", 2014)
    assert not result.success
    message = failure_message(result)
    assert "city_yearbook_2014.csv" in message and "row" in message
    assert stored_tables(db) == before


def test_one_ceads_table_year_in_parts(site):
    """The CEADs tables are written in parts through staging tables: one table year replaces
    that year's rows of every CEADs table and keeps the other years'."""
    raw, db = site
    tables = ingest.SOURCES["ceads_mrio"].tables
    counts = " UNION ALL ".join(
        f"SELECT '{t}' t, year, count(*) n, sum(hash(x)) h FROM raw.{t} x GROUP BY year"
        for t in tables)
    before = query(db, counts).sort_values(["t", "year"]).reset_index(drop=True)
    years = sorted(before["year"].unique())
    assert len(years) > 1

    result = ingest.load("ceads_mrio", raw, years[1])
    assert [p.name for p in result.files] == [f"ceads_city_mrio_{years[1]}.xlsx"]
    with wh.connect(db) as con:
        ingest.write(con, result, raw, years[1])
        leftovers = con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                                "table_name LIKE '_loading_%'").fetchone()[0]
    after = query(db, counts).sort_values(["t", "year"]).reset_index(drop=True)
    # the same file again: every year's rows as they were, none doubled, no staging left
    pd.testing.assert_frame_equal(before, after)
    assert leftovers == 0


def test_year_needs_a_yearly_source_and_its_file(site):
    raw, _ = site
    with pytest.raises(ValueError, match="eps is not loaded by year"):
        ingest.load("eps", raw, 2015)
    with pytest.raises(IngestError, match=r"no file for 1990 \(files for \[2010"):
        ingest.load("city_yearbook", raw, 1990)


def test_refresh_command():
    assert command(None, None) == Run(job="refresh_all", tags=TAGS)
    assert command("eps", None) == Run(job="refresh_eps", tags=TAGS)
    assert command("city_yearbook", 2015) == Run(
        job="refresh_city_yearbook", tags=TAGS,
        run_config={"ops": {"load_city_yearbook": {"config": {"year": 2015}}}})
    for source, year, says in [(None, 2015, "YEAR needs SOURCE"),
                               ("eps", 2015, "eps has no yearly files"),
                               ("yearbooks", None, "unknown source 'yearbooks'")]:
        with pytest.raises(SystemExit, match=says):
            command(source, year)


def test_make_refresh_of_one_year(fresh_site):
    """`make refresh SOURCE=county_yearbook YEAR=2006` as an operator runs it: one run that
    loads that year and materializes only what is downstream of the county yearbook."""
    from dagster._core.events import DagsterEventType
    from ops_support import PROJECT

    from dagster_project.jobs import source_selection
    from dagster_project.definitions import defs

    site, raw = fresh_site, fresh_site.raw_dir
    other_years = ("SELECT count(*) n, sum(hash(t)) h FROM raw.county_yearbook t "
                   "WHERE year <> 2006")
    before = query(site.db, other_years)
    change_last_digit(raw / "yearbook" / "county_yearbook_2006.csv")

    done = subprocess.run(["make", "-s", "-C", str(PROJECT), "refresh",
                           "SOURCE=county_yearbook", "YEAR=2006"], env=site.env(),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    pd.testing.assert_frame_equal(query(site.db, other_years), before)
    copy_log = query(site.copy, "SELECT sha256 FROM raw._load_log WHERE file = "
                                "'yearbook/county_yearbook_2006.csv' ORDER BY loaded_at")
    assert copy_log["sha256"].iloc[-1] == ingest.files.sha256(
        raw / "yearbook" / "county_yearbook_2006.csv")

    instance = dg.DagsterInstance.from_config(str(site.home))
    (record,) = instance.get_run_records()
    assert record.dagster_run.job_name == "refresh_county_yearbook"
    assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
    materialized = {r.asset_key for r in instance.get_records_for_run(
        record.dagster_run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records}
    downstream = source_selection("county_yearbook").resolve(defs.resolve_asset_graph())
    assert materialized <= downstream
    assert {dg.AssetKey(["marts", "county_year"]), dg.AssetKey("analyst_snapshot")} \
        <= materialized
    assert dg.AssetKey(["marts", "city_year"]) not in materialized
