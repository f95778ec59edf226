"""A refresh killed part-way, and the refreshes after it, run as `make refresh` runs them (a
subprocess with DAGSTER_HOME, WAREHOUSE_PATH, RAW_DATA_DIR and PUBLISH_DIR in a temporary site):
the kill lands inside the raw load of a one-source refresh, then inside the dbt build of
another; neither leaves the warehouse or the analysts' copy damaged; the next refresh clears the
dead run, completes by itself while a second process queries the analysts' copy throughout and
a third polls the warehouse file itself, and gives the same results as the first refresh of the
same folder (raw tables and marts to the last bit; every results table: floats to 1e-12
relative to their column's largest value, everything else exactly); the warehouse does not grow.

The tests run in order on one site, each starting where the one before left it.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from dagster_project.assets.dbt import target_dir
from models_py.snapshot import COMPACT_ABOVE
from ops_support import (coefficients, kill_refresh_when, reader_state, results, runs,
                         start_reader, table_state)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def before(refresh_site):
    """The site before any of these refreshes: what every later state is compared with."""
    return {"db": table_state(refresh_site.db), "copy_sha": sha256(refresh_site.copy),
            "coefficients": coefficients(refresh_site.db), "results": results(refresh_site.db),
            "db_bytes": refresh_site.db.stat().st_size}


def assert_same_estimates(got: dict, expected: dict):
    assert got.keys() == expected.keys()
    for key, values in expected.items():
        assert got[key] == pytest.approx(values, rel=1e-9, nan_ok=True), key


def assert_same_results(got: dict, expected: dict):
    """Every results table again, its rows in the same order: floats to 1e-12 relative to the
    largest value of their column, everything else exactly. (Two processes' BLAS kernels may
    round the last bit differently; a coefficient near zero, 2e-4 beside others of 1 to 8,
    then differs by 5e-16, 2e-12 of itself.)"""
    assert got.keys() == expected.keys()
    for name, frame in expected.items():
        assert list(got[name].columns) == list(frame.columns), name
        floats = [c for c in frame if frame[c].dtype.kind == "f"]
        pd.testing.assert_frame_equal(got[name].drop(columns=floats),
                                      frame.drop(columns=floats), obj=name)
        for column in floats:
            values = frame[column].to_numpy(float)
            scale = np.abs(values[np.isfinite(values)]).max(initial=0.0)
            np.testing.assert_allclose(got[name][column].to_numpy(float), values, rtol=1e-12,
                                       atol=1e-12 * scale, err_msg=f"{name}.{column}")


def assert_same_tables(got: dict, expected: dict):
    """The same tables with the same row counts, and raw tables and marts with the same rows,
    to the last bit. (Results carry fitting and load times: :func:`assert_same_results`
    compares them.)"""
    assert {name: n for name, (n, _) in got.items()} == \
        {name: n for name, (n, _) in expected.items()}
    same = [name for name in expected if name.startswith(("raw.", "marts."))]
    assert same and {n: got[n] for n in same} == {n: expected[n] for n in same}


def assert_intact(site, before):
    """The analysts' copy is byte for byte what it was; the warehouse opens and holds the same
    tables, rows and estimates (the loads that finished rewrote identical rows)."""
    assert sha256(site.copy) == before["copy_sha"]
    assert_same_tables(table_state(site.db), before["db"])
    assert_same_estimates(coefficients(site.db), before["coefficients"])


def test_a_refresh_killed_inside_a_raw_load(refresh_site, before):
    # `make refresh SOURCE=city_yearbook`: the load is the run's first step
    kill_refresh_when(refresh_site, lambda line: 'Started execution of step "load_city_yearbook"'
                      in line, "SOURCE=city_yearbook")
    killed = runs(refresh_site)[-1]
    assert killed["status"] == "STARTED"  # as the kill left it
    assert "load_city_yearbook" in killed["started"]
    assert "load_city_yearbook" not in killed["succeeded"]  # the kill landed inside the load
    assert_intact(refresh_site, before)


def test_the_next_refresh_clears_the_dead_run_and_is_killed_inside_the_dbt_build(refresh_site,
                                                                                  before):
    materialized = []

    def second_dbt_model(line: str) -> bool:
        if "dbt_models - ASSET_MATERIALIZATION" in line:
            materialized.append(line)
        return len(materialized) == 2

    # `make refresh SOURCE=county_yearbook`: its load, then the dbt build of the 5 county
    # models and their tests, killed after the second model
    log = kill_refresh_when(refresh_site, second_dbt_model, "SOURCE=county_yearbook")
    first, second = runs(refresh_site)[-2:]
    assert first["status"] == "FAILURE"
    assert f"Run {first['run_id']} of refresh_city_yearbook was left unfinished" in log
    assert "freed 1 pool slot(s)" in log   # the killed load's slot of duckdb_warehouse
    assert second["job"] == "refresh_county_yearbook"
    assert "dbt_models" in second["started"] and "dbt_models" not in second["succeeded"]
    assert "load_county_yearbook" in second["succeeded"]
    assert_intact(refresh_site, before)


def test_the_next_refresh_completes_while_analysts_query_the_copy(refresh_site, before,
                                                                  tmp_path):
    old = reader_state(refresh_site.copy)
    reader, reads, stop = start_reader(refresh_site.copy, tmp_path)
    # an analyst who opened the warehouse itself: open, query, close, every READ_EVERY s
    poller, polls, stop_polling = start_reader(refresh_site.db, tmp_path)
    try:
        done = refresh_site.refresh()
    finally:
        stop.touch()
        stop_polling.touch()
        reader.wait(timeout=60)
        poller.wait(timeout=60)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # The console shows the run, each progress line once, and no instance set-up or warning of
    # a superseded command.
    console = done.stdout + done.stderr
    assert "alembic" not in console and "superseded" not in console
    assert len([line for line in console.splitlines() if "city_yearbook [1/" in line]) == 1
    statuses = [r["status"] for r in runs(refresh_site)[-3:]]
    assert statuses == ["FAILURE", "FAILURE", "SUCCESS"]

    records = [json.loads(line) for line in reads.read_text().splitlines()]
    new = reader_state(refresh_site.copy)
    assert new != old  # the new copy has more load-log rows: the two are told apart
    assert [r["error"] for r in records if "error" in r] == []
    assert len(records) >= 20
    assert all(r["state"] in (old, new) for r in records)  # never part of a table or a copy
    assert records[0]["state"] == old and records[-1]["state"] == new
    assert len({r["inode"] for r in records}) == 2  # the copy was replaced while being read

    # while a step held the warehouse, the analyst's open failed on its lock; between steps
    # they got in, and the next step waited for them to close it
    polled = [json.loads(line) for line in polls.read_text().splitlines()]
    locked = [k for k, r in enumerate(polled) if "error" in r]
    assert all("Could not set lock" in polled[k]["error"] for k in locked)
    assert locked and any("state" in r for r in polled[locked[0]:locked[-1]])

    # identical results: row counts, raw tables and marts, and every results table
    assert_same_tables(table_state(refresh_site.db), before["db"])
    assert_same_tables(table_state(refresh_site.copy), before["db"])
    assert_same_results(results(refresh_site.copy), before["results"])


def dbt_invocations(target) -> list[set[str]]:
    """The event names of each dbt invocation logged in the target folder, oldest first (dbt
    writes its log there as JSON lines, rotating the file every 10 MB)."""
    events: dict[str, set[str]] = {}
    for log in sorted(target.glob("dbt.log*"), key=lambda p: p.stat().st_mtime_ns):
        for line in log.read_text(encoding="utf-8").splitlines():
            info = json.loads(line)["info"]
            events.setdefault(info["invocation_id"], set()).add(info["name"])
    return list(events.values())


def test_every_build_of_a_new_warehouse_reuses_dbt_s_parse(refresh_site):
    # the build killed inside the dbt build, the first of this warehouse, started from the
    # project's parse (`dbt parse`, copied into the warehouse's target folder); the next
    # refresh's build from the one the killed build left there: neither parsed the project anew
    target = target_dir(str(refresh_site.db))
    assert target.parent == refresh_site.db.parent
    invocations = dbt_invocations(target)
    assert len(invocations) == 2, invocations
    for events in invocations:
        assert "PartialParsingEnabled" in events and "UnableToPartialParse" not in events
    assert "MainReportVersion" in invocations[-1]


def test_the_warehouse_does_not_grow_on_re_refresh(refresh_site, before):
    # three refreshes (two killed) rewrote every table at least once; the last publish left at
    # most COMPACT_ABOVE of the file free (the first refresh's file has no free block)
    assert refresh_site.db.stat().st_size <= before["db_bytes"] / (1 - COMPACT_ABOVE)
    assert refresh_site.copy.stat().st_size == refresh_site.db.stat().st_size
