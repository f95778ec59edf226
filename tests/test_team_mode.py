"""Team mode: a refresh publishes the warehouse into a DuckLake whose catalog is in a real
PostgreSQL server and whose data is in a folder, while another process that holds only the
catalog's address and the data path queries it every second, as an analyst on another machine.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from models_py import lake
from ops_support import reader_state, runs, start_lake_reader, tables_state
from postgres_support import postgres, postgres_db  # noqa: F401 - the fixtures

# A one-year reload: the cheapest refresh that ends, as every refresh does, by publishing.
ONE_YEAR = {"SOURCE": "county_yearbook", "YEAR": "2005"}


def team_settings(server, data_path) -> dict[str, str]:
    """The team-mode environment of a lake on ``server`` with its data in ``data_path``."""
    catalog = (f"host={server.host} port={server.port} user={server.user} "
               f"password={server.password} dbname={server.db}")
    return {"WAREHOUSE_LAKE_CATALOG": catalog, "WAREHOUSE_LAKE_DATA_PATH": str(data_path)}


def test_team_mode_settings_are_checked_against_their_schema(tmp_path):
    assert lake.settings({"WAREHOUSE_PATH": "/srv/warehouse.duckdb"}) is None  # single machine
    found = lake.settings({"WAREHOUSE_LAKE_CATALOG": "host=db dbname=w",
                           "WAREHOUSE_LAKE_DATA_PATH": str(tmp_path)})
    assert (found.url, found.data_path, found.keep) == ("ducklake:postgres:host=db dbname=w",
                                                        tmp_path, 10)
    with pytest.raises(lake.LakeSettingsError) as bad:
        lake.settings({"WAREHOUSE_LAKE_CATALOG": "host=db", "WAREHOUSE_LAKE_DATAPATH": "/srv",
                       "WAREHOUSE_LAKE_KEEP": "1"})
    message = str(bad.value)
    assert ("WAREHOUSE_LAKE_DATAPATH is not a setting (did you mean WAREHOUSE_LAKE_DATA_PATH?)"
            in message)
    assert "WAREHOUSE_LAKE_DATA_PATH is not set" in message
    assert "WAREHOUSE_LAKE_KEEP: Input should be greater than or equal to 2 (got '1')" in message
    with pytest.raises(lake.LakeSettingsError, match="must be an absolute path.*'shared'"):
        lake.settings({"WAREHOUSE_LAKE_CATALOG": "host=db", "WAREHOUSE_LAKE_DATA_PATH": "shared"})


def test_the_preflight_stops_a_refresh_with_a_bad_team_setting(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "WAREHOUSE_PATH": str(tmp_path / "w"),
           "WAREHOUSE_LAKE_CATALOG": "host=db", "WAREHOUSE_LAKE_KEEP": "ten"}
    done = subprocess.run([sys.executable, "-m", "dagster_project.preflight"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stderr
    assert "WAREHOUSE_LAKE_DATA_PATH is not set" in done.stderr
    assert "WAREHOUSE_LAKE_KEEP: Input should be a valid integer" in done.stderr
    assert not (tmp_path / "w").exists()  # stopped before anything was written


def test_analysts_read_whole_refreshes_from_the_lake_while_a_refresh_writes_it(
        fresh_site, postgres_db, tmp_path):  # noqa: F811 - the fixture
    env = team_settings(postgres_db, tmp_path / "shared")
    team = lake.settings(env)
    # The lake first holds the session's refresh, as the previous night's refresh left it.
    previous = lake.publish(fresh_site.db, team, refresh="previous")
    reader, reads, stop = start_lake_reader(team.catalog, team.data_path, tmp_path)
    try:
        while not reads.exists() or not reads.read_text():
            assert reader.poll() is None, "the reader ended before its first query"
            time.sleep(0.2)
        done = fresh_site.refresh(timeout=1800, **ONE_YEAR, **env)
    finally:
        stop.touch()
        reader.wait(timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = [json.loads(line) for line in reads.read_text().splitlines()]
    assert [r["error"] for r in records if "error" in r] == []

    with lake.connect(team) as con:
        (latest, refresh_id), (earlier, earlier_id) = lake.refreshes(con)[:2]
        state = {s: tables_state(con, lake.ALIAS, version=s) for s in (earlier, latest)}
    assert (earlier, earlier_id) == (previous.snapshot, "previous")
    assert refresh_id == runs(fresh_site)[-1]["run_id"]     # the refresh's own Dagster run
    assert state[latest]["raw._load_log"] != state[earlier]["raw._load_log"]  # it reloaded
    assert state[latest] == reader_state(fresh_site.copy)   # the lake holds the warehouse

    # Every query saw one whole refresh: the previous one, then (last) the new one; each
    # table as it is in the snapshot the query read, none in between.
    assert [r["snapshot"] for r in records] == sorted(r["snapshot"] for r in records)
    assert {r["snapshot"] for r in records} == {earlier, latest}
    assert all(r["state"] == state[r["snapshot"]] for r in records)
    print(f"{len(records)} queries of the lake during the refresh")

    # The previous refresh stays readable by snapshot after the new one committed.
    with lake.connect(team, snapshot=earlier) as con:
        assert tables_state(con, lake.ALIAS) == state[earlier]
