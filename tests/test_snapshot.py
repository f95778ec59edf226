"""The analysts' copy: readable by the DuckDB shell while the warehouse is being written, a
compacted warehouse after re-writes; a writer waits for a reader that closes the warehouse soon,
and fails with a clear error when another process keeps it open."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from models_py import snapshot, warehouse
from ops_support import analyst_session

DUCKDB_SHELL = Path(sys.executable).parent / "duckdb"


def shell(db: Path, sql: str) -> list[str]:
    """The CSV lines the analysts' DuckDB shell prints for ``sql`` on ``db`` opened read-only."""
    return subprocess.run([str(DUCKDB_SHELL), "-readonly", "-csv", str(db), "-c", sql],
                          capture_output=True, text=True, check=True).stdout.split()


def test_snapshot_is_readable_by_the_shell_while_the_warehouse_is_being_written(tmp_path):
    db = tmp_path / "wh.duckdb"
    with warehouse.connect(db) as con:
        con.execute("CREATE SCHEMA raw; CREATE TABLE raw.t AS SELECT range AS x FROM range(1000)")
    done = snapshot.publish(db)
    assert done.path == tmp_path / "wh_read.duckdb" and not done.compacted
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wh.duckdb", "wh_read.duckdb"]

    writer = warehouse.connect(db)  # a refresh in progress holds the write lock
    writer.execute("INSERT INTO raw.t SELECT 5000")
    assert shell(done.path, "SELECT count(*), max(x) FROM raw.t") == ["count_star(),max(x)",
                                                                      "1000,999"]
    writer.close()

    snapshot.publish(db)  # the next publish replaces the copy whole
    assert shell(done.path, "SELECT count(*), max(x) FROM raw.t") == ["count_star(),max(x)",
                                                                      "1001,5000"]


def test_rewrites_do_not_grow_the_warehouse(tmp_path):
    db = tmp_path / "wh.duckdb"
    rows = "SELECT range AS x, hash(range) AS h FROM range(2000000)"
    with warehouse.connect(db) as con:
        con.execute(f"CREATE TABLE t AS {rows}; CREATE TABLE u AS {rows}")
    first = snapshot.publish(db)
    assert not first.compacted

    # A load replaces its tables in one transaction: the new rows are written before the old
    # ones are freed, and the freed blocks stay in the file.
    with warehouse.connect(db) as con:
        con.execute(f"BEGIN; CREATE OR REPLACE TABLE t AS {rows}; "
                    f"CREATE OR REPLACE TABLE u AS {rows}; COMMIT")
    assert db.stat().st_size > 1.5 * first.warehouse_bytes

    again = snapshot.publish(db)
    assert again.compacted and again.free_share > snapshot.COMPACT_ABOVE
    assert again.warehouse_bytes <= 1.05 * first.warehouse_bytes
    with warehouse.connect(db, read_only=True) as con:
        assert snapshot.storage(con).free_blocks == 0
        assert con.execute("SELECT count(*), sum(h) FROM t").fetchone() == \
            duckdb.sql(f"SELECT count(*), sum(h) FROM ({rows})").fetchall()[0]
    assert again.bytes == again.warehouse_bytes  # the copy is the compacted file


def test_a_warehouse_in_another_storage_version_is_converted_for_the_shell(tmp_path):
    db = tmp_path / "wh.duckdb"
    with duckdb.connect(str(db)) as con:  # the library's own default storage version
        con.execute("CREATE TABLE t AS SELECT 42 AS answer")
        assert snapshot.storage(con).version != warehouse.STORAGE_VERSION
    done = snapshot.publish(db)
    assert done.compacted
    assert shell(done.path, "SELECT answer FROM t") == ["answer", "42"]
    with warehouse.connect(db, read_only=True) as con:
        assert snapshot.storage(con).version == warehouse.STORAGE_VERSION


def test_a_crashed_publish_leaves_no_trace_after_the_next(tmp_path):
    db = tmp_path / "wh.duckdb"
    with warehouse.connect(db) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    # what a publish killed part-way leaves behind: half-written files under temporary names
    (tmp_path / "wh_read.duckdb.partial").write_bytes(b"half a copy")
    (tmp_path / "wh.duckdb.compacting").write_bytes(b"half a compaction")
    snapshot.publish(db)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wh.duckdb", "wh_read.duckdb"]


def test_a_writer_waits_for_a_reader_that_closes_the_file(tmp_path):
    db = tmp_path / "wh.duckdb"
    with warehouse.connect(db) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    with analyst_session(db, seconds=1.5):
        started = time.monotonic()
        with warehouse.connect(db) as con:  # gets the file once the session has closed it
            waited = time.monotonic() - started
            con.execute("INSERT INTO t VALUES (2)")
    assert 0.5 < waited < warehouse.LOCK_WAIT_SECONDS


def test_a_writer_fails_naming_a_reader_that_keeps_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(warehouse, "LOCK_WAIT_SECONDS", 2.0)
    db = tmp_path / "wh.duckdb"
    with warehouse.connect(db) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    with analyst_session(db) as reader:
        started = time.monotonic()
        with pytest.raises(warehouse.WarehouseLockedError) as failed:
            warehouse.connect(db)
        assert 1.0 < time.monotonic() - started < 5  # waited, but not for minutes
        message = str(failed.value)
        assert f"process {reader.pid} (" in message and "time.sleep(600)" in message
        assert str(tmp_path / "wh_read.duckdb") in message
    warehouse.connect(db).close()  # free again once the reader is gone
