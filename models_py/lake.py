"""Team mode: the finished warehouse published into a DuckLake that analysts read from anywhere.

A DuckLake keeps its catalog in a database (here PostgreSQL, which many machines reach) and its
data as Parquet files in a folder (here a shared one). Each publish replaces every table of the
lake with the warehouse's in ONE transaction, so it is one snapshot of the lake: an analyst who
attaches the lake read-only sees the last committed refresh while the next one writes, and the
previous refreshes by snapshot (time travel) until they are expired. Each refresh's snapshot is
committed by the author ``refresh`` with the refresh's id as its message.

Team mode is on when ``WAREHOUSE_LAKE_CATALOG`` and ``WAREHOUSE_LAKE_DATA_PATH`` are set
(:func:`settings`); without them the project publishes only the analysts' copy
(``models_py.snapshot``), as on one machine.

DuckDB's ``ducklake`` and ``postgres`` extensions come from PyPI wheels (the machines reach no
other extension repository); :func:`install_extensions` installs them from the wheels' files
into DuckDB's extension folder, after which DuckDB loads them itself when a ``ducklake:``
database is attached.
"""
from __future__ import annotations

import difflib
import importlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models_py import warehouse

# The settings, from the environment: variable -> field of LakeSettings.
ENVIRONMENT = {"WAREHOUSE_LAKE_CATALOG": "catalog", "WAREHOUSE_LAKE_DATA_PATH": "data_path",
               "WAREHOUSE_LAKE_KEEP": "keep"}
PREFIX = "WAREHOUSE_LAKE_"
# The PyPI wheels of the extensions a DuckLake with a PostgreSQL catalog needs.
EXTENSION_WHEELS = ("duckdb_extension_ducklake", "duckdb_extension_postgres")
# Who commits a refresh's snapshot (ducklake_snapshots' author column).
AUTHOR = "refresh"
# The name the lake is attached under while publishing.
ALIAS = "lake"


class LakeSettingsError(ValueError):
    """Team-mode settings that do not pass their checks; the message lists every problem."""


class LakeSettings(BaseModel):
    """Where the team's DuckLake lives."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    # libpq connection string of the PostgreSQL database holding the catalog, e.g.
    # "host=db.lab port=5432 dbname=warehouse user=refresh" (a password comes from PGPASSWORD
    # or ~/.pgpass, never from here)
    catalog: str = Field(min_length=1)
    # the shared folder of the Parquet files, as every machine mounts it
    data_path: Path
    # how many refreshes stay readable by snapshot; older snapshots are expired and their files
    # deleted after each publish
    keep: int = Field(default=10, ge=2)

    @property
    def url(self) -> str:
        """What ``ATTACH`` takes: the catalog's address."""
        return f"ducklake:postgres:{self.catalog}"


def settings(environ: dict[str, str] | None = None) -> LakeSettings | None:
    """Team-mode settings from the environment, checked; None when team mode is off (no
    ``WAREHOUSE_LAKE_*`` variable set)."""
    environ = os.environ if environ is None else environ
    given = {k: v for k, v in environ.items() if k.startswith(PREFIX)}
    if not given:
        return None
    problems = [f"{k} is not a setting{_closest(k)}; the settings are {', '.join(ENVIRONMENT)}"
                for k in given if k not in ENVIRONMENT]
    values = {ENVIRONMENT[k]: v for k, v in given.items() if k in ENVIRONMENT}
    try:
        found = LakeSettings(**values)
    except ValidationError as exc:
        field_env = {f: k for k, f in ENVIRONMENT.items()}
        problems += [f"{field_env[str(e['loc'][0])]} is not set" if e["type"] == "missing"
                     else f"{field_env[str(e['loc'][0])]}: {e['msg']} (got {e['input']!r})"
                     for e in exc.errors()]
        found = None
    if found is not None and not found.data_path.is_absolute():
        problems.append(f"WAREHOUSE_LAKE_DATA_PATH must be an absolute path, as every machine "
                        f"mounts the shared folder (got {str(found.data_path)!r})")
    if problems:
        raise LakeSettingsError("team mode (DuckLake) settings: " + "; ".join(problems))
    return found


def _closest(name: str) -> str:
    match = difflib.get_close_matches(name, ENVIRONMENT, n=1)
    return f" (did you mean {match[0]}?)" if match else ""


def extension_files() -> list[Path]:
    """The extension files the PyPI wheels installed beside this Python's duckdb."""
    files = []
    for wheel in EXTENSION_WHEELS:
        folder = Path(importlib.import_module(wheel).__file__).parent / "extensions"
        files += sorted(folder.glob(f"v{duckdb.__version__}/*.duckdb_extension"))
    if len(files) != len(EXTENSION_WHEELS):
        raise RuntimeError(f"the DuckDB extensions {', '.join(EXTENSION_WHEELS)} for duckdb "
                           f"{duckdb.__version__} are not installed: pip install "
                           + " ".join(f"{w.replace('_', '-')}=={duckdb.__version__}"
                                      for w in EXTENSION_WHEELS))
    return files


def install_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Install the ducklake and postgres extensions from the wheels' files into DuckDB's
    extension folder (nothing is downloaded), once per folder."""
    installed = {name for (name,) in con.execute(
        "SELECT extension_name FROM duckdb_extensions() WHERE installed").fetchall()}
    for file in extension_files():
        if {"postgres": "postgres_scanner"}.get(file.stem, file.stem) not in installed:
            con.execute(f"INSTALL '{file}'")


def connect(lake: LakeSettings, read_only: bool = True,
            snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lake attached as ``lake`` (read-only unless asked for
    writing; at ``snapshot`` when given), as an analyst's session attaches it.

    A writing connection writes every table as Parquet, none inlined into the catalog
    (``DATA_INLINING_ROW_LIMIT 0``; DuckLake otherwise inlines a table of up to 10 rows): the
    warehouse's small tables include the studies' results, whose rows carry kilobytes each, and
    inlining them made the commit build and send one statement of megabytes, which took most of
    a publish."""
    con = duckdb.connect(config=warehouse.DUCKDB_CONFIG)
    install_extensions(con)
    options = [f"DATA_PATH '{lake.data_path}/'"]
    options.append("READ_ONLY" if read_only else "DATA_INLINING_ROW_LIMIT 0")
    if snapshot is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
    con.execute(f"ATTACH '{lake.url}' AS {ALIAS} ({', '.join(options)})")
    return con


@dataclass(frozen=True)
class LakePublished:
    """What one publish into the lake did."""
    snapshot: int              # the lake's snapshot holding this refresh
    tables: int                # tables written
    dropped: list[str]         # tables the lake had and the warehouse no longer has
    expired: int               # snapshots expired (older than the refreshes kept)
    seconds: float


def publish(warehouse_file: Path, lake: LakeSettings, refresh: str) -> LakePublished:
    """Replace every table of the lake with the warehouse's, in one transaction committed as
    one snapshot (author ``refresh``, message ``refresh``: the refresh's id); then expire the
    snapshots older than the last ``lake.keep`` refreshes and delete their files.

    Tables only: the warehouse's views (dbt's staging views and test-failure views) name the
    warehouse's own catalog, so the lake leaves them out. The warehouse is only read.
    """
    started = time.perf_counter()
    lake.data_path.mkdir(parents=True, exist_ok=True)
    with connect(lake, read_only=False) as con:
        con.execute(f"ATTACH '{warehouse_file}' AS source (READ_ONLY)")
        tables = _tables(con, "source")
        dropped = [f"{s}.{t}" for s, t in _tables(con, ALIAS) if (s, t) not in tables]
        con.execute("BEGIN TRANSACTION")
        try:
            for schema in sorted({s for s, _ in tables}):
                con.execute(f'CREATE SCHEMA IF NOT EXISTS {ALIAS}."{schema}"')
            for schema, table in tables:
                con.execute(f'CREATE OR REPLACE TABLE {ALIAS}."{schema}"."{table}" AS '
                            f'SELECT * FROM source."{schema}"."{table}"')
            for name in dropped:
                schema, table = name.split(".", 1)
                con.execute(f'DROP TABLE {ALIAS}."{schema}"."{table}"')
            con.execute(f"CALL {ALIAS}.set_commit_message(?, ?)", [AUTHOR, refresh])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        snapshot = con.execute(f"FROM {ALIAS}.current_snapshot()").fetchone()[0]
        expired = expire(con, lake.keep)
    return LakePublished(snapshot, len(tables), dropped, expired,
                         round(time.perf_counter() - started, 2))


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    return [tuple(r) for r in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
        "ORDER BY 1, 2", [catalog]).fetchall()]


def refreshes(con: duckdb.DuckDBPyConnection, catalog: str = ALIAS) -> list[tuple[int, str]]:
    """The refreshes the lake holds, newest first: (snapshot id, refresh id)."""
    return [tuple(r) for r in con.execute(
        f"SELECT snapshot_id, commit_message FROM ducklake_snapshots('{catalog}') "
        f"WHERE author = ? ORDER BY snapshot_id DESC", [AUTHOR]).fetchall()]


def expire(con: duckdb.DuckDBPyConnection, keep: int) -> int:
    """Expire every snapshot older than the last ``keep`` refreshes and delete the files only
    they used; returns how many snapshots were expired."""
    kept = refreshes(con)[:keep]
    if len(kept) < keep:
        return 0
    older = [s for (s,) in con.execute(f"SELECT snapshot_id FROM ducklake_snapshots('{ALIAS}') "
                                       "WHERE snapshot_id < ?", [kept[-1][0]]).fetchall()]
    if older:
        con.execute(f"CALL ducklake_expire_snapshots('{ALIAS}', versions => {older})")
        con.execute(f"CALL ducklake_cleanup_old_files('{ALIAS}', cleanup_all => true)")
    return len(older)
