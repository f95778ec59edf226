"""A landing folder holding only some of the sources refreshes: each absent source is reported
as absent (run log, materialization metadata, ``raw._source_status``), its tables are empty with
their declared types, and everything built from the present sources is what the full folder
gives; a study publishes when its sources are there and is skipped, naming them, when they are
not. Three folders copied from the small default: the sources of S003, refreshed by the Dagster
job as ``make refresh`` runs it; the sources of S001, and none at all, materialized in
process."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from dagster_project.assets.raw import raw_asset, raw_table_key
from models_py import ingest, warehouse
from models_py.ingest import schema
from models_py.estimate import run
from models_py.estimate.specs import load_study, study_names
from support import (executable_assets, materialize, refresh_checks, run_log,
                     warehouse_state, write_city_yearbooks)

PROJECT = Path(__file__).resolve().parents[1]
S003_SOURCES = ("city_yearbook", "eps", "ceads_mrio", "baidu_index", "hsr")
S001_SOURCES = ("city_yearbook", "eps")
# Marts built from the sources each folder holds, with their keys; they must equal the full run's.
MARTS = {
    "S003": {"city_pair_period": ["city_i", "city_j", "period"], "city_year": ["city_id", "year"]},
    "S001": {"city_year": ["city_id", "year"], "province_year": ["province_id", "year"],
             "resilience_weights": ["indicator"], "digital_infrastructure_weights": ["indicator"]},
}


def landing_folder(full: Path, dest: Path, sources: tuple[str, ...]) -> Path:
    """A landing folder holding copies of the files of ``sources`` only. City and county
    yearbooks share a sub-folder: only the named one's files are copied."""
    for source in sources:
        folder = ingest.SOURCES[source].folder
        prefix = f"{source}_" if source.endswith("_yearbook") else ""
        (dest / folder).mkdir(parents=True, exist_ok=True)
        for path in (full / folder).iterdir():
            if path.name.startswith(prefix):
                shutil.copy2(path, dest / folder / path.name)
    return dest


@dataclass
class Refresh:
    study: str
    sources: tuple[str, ...]            # the sources the folder holds
    db: Path
    publish_dir: Path
    metadata: dict[dg.AssetKey, dict]   # raw table or study asset -> its materialization's
    log: str                            # the run's log

    def query(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql).df()


def _raw_keys() -> list[dg.AssetKey]:
    return [raw_table_key(t) for s in ingest.SOURCES.values() for t in s.tables]


def _study_keys() -> list[dg.AssetKey]:
    from dagster_project.assets.studies import all_study_assets

    return [key for a in all_study_assets() for key in a.keys]


@pytest.fixture(scope="module")
def s003_refresh(small_default, tmp_path_factory) -> Refresh:
    """`make refresh` on a folder holding the S003 sources: the refresh_all job of the
    definitions, run in a subprocess with its own instance, as `make refresh` runs it."""
    base = tmp_path_factory.mktemp("s003_sources")
    raw = landing_folder(small_default[0], base / "raw", S003_SOURCES)
    home = base / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "RAW_DATA_DIR": str(raw), "WAREHOUSE_PATH": str(base / "wh.duckdb"),
           "PUBLISH_DIR": str(base / "publish"), "DAGSTER_HOME": str(home)}
    run = subprocess.run([sys.executable, "-m", "dagster_project.launch", "--job", "refresh_all"],
                         cwd=PROJECT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-5000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        metadata = {key: {k: v.value for k, v in instance.get_latest_materialization_event(key)
                          .asset_materialization.metadata.items()}
                    for key in [*_raw_keys(), *_study_keys()]}
    return Refresh("S003", S003_SOURCES, base / "wh.duckdb", base / "publish", metadata,
                   run.stdout + run.stderr)


def refresh_in_process(small_default, base: Path, study: str,
                       sources: tuple[str, ...]) -> Refresh:
    """Every asset and check of the definitions on a folder holding ``sources``."""
    from dagster_project.definitions import defs

    raw = landing_folder(small_default[0], base / "raw", sources)
    raw.mkdir(exist_ok=True)
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize([*executable_assets(defs), *refresh_checks(defs)], raw,
                             base / "wh.duckdb", publish_dir=base / "publish", instance=instance)
        assert result.success
        log = run_log(instance, result.run_id)
    metadata = {m.asset_key: {k: v.value for k, v in m.metadata.items()}
                for m in (e.materialization for e in result.get_asset_materialization_events())}
    return Refresh(study, sources, base / "wh.duckdb", base / "publish", metadata, log)


@pytest.fixture(scope="module")
def s001_refresh(small_default, tmp_path_factory) -> Refresh:
    return refresh_in_process(small_default, tmp_path_factory.mktemp("s001_sources"), "S001",
                              S001_SOURCES)


@pytest.fixture(scope="module")
def empty_refresh(small_default, tmp_path_factory) -> Refresh:
    """A landing folder holding none of the sources: every raw table is empty, all still runs."""
    return refresh_in_process(small_default, tmp_path_factory.mktemp("no_sources"), "none", ())


@pytest.fixture(params=["s003_refresh", "s001_refresh", "empty_refresh"])
def refresh(request) -> Refresh:
    return request.getfixturevalue(request.param)


def test_absent_sources_are_reported_absent(refresh):
    status = refresh.query("SELECT * FROM raw._source_status").set_index("source")
    assert sorted(status.index) == sorted(ingest.SOURCES)
    for source, spec in ingest.SOURCES.items():
        row = status.loc[source]
        meta = [refresh.metadata[raw_table_key(t)] for t in spec.tables]
        if source in refresh.sources:
            assert row["status"] == "loaded" and row["files"] > 0 and row["rows"] > 0, source
            assert all(m["status"] == "loaded" and "absent" not in m for m in meta), source
        else:
            assert (row["status"], row["files"], row["rows"]) == ("absent", 0, 0), source
            assert spec.folder in row["message"], row["message"]
            for m in meta:
                assert (m["status"], m["files"], m["rows"]) == ("absent", 0, 0), source
                assert m["absent"] == f"no files: {row['message']}"


def test_the_run_log_names_each_absent_source_once(s003_refresh):
    for source in ingest.SOURCES:
        expected = 0 if source in S003_SOURCES else 1
        assert s003_refresh.log.count(f"{source}: absent, no files") == expected, source


def test_absent_sources_answers_from_the_status_table(s001_refresh):
    with duckdb.connect(str(s001_refresh.db), read_only=True) as con:
        assert warehouse.absent_sources(con, S003_SOURCES) == ["ceads_mrio", "baidu_index",
                                                               "hsr"]
        assert warehouse.absent_sources(con, S001_SOURCES) == []


def test_tables_of_absent_sources_are_empty_with_the_types_of_a_full_run(refresh, warehouse):
    for source, spec in ingest.SOURCES.items():
        if source not in refresh.sources:
            for table in spec.tables:
                assert refresh.query(f"SELECT count(*) AS n FROM raw.{table}")["n"][0] == 0
    columns = ("SELECT table_schema, table_name, column_name, data_type "
               "FROM information_schema.columns WHERE table_schema IN ('raw', 'io', 'marts') "
               "ORDER BY ALL")
    assert refresh.query(columns).equals(warehouse.query(columns))


@pytest.mark.parametrize("name", ["s003_refresh", "s001_refresh"])
def test_marts_of_present_sources_equal_the_full_run(request, name, warehouse):
    refresh = request.getfixturevalue(name)
    for mart, key in MARTS[refresh.study].items():
        got = refresh.query(f"SELECT * FROM marts.{mart}").sort_values(key, ignore_index=True)
        full = warehouse.query(f"SELECT * FROM marts.{mart}").sort_values(key, ignore_index=True)
        assert len(got) > 0, mart
        # equal up to the order DuckDB sums in
        pd.testing.assert_frame_equal(got, full, check_exact=False, rtol=1e-9, obj=mart)


def test_input_output_is_empty_without_ceads_and_complete_with_it(s003_refresh, s001_refresh,
                                                                   warehouse):
    for table in ("output_by_city", "transfer"):
        assert s001_refresh.query(f"SELECT count(*) AS n FROM io.{table}")["n"][0] == 0
    key = ["period", "city_i", "city_j"]
    got = s003_refresh.query("SELECT * FROM io.transfer").sort_values(key, ignore_index=True)
    full = warehouse.query("SELECT * FROM io.transfer").sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(got, full)


@pytest.mark.parametrize("name", ["s003_refresh", "s001_refresh"])
def test_a_study_whose_sources_are_present_is_published(request, name, warehouse):
    refresh = request.getfixturevalue(name)
    study = refresh.study.lower()
    published = {p.name for p in (refresh.publish_dir / study).iterdir()}
    assert published == {p.name for p in (warehouse.publish_dir / study).iterdir()}
    rows = f"SELECT count(*) AS n FROM results.{study}_coefficients"
    assert refresh.query(rows)["n"][0] == warehouse.query(rows)["n"][0] > 0


@pytest.mark.parametrize("name", ["s003_refresh", "s001_refresh", "empty_refresh"])
def test_a_study_whose_sources_are_absent_is_skipped_naming_them(request, name):
    refresh = request.getfixturevalue(name)
    results = refresh.query("SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema = 'results'")["table_name"]
    for study_name in study_names():
        study = load_study(study_name)
        missing = [s for s in study.sources if s not in refresh.sources]
        if not missing:
            continue
        assert f"{study.name} skipped: its raw sources {', '.join(missing)} are absent" in \
            refresh.log, study.name
        assert not any(t.startswith(f"{study_name}_") for t in results), study.name
        skipped = [m for key, m in refresh.metadata.items() if key.path[-1].startswith(
            f"{study_name}_") and key.path[0] in ("results", "figures")]
        assert skipped, study.name
        assert all(m["status"] == "skipped" and m["absent_sources"] == missing
                   for m in skipped), study.name
        assert not (refresh.publish_dir / study_name).exists() or \
            not any((refresh.publish_dir / study_name).iterdir()), study.name


def test_analysts_copy_is_published(refresh):
    copy = warehouse.snapshot_path(refresh.db)
    with duckdb.connect(str(copy), read_only=True) as con:
        status = con.execute("SELECT * FROM raw._source_status").df()
        marts = con.execute("SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema = 'marts' ORDER BY 1").df()
    assert status.equals(refresh.query("SELECT * FROM raw._source_status"))
    assert marts.equals(refresh.query("SELECT table_name FROM information_schema.tables "
                                      "WHERE table_schema = 'marts' ORDER BY 1"))


# --- one source, loaded and then absent -------------------------------------------------------

def test_a_source_that_goes_absent_leaves_no_stale_rows(tmp_path):
    raw = tmp_path / "raw"
    write_city_yearbooks(raw)
    db = tmp_path / "wh.duckdb"
    assert materialize([raw_asset("city_yearbook")], raw, db).success
    before = warehouse_state(db)
    assert before["raw.city_yearbook"][0] > 0

    shutil.rmtree(raw / "yearbook")
    result = materialize([raw_asset("city_yearbook")], raw, db)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["status"].value == "absent"
    after = warehouse_state(db)
    assert after["raw.city_yearbook"][0] == 0
    assert after["raw._load_log"] == before["raw._load_log"]  # no file, nothing logged
    with duckdb.connect(str(db), read_only=True) as con:
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'city_yearbook'").fetchall())
        status = con.execute("SELECT status, files, rows, message FROM raw._source_status "
                             "WHERE source = 'city_yearbook'").fetchone()
    assert types == schema.RAW_TABLES["city_yearbook"]
    assert status == ("absent", 0, 0, f"{raw / 'yearbook'}: no such folder")


def test_absent_sources_counts_a_source_never_loaded_as_absent(tmp_path):
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        assert warehouse.absent_sources(con, ["eps", "hsr"]) == ["eps", "hsr"]  # no status yet
        (tmp_path / "raw").mkdir()
        ingest.write(con, ingest.load("hsr", tmp_path / "raw"), tmp_path / "raw")
        assert warehouse.absent_sources(con, ["hsr", "eps"]) == ["hsr", "eps"]


def test_withdrawing_a_study_drops_only_its_results_and_files(tmp_path):
    study = load_study("s003")
    out = tmp_path / "publish" / "s003"
    out.mkdir(parents=True)
    (out / "baseline.md").write_text("old table", encoding="utf-8")
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute("CREATE SCHEMA results")
        for name in ("s003_baseline", "s003_coefficients", "s001_baseline", "s0030_other"):
            con.execute(f"CREATE TABLE results.{name} AS SELECT 1 AS x")
        dropped = run.withdraw_study(con, study, out)
        left = {n for (n,) in con.execute("SELECT table_name FROM information_schema.tables "
                                          "WHERE table_schema = 'results'").fetchall()}
    assert sorted(dropped) == ["s003_baseline", "s003_coefficients"]
    assert left == {"s001_baseline", "s0030_other", "_table_status"}
    assert list(out.iterdir()) == []
