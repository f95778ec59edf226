"""Analysts read the published copy with the DuckDB shell while a writer holds the warehouse."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from models_py import warehouse

DUCKDB_SHELL = Path(sys.executable).parent / "duckdb"


def test_snapshot_is_readable_by_the_shell_while_the_warehouse_is_being_written(tmp_path):
    db = tmp_path / "wh.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA raw; CREATE TABLE raw.t AS SELECT range AS x FROM range(1000)")
    target = warehouse.publish_snapshot(db)
    assert target == tmp_path / "wh_read.duckdb"
    assert not list(tmp_path.glob("*.partial"))

    writer = duckdb.connect(str(db))  # a refresh in progress holds the write lock
    writer.execute("INSERT INTO raw.t SELECT 5000")
    out = subprocess.run([str(DUCKDB_SHELL), "-readonly", "-csv", str(target), "-c",
                          "SELECT count(*), max(x) FROM raw.t"],
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["count_star(),max(x)", "1000,999"]
    writer.close()

    warehouse.publish_snapshot(db)  # the next publish replaces the copy whole
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT count(*), max(x) FROM raw.t").fetchone() == (1001, 5000)
