"""The DuckDB warehouse: where it is, how loads write to it, which sources the last loads
found (``raw._source_status``, read by :func:`absent_sources`).

DuckDB allows one writing process per file, and no writer while any other process has the file
open. Every writing step of the pipeline goes through ``connect()`` inside one Dagster pool
(``duckdb_warehouse``), so writes never overlap; analysts read the copy that
``models_py.snapshot`` publishes beside the warehouse, which a refresh never opens. A reader
that opens the warehouse itself between two steps of a refresh holds it only for its query:
a writer's ``connect()`` waits for it (``LOCK_WAIT_SECONDS``) instead of failing the step.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import re
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb
import pandas as pd
import pyarrow as pa

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"
DEFAULT_RAW_DIR = PROJECT_ROOT / "data" / "raw"
DEFAULT_PUBLISH_DIR = PROJECT_ROOT / "data" / "publish"
DEFAULT_REPLICATION_DIR = PROJECT_ROOT / "data" / "replication"


def warehouse_path() -> Path:
    """Absolute path of the warehouse, from WAREHOUSE_PATH (dbt's too when run by hand:
    ``models_py.dbt_attach``)."""
    return Path(os.environ.get("WAREHOUSE_PATH", DEFAULT_WAREHOUSE)).resolve()


def raw_dir() -> Path:
    """The raw landing folder, from RAW_DATA_DIR."""
    return Path(os.environ.get("RAW_DATA_DIR", DEFAULT_RAW_DIR)).resolve()


def publish_dir() -> Path:
    """Where studies publish their tables and figures, from PUBLISH_DIR."""
    return Path(os.environ.get("PUBLISH_DIR", DEFAULT_PUBLISH_DIR)).resolve()


def replication_dir() -> Path:
    """Where the studies' replication packages go, from REPLICATION_DIR."""
    return Path(os.environ.get("REPLICATION_DIR", DEFAULT_REPLICATION_DIR)).resolve()


# How much memory DuckDB may hold before it spills to its temporary directory.
DUCKDB_CONFIG = {"memory_limit": "4GB"}


# Storage version of the warehouse files this project creates: the newest the duckdb 1.5 library
# writes, which every 1.5 client (the `duckdb` shell included) reads. The library's default for
# a new file is still v1.0.0, whose files are twice the size (README: DuckDB 1.5, not 2.0).
STORAGE_VERSION = "v1.5.0"


class WarehouseLockedError(RuntimeError):
    """Another process has the warehouse file open, so this one cannot write to it."""


def snapshot_path(path: Path | None = None) -> Path:
    """The analysts' copy of the warehouse at ``path``: ``<name>_read.duckdb`` beside it."""
    path = Path(path or warehouse_path())
    return path.with_name(path.stem + "_read.duckdb")


# How long a writer's connection waits for other processes to close the warehouse (a query
# session opened between two steps of a refresh), retrying with growing pauses, before it fails
# with WarehouseLockedError. dbt's connection waits the same (models_py.dbt_attach).
LOCK_WAIT_SECONDS = 10.0
_FIRST_PAUSE, _LONGEST_PAUSE = 0.05, 1.0
T = TypeVar("T")


def connect(path: Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse (by default WAREHOUSE_PATH).

    A new file is created in ``STORAGE_VERSION``. When another process holds a lock that
    conflicts, a writer retries for up to ``LOCK_WAIT_SECONDS`` (pauses from 50 ms doubling to
    1 s, with jitter so that a reader polling at a fixed rate cannot keep hitting them) and
    then fails with ``WarehouseLockedError`` naming that process; a reader, which conflicts only
    with a writer (a refresh), fails at once.
    """
    path = Path(path or warehouse_path())
    config = dict(DUCKDB_CONFIG)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            config["storage_compatibility_version"] = STORAGE_VERSION
    return wait_for_lock(lambda: duckdb.connect(str(path), read_only=read_only, config=config),
                         path, read_only)


def wait_for_lock(open_: Callable[[], T], path: Path, read_only: bool = False) -> T:
    """``open_()``, which opens the warehouse file ``path`` (a connection, or an ATTACH),
    retried as :func:`connect` says while another process holds a conflicting lock on it."""
    deadline = time.monotonic() + (0 if read_only else LOCK_WAIT_SECONDS)
    pause = _FIRST_PAUSE
    while True:
        try:
            return open_()
        except duckdb.IOException as exc:
            if "Could not set lock" not in str(exc):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise WarehouseLockedError(_locked_message(path, str(exc), read_only)) from None
        time.sleep(min(pause * random.uniform(0.5, 1.0), left))
        pause = min(2 * pause, _LONGEST_PAUSE)


def _locked_message(path: Path, error: str, read_only: bool) -> str:
    """Who holds the lock on ``path`` (from DuckDB's error and /proc), and what to do."""
    found = re.search(r"PID (\d+)", error)
    holder = "another process"
    if found:
        pid = found.group(1)
        holder = f"process {pid}"
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            holder += f" ({' '.join(a.decode(errors='replace') for a in argv if a)})"
        except OSError:
            pass
    copy = snapshot_path(path)
    duckdb_says = error.splitlines()[0]
    if read_only:
        return (f"Cannot read the warehouse {path}: {holder} is writing it (a refresh). Open "
                f"the analysts' copy {copy} instead: it holds the last finished refresh and a "
                f"refresh never locks it. (DuckDB: {duckdb_says})")
    return (f"Cannot write the warehouse {path}: {holder} has kept it open for "
            f"{LOCK_WAIT_SECONDS:.0f} s, and DuckDB lets no "
            f"process write a file that another process has open, even read-only. If that is a "
            f"query session, close it and query the analysts' copy {copy} instead, which a "
            f"refresh never locks; if it is a step of an earlier refresh still running, let it "
            f"end. Then run the refresh again. (DuckDB: {duckdb_says})")


# raw._source_status: one row per source, replaced with its raw tables at each load. status is
# ``loaded`` or ``absent`` (the landing folder holds none of its files; message says what was
# looked for); files and rows count what was loaded.
SOURCE_STATUS = {"source": "VARCHAR", "status": "VARCHAR", "files": "INTEGER", "rows": "BIGINT",
                 "checked_at": "TIMESTAMP", "message": "VARCHAR"}


def replace_tables(con: duckdb.DuckDBPyConnection, schema: str,
                   tables: dict[str, pd.DataFrame | pa.Table]
                   | Iterable[dict[str, pd.DataFrame | pa.Table]],
                   log: pd.DataFrame | None = None, *,
                   types: dict[str, dict[str, str]] | None = None,
                   status: dict | Callable[[], dict] | None = None,
                   where: str | None = None) -> None:
    """Create or replace ``schema.<name>`` for every table, all at once.

    ``tables`` is {name: rows}, written in one transaction; or an iterable of such parts, for a
    source too large to hold at once (an iterator may read each part only when it is asked
    for). Parts go into staging copies of the tables (``<schema>._loading_<name>``: the first
    part that names a table creates it, later parts append), each part in a transaction of its
    own, so that DuckDB holds at most one part in memory (it keeps a transaction's rows in
    memory until the commit when they fill less than a row group, as a CEADs table year's
    12,978 rows of Z do); one last transaction puts the staging tables in place.

    With ``types`` (table -> column -> DuckDB type) a table is created with exactly those
    columns and types and its rows inserted by column name, so an empty frame gives an empty
    table of the declared types; without, the table takes the types DuckDB infers. Either every
    table is replaced (``log`` rows appended to ``raw._load_log``, ``status``, or what it
    returns once every part is written, replacing its source's row of ``raw._source_status``)
    or, on any error, also one raised while a later part is produced, none is, the staging
    tables are dropped and the warehouse is exactly as it was.

    With ``where`` (a SQL condition on the tables' columns, e.g. ``year = 2015``) only the rows
    that match it are replaced: they are deleted and the new rows inserted, in the same one
    transaction; the other rows stay (a table that does not exist yet is created, with
    ``types``).
    """
    if isinstance(tables, dict):
        with transaction(con):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for name, rows in tables.items():
                table = f'{schema}."{name}"'
                if where is not None:
                    _delete_where(con, table, types and types[name], where)
                _write(con, table, rows, types and types[name], replace=where is None)
            _log_and_status(con, log, status)
        return
    staged: list[str] = []
    try:
        for part in tables:
            with transaction(con):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                for name, rows in part.items():
                    _write(con, f'{schema}."_loading_{name}"', rows, types and types[name],
                           replace=name not in staged)
                    if name not in staged:
                        staged.append(name)
                    del rows
            del part                     # free this part before the next is produced
        with transaction(con):
            for name in staged:
                table, loading = f'{schema}."{name}"', f'{schema}."_loading_{name}"'
                if where is None:
                    con.execute(f"DROP TABLE IF EXISTS {table}")
                    con.execute(f'ALTER TABLE {loading} RENAME TO "{name}"')
                    continue
                _delete_where(con, table, types and types[name], where)
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {loading}")
                con.execute(f"DROP TABLE {loading}")
            _log_and_status(con, log, status)
    except BaseException:
        for name in staged:
            con.execute(f'DROP TABLE IF EXISTS {schema}."_loading_{name}"')
        raise


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """Everything inside the block commits together, or nothing does."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _delete_where(con: duckdb.DuckDBPyConnection, table: str, types: dict[str, str] | None,
                  where: str) -> None:
    """Delete the rows of ``table`` that match ``where``, creating it first (with ``types``)
    when it does not exist."""
    if types is not None:
        columns = ", ".join(f'"{c}" {t}' for c, t in types.items())
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
    con.execute(f"DELETE FROM {table} WHERE {where}")


def _write(con: duckdb.DuckDBPyConnection, table: str, rows: pd.DataFrame | pa.Table,
           types: dict[str, str] | None, replace: bool) -> None:
    """Create ``table`` from ``rows`` (with ``types``: those columns and types), or append."""
    con.register("_incoming", rows)
    try:
        if replace and types is None:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _incoming")
            return
        if replace:
            columns = ", ".join(f'"{c}" {t}' for c, t in types.items())
            con.execute(f"CREATE OR REPLACE TABLE {table} ({columns})")
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
    finally:
        con.unregister("_incoming")


def _log_and_status(con: duckdb.DuckDBPyConnection, log: pd.DataFrame | None,
                    status: dict | Callable[[], dict] | None) -> None:
    """Append ``log`` to ``raw._load_log`` and replace the source's ``raw._source_status``."""
    if callable(status):
        status = status()
    if log is None and status is None:
        return
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    if log is not None:
        con.execute("""CREATE TABLE IF NOT EXISTS raw._load_log (
            source VARCHAR, file VARCHAR, sha256 VARCHAR, bytes BIGINT, encoding VARCHAR,
            loaded_at TIMESTAMP)""")
    if log is not None and len(log):
        con.register("_log", log)
        con.execute("INSERT INTO raw._load_log SELECT source, file, sha256, bytes, encoding, "
                    "loaded_at FROM _log")
        con.unregister("_log")
    if status is not None:
        columns = ", ".join(f"{c} {t}" for c, t in SOURCE_STATUS.items())
        con.execute(f"CREATE TABLE IF NOT EXISTS raw._source_status ({columns})")
        con.execute("DELETE FROM raw._source_status WHERE source = ?", [status["source"]])
        con.execute(f"INSERT INTO raw._source_status ({', '.join(SOURCE_STATUS)}) "
                    f"VALUES ({', '.join('?' * len(SOURCE_STATUS))})",
                    [status[c] for c in SOURCE_STATUS])


def absent_sources(con: duckdb.DuckDBPyConnection, sources: Iterable[str]) -> list[str]:
    """Those of ``sources`` whose tables hold nothing to work with, in the order given: the
    last load found none of their files in the landing folder (``raw._source_status`` says
    ``absent``), or they were never loaded into this warehouse."""
    sources = list(sources)
    if not has_table(con, "raw", "_source_status"):
        return sources
    loaded = {s for (s,) in con.execute(
        "SELECT source FROM raw._source_status WHERE status = 'loaded'").fetchall()}
    return [s for s in sources if s not in loaded]


def has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether the warehouse holds the table or view ``schema.name``."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_schema = ? AND table_name = ?",
                            [schema, name]).fetchone()[0])


def table_names(con: duckdb.DuckDBPyConnection, schema: str, prefix: str = "") -> list[str]:
    """The tables and views of ``schema`` whose names start with ``prefix``, sorted."""
    return [n for (n,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
        "AND starts_with(table_name, ?) ORDER BY table_name", [schema, prefix]).fetchall()]


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
