"""The audit record of a published result: what it was computed from, down to the raw files.

A reviewer goes from a coefficient to its inputs in three steps: the warehouse relations the
result was estimated from (dbt models such as ``marts.city_pair_period``), the raw tables those
relations are built from, and the raw files of each source's last load with their checksums
and load times (``raw._load_log``). The first two are lineage, known where the graph is known
(the Dagster asset graph, which holds the dbt manifest and the input-output step); this module
takes them as plain data and adds the third from the warehouse, so it needs no orchestrator.

The record is a plain dict, stored as JSON on every result row (``audit``):

    {"models": ["marts.city_pair_period"],
     "raw_tables": ["raw.baidu_index", "raw.ceads_final_use", ...],
     "raw_files": [{"source": "baidu_index", "file": "baidu_index/baidu_index_2012.csv",
                    "sha256": "...", "bytes": 123, "loaded_at": "2026-11-30T09:41:02.123456"},
                   ...],
     "absent_sources": []}

``raw_files`` lists the files of the load that produced each source's current raw tables: the
rows of ``raw._load_log`` whose ``loaded_at`` is the source's ``checked_at`` in
``raw._source_status``. A source whose last load found no files is named in
``absent_sources`` (its earlier files do not back the current tables, so they are not listed).
"""
from __future__ import annotations

import duckdb

from models_py.ingest import SOURCES


def table_source(raw_table: str) -> str:
    """The source whose loader writes ``raw.<table>`` (``raw_table`` with or without ``raw.``)."""
    name = raw_table.removeprefix("raw.")
    for source, spec in SOURCES.items():
        if name in spec.tables:
            return source
    raise KeyError(f"raw.{name} is written by no source in models_py.ingest.SOURCES")


def record(con: duckdb.DuckDBPyConnection, models: list[str], raw_tables: list[str]) -> dict:
    """The audit record of a result estimated from the relations ``models``, which are built
    from ``raw_tables`` (``raw.<table>``): both as given, sorted, and the raw files of the last
    load of every source behind those tables."""
    raw_tables = sorted({f"raw.{t.removeprefix('raw.')}" for t in raw_tables})
    sources = sorted({table_source(t) for t in raw_tables})
    files, absent = [], []
    if sources and _has_table(con, "_source_status") and _has_table(con, "_load_log"):
        marks = ", ".join("?" * len(sources))
        loaded = con.execute(
            f"SELECT l.source, l.file, l.sha256, l.bytes, strftime(l.loaded_at, '%Y-%m-%dT%H:%M:%S.%f') "
            f"FROM raw._load_log l JOIN raw._source_status s "
            f"ON s.source = l.source AND s.checked_at = l.loaded_at "
            f"WHERE s.status = 'loaded' AND l.source IN ({marks}) ORDER BY l.source, l.file",
            sources).fetchall()
        files = [{"source": s, "file": f, "sha256": h, "bytes": b, "loaded_at": t}
                 for s, f, h, b, t in loaded]
        found = set(r[0] for r in loaded)
        absent = [s for s in sources if s not in found]
    else:
        absent = sources
    return {"models": sorted(dict.fromkeys(models)), "raw_tables": raw_tables,
            "raw_files": files, "absent_sources": absent}


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_schema = 'raw' AND table_name = ?", [name]).fetchone()[0])
