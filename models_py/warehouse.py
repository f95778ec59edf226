"""The DuckDB warehouse: where it is, how loads write to it, how analysts read it.

DuckDB allows one writing process per file. Every writing step of the pipeline goes through
``connect()`` inside one Dagster pool (``duckdb_warehouse``), so writes never overlap. Analysts
read a published copy, ``warehouse_read.duckdb`` beside the warehouse, which ``publish_snapshot``
replaces atomically at the end of a refresh, so a running refresh never locks them out.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"
DEFAULT_RAW_DIR = PROJECT_ROOT / "data" / "raw"
DEFAULT_PUBLISH_DIR = PROJECT_ROOT / "data" / "publish"


def warehouse_path() -> Path:
    """Absolute path of the warehouse, from WAREHOUSE_PATH (also read by dbt's profiles.yml)."""
    return Path(os.environ.get("WAREHOUSE_PATH", DEFAULT_WAREHOUSE)).resolve()


def raw_dir() -> Path:
    """The raw landing folder, from RAW_DATA_DIR."""
    return Path(os.environ.get("RAW_DATA_DIR", DEFAULT_RAW_DIR)).resolve()


def publish_dir() -> Path:
    """Where studies publish their tables and figures, from PUBLISH_DIR."""
    return Path(os.environ.get("PUBLISH_DIR", DEFAULT_PUBLISH_DIR)).resolve()


def connect(path: Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(path or warehouse_path())
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


def replace_tables(con: duckdb.DuckDBPyConnection, schema: str,
                   tables: dict[str, pd.DataFrame | pa.Table]
                   | Iterable[dict[str, pd.DataFrame | pa.Table]],
                   log: pd.DataFrame | None = None) -> None:
    """Create or replace ``schema.<name>`` for every table in one transaction.

    ``tables`` is {name: rows}, or an iterable of such parts: the first part that names a table
    replaces it and later parts append to it, so a large source is written one part at a time
    (an iterator may read each part only when it is asked for). Either every table is replaced
    (and ``log`` rows appended to ``raw._load_log``) or, on any error, also one raised while a
    later part is produced, none is and the warehouse is exactly as it was.
    """
    parts = [tables] if isinstance(tables, dict) else tables
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        written: set[str] = set()
        for part in parts:
            for name, rows in part.items():
                con.register("_incoming", rows)
                if name in written:
                    con.execute(f'INSERT INTO {schema}."{name}" SELECT * FROM _incoming')
                else:
                    con.execute(f'CREATE OR REPLACE TABLE {schema}."{name}" AS '
                                "SELECT * FROM _incoming")
                    written.add(name)
                con.unregister("_incoming")
                del rows
            del part                     # free this part before the next is produced
        if log is not None:
            con.execute("CREATE SCHEMA IF NOT EXISTS raw")
            con.execute("""CREATE TABLE IF NOT EXISTS raw._load_log (
                source VARCHAR, file VARCHAR, sha256 VARCHAR, bytes BIGINT, encoding VARCHAR,
                loaded_at TIMESTAMP)""")
            con.register("_log", log)
            con.execute("INSERT INTO raw._load_log SELECT source, file, sha256, bytes, encoding, "
                        "loaded_at FROM _log")
            con.unregister("_log")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


# The analysts' copy is written in a storage format the DuckDB CLI on PyPI (duckdb-cli 1.5)
# reads; the warehouse itself uses the library's newer default.
SNAPSHOT_STORAGE_VERSION = "v1.4.0"


def snapshot_path(path: Path | None = None) -> Path:
    path = Path(path or warehouse_path())
    return path.with_name(path.stem + "_read.duckdb")


def publish_snapshot(path: Path | None = None) -> Path:
    """Copy the warehouse to ``<name>_read.duckdb`` beside it: written whole to a temporary
    file, then renamed over the previous copy, so readers see the old or the new, never half.

    Analysts open the copy read-only while the next refresh writes the warehouse itself.
    """
    path = Path(path or warehouse_path())
    target = snapshot_path(path)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with connect(path) as con:
        con.execute(f"ATTACH '{partial}' AS snapshot (STORAGE_VERSION '{SNAPSHOT_STORAGE_VERSION}')")
        try:
            catalog = con.execute("SELECT current_database()").fetchone()[0]
            con.execute(f'COPY FROM DATABASE "{catalog}" TO snapshot')
        finally:
            con.execute("DETACH snapshot")
    os.replace(partial, target)
    return target


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
