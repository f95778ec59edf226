"""The audit record of a published result: what it was computed from, down to the raw files.

A reviewer goes from a coefficient to its inputs in three steps: the warehouse relations the
result was estimated from (dbt models such as ``marts.city_pair_period``), the raw tables those
relations are built from, and the raw files behind those tables with their checksums and load
times (``raw._load_log``). The first two are lineage (``models_py.lineage``: dbt's manifest
and the input-output step); this module takes them as plain data and adds the third from the
warehouse.

The record is a plain dict, stored as JSON on every result row (``audit``):

    {"models": ["marts.city_pair_period"],
     "raw_tables": ["raw.baidu_index", "raw.ceads_final_use", ...],
     "raw_files": [{"source": "baidu_index", "file": "baidu_index/baidu_index_2012.csv",
                    "sha256": "...", "bytes": 123, "loaded_at": "2026-11-30T09:41:02.123456"},
                   ...],
     "absent_sources": []}

``raw_files`` lists the files of the loads that wrote the rows the raw tables now hold: every
raw row names its ``source_file``; each such file's latest row in ``raw._load_log`` gives the
load that wrote it, and every file that load logged is listed with its checksum and load time
(so the policy texts, whose rows name their index file, are listed beside it). A
table without a ``source_file`` column (a CEADs block) is traced through the other tables of its
source. A source whose last load found no files is named in ``absent_sources`` instead.
"""
from __future__ import annotations

import duckdb

from models_py import warehouse
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
    from ``raw_tables`` (``raw.<table>``): both as given, sorted, and the raw files of the loads
    that wrote the rows of those tables."""
    raw_tables = sorted({f"raw.{t.removeprefix('raw.')}" for t in raw_tables})
    sources = sorted({table_source(t) for t in raw_tables})
    loaded = []
    if sources and warehouse.has_table(con, "raw", "_source_status") \
            and warehouse.has_table(con, "raw", "_load_log"):
        loaded = [s for (s,) in con.execute(
            f"SELECT source FROM raw._source_status WHERE status = 'loaded' AND source IN "
            f"({', '.join('?' * len(sources))}) ORDER BY source", sources).fetchall()]
    files = []
    for source in loaded:
        mine = [t for t in raw_tables if table_source(t) == source]
        traced = _with_source_file(con, mine) or _with_source_file(
            con, [f"raw.{t}" for t in SOURCES[source].tables])
        if not traced:
            continue
        current = " UNION ".join(f"SELECT source_file AS file FROM {t}" for t in traced)
        files += [{"source": source, "file": f, "sha256": h, "bytes": b, "loaded_at": t}
                  for f, h, b, t in con.execute(f"""
            WITH latest AS (
                SELECT file, arg_max(sha256, loaded_at) AS sha256, arg_max(bytes, loaded_at) AS bytes,
                       max(loaded_at) AS loaded_at
                FROM raw._load_log WHERE source = ? GROUP BY file),
            loads AS (SELECT DISTINCT loaded_at FROM latest WHERE file IN ({current}))
            SELECT file, sha256, bytes, strftime(loaded_at, '%Y-%m-%dT%H:%M:%S.%f')
            FROM latest WHERE loaded_at IN (SELECT loaded_at FROM loads) ORDER BY file""",
                                                 [source]).fetchall()]
    found = {f["source"] for f in files}
    return {"models": sorted(dict.fromkeys(models)), "raw_tables": raw_tables,
            "raw_files": files, "absent_sources": [s for s in sources if s not in found]}


def _with_source_file(con: duckdb.DuckDBPyConnection, tables: list[str]) -> list[str]:
    """Those of ``tables`` (``raw.<table>``) that exist and carry a ``source_file`` column."""
    names = [t.removeprefix("raw.") for t in tables]
    if not names:
        return []
    found = {n for (n,) in con.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'raw' AND "
        f"column_name = 'source_file' AND table_name IN ({', '.join('?' * len(names))})",
        names).fetchall()}
    return [f'raw."{n}"' for n in names if n in found]

