"""Ingestion: raw files of each source -> validated tidy tables in the ``raw`` schema.

Each source module exposes ``load(raw_dir) -> LoadResult`` and never touches the database;
``write`` puts a result into the warehouse in one transaction. A load that fails validation
raises IngestError before anything is written, or, for a source read in parts (the CEADs
tables, one table year at a time), while its parts are written into staging tables, which are
then dropped: either way the warehouse keeps its previous state.

A source the landing folder does not hold (no sub-folder, or no file of the source in it) is
absent, not an error: its tables are written empty, with the types of ``schema.RAW_TABLES``, and
``raw._source_status`` records it, so a previous load's rows never linger looking fresh and
every model downstream still builds.

The yearly sources (one file per year: the yearbooks, the Baidu index, the CEADs table years)
also load one year: ``load(source, raw_dir, year=2015)`` reads only that year's file and
``write(..., year=2015)`` replaces only the rows of that year, in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd
import pyarrow as pa

from models_py import warehouse
from models_py.ingest import asif, baidu, ceads, eps, hsr, policy, schema, yearbook
from models_py.ingest.errors import IngestError, SourceAbsent
from models_py.ingest.files import sha256
from models_py.ingest.result import LoadResult


@dataclass(frozen=True)
class Source:
    folder: str                 # landing sub-folder
    loader: Callable[..., LoadResult]   # reads and validates the source's files (raw_dir[, year])
    tables: tuple[str, ...]     # the raw tables a load replaces (schema.RAW_SCHEMA)
    yearly: bool = False        # one file per year; the loader takes ``year``, and every table
                                # has a ``year`` column holding the file's year


SOURCES: dict[str, Source] = {   # the tables of each come from schema.RAW_SCHEMA
    "city_yearbook": Source("yearbook", yearbook.load_city,
                            schema.source_tables("city_yearbook"), yearly=True),
    "county_yearbook": Source("yearbook", yearbook.load_county,
                              schema.source_tables("county_yearbook"), yearly=True),
    "eps": Source("eps", eps.load, schema.source_tables("eps")),
    "ceads_mrio": Source("ceads", ceads.load, schema.source_tables("ceads_mrio"), yearly=True),
    "baidu_index": Source("baidu_index", baidu.load, schema.source_tables("baidu_index"),
                          yearly=True),
    "hsr": Source("hsr", hsr.load, schema.source_tables("hsr")),
    "policy_texts": Source("policy_texts", policy.load, schema.source_tables("policy_texts")),
    "asif": Source("asif", asif.load, schema.source_tables("asif")),
}


def load(source: str, raw_dir: Path, year: int | None = None) -> LoadResult:
    """Read and validate every file of ``source`` under ``raw_dir``, or, for a yearly source,
    only the file of ``year``; a source the folder does not hold comes back absent, with empty
    tables (with ``year``, it is an error: there is no file of that year)."""
    spec = SOURCES[source]
    if year is not None and not spec.yearly:
        yearly = ", ".join(s for s, v in SOURCES.items() if v.yearly)
        raise ValueError(f"{source} is not loaded by year; the yearly sources are {yearly}")
    try:
        result = spec.loader(Path(raw_dir)) if year is None else spec.loader(Path(raw_dir), year)
    except SourceAbsent as e:
        if year is not None:
            raise IngestError(spec.folder, f"no file for {year}: {e}") from None
        empty = {t: pd.DataFrame(columns=schema.columns(t)) for t in spec.tables}
        return LoadResult(source, empty, [], absent=str(e))
    if set(result.tables) != set(spec.tables):
        raise RuntimeError(f"loader of {source} returned tables {sorted(result.tables)}, "
                           f"declared {sorted(spec.tables)}")
    for name, table in result.tables.items():
        got = list(table.column_names if isinstance(table, pa.Table) else table.columns)
        if got != schema.columns(name):
            raise RuntimeError(f"loader of {source} returned raw.{name} with columns {got}, "
                               f"declared {schema.columns(name)}")
    return result


@dataclass(frozen=True)
class Held:
    """What a source's raw tables hold after a write: rows per table, and how many files those
    rows come from. After a one-year write that is every year's, not the year's alone."""
    rows: dict[str, int]
    files: int


def write(con: duckdb.DuckDBPyConnection, result: LoadResult, raw_dir: Path,
          year: int | None = None) -> Held:
    """Replace the source's raw tables (with ``year``: only their rows of that year), log the
    files they came from and record the source's status (loaded or absent), atomically.
    Returns what the tables now hold, as ``raw._source_status`` records it."""
    raw_dir = Path(raw_dir)
    loaded_at = warehouse.now()
    encodings = result.report.get("encodings", {})
    log = pd.DataFrame([{
        "source": result.source, "file": str(p.relative_to(raw_dir)), "sha256": sha256(p),
        "bytes": p.stat().st_size, "encoding": encodings.get(str(p.relative_to(raw_dir)), ""),
        "loaded_at": loaded_at} for p in result.files])
    held = []

    def status() -> dict:   # once every part is written: a source in parts counts as it goes
        counts = result.row_counts()
        message = result.absent or "; ".join(f"raw.{t}: {n:,} rows" for t, n in counts.items())
        now = Held(counts, len(result.files))
        if year is not None:    # the tables now hold this year's rows beside the other years'
            now = _held(con, result.tables)
            message = (f"{year} replaced ({len(result.files)} file): {message}; "
                       f"{sum(now.rows.values()):,} rows from {now.files} files in all years")
        held.append(now)
        return {"source": result.source, "status": result.status, "files": now.files,
                "rows": sum(now.rows.values()), "checked_at": loaded_at, "message": message}

    warehouse.replace_tables(con, "raw", result.rows(), log, status=status,
                             types={t: schema.RAW_TABLES[t] for t in result.tables},
                             where=None if year is None else f"year = {int(year)}")
    return held[-1]


def _held(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> Held:
    """The rows of each of ``tables`` and the files (``source_file``) their rows come from."""
    rows = {t: con.execute(f'SELECT count(*) FROM raw."{t}"').fetchone()[0] for t in tables}
    named = [t for t in tables if "source_file" in schema.RAW_TABLES[t]]
    files = con.execute("SELECT count(DISTINCT source_file) FROM (" + " UNION ALL ".join(
        f'SELECT source_file FROM raw."{t}"' for t in named) + ")").fetchone()[0]
    return Held(rows, files)
