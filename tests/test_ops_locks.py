"""A refresh that meets another process holding the warehouse file (an analyst's session opened
on `warehouse.duckdb` instead of the copy) stops at once with a message naming that process and
pointing to the analysts' copy: before it starts (`make refresh`'s preflight), and at a step's
first write when the session was opened after the refresh started."""
from __future__ import annotations

import shutil
import time

from ops_support import analyst_session, runs
from support import failure_message, materialize

LOCK_SECONDS = 30  # dagster-duckdb's own resource retried for about 100 s


def test_make_refresh_stops_before_starting(refresh_site):
    runs_before = runs(refresh_site)
    with analyst_session(refresh_site.db) as reader:
        started = time.monotonic()
        done = refresh_site.refresh(timeout=300)
        seconds = time.monotonic() - started
    assert done.returncode != 0
    assert f"process {reader.pid} (" in done.stderr
    assert str(refresh_site.copy) in done.stderr
    assert seconds < 120  # make, the preflight's imports, one connection attempt
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
    assert seconds < LOCK_SECONDS
