"""A refresh that meets another process keeping the warehouse file open (an analyst's session
opened on `warehouse.duckdb` instead of the copy) waits `LOCK_WAIT_SECONDS` for it, then stops
with a message naming that process and pointing to the analysts' copy: before it starts (`make
refresh`'s preflight), and at a step's first write when the session was opened after the
refresh started. (A session that closes the file in time does not stop it: test_snapshot.py,
and test_ops_refresh.py's reader of the warehouse itself.)"""
from __future__ import annotations

import shutil
import time

from models_py.warehouse import LOCK_WAIT_SECONDS
from ops_support import analyst_session, runs
from support import failure_message, materialize

STEP_SECONDS = 30  # the wait and Dagster's own start; dagster-duckdb retried for about 100 s


def test_make_refresh_stops_before_starting(refresh_site):
    runs_before = runs(refresh_site)
    with analyst_session(refresh_site.db) as reader:
        started = time.monotonic()
        done = refresh_site.refresh(timeout=300)
        seconds = time.monotonic() - started
    assert done.returncode != 0
    assert f"process {reader.pid} (" in done.stderr
    assert str(refresh_site.copy) in done.stderr
    assert LOCK_WAIT_SECONDS <= seconds < 120  # make, the preflight's imports, the wait
    assert runs(refresh_site) == runs_before  # no run was started


def test_a_step_stops_at_its_first_write(warehouse, tmp_path):
    from dagster_project.definitions import defs

    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse.db, db)
    load_hsr = [a for a in defs.assets if getattr(a, "node_def", None) is not None
                and a.node_def.name == "load_hsr"]
    with analyst_session(db) as reader:
        started = time.monotonic()
        result = materialize(load_hsr, warehouse.raw_dir, db)
        seconds = time.monotonic() - started
    assert not result.success
    message = failure_message(result)
    assert f"process {reader.pid} (" in message and "Cannot write the warehouse" in message
    assert str(tmp_path / "warehouse_read.duckdb") in message
    assert LOCK_WAIT_SECONDS <= seconds < STEP_SECONDS
