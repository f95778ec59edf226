"""Ingestion: raw files of each source -> validated tidy tables in the ``raw`` schema.

Each source module exposes ``load(raw_dir) -> LoadResult`` and never touches the database;
``write`` puts a result into the warehouse in one transaction. A load that fails validation
raises IngestError before anything is written, so the warehouse keeps its previous state.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import duckdb
import pandas as pd

from models_py import warehouse
from models_py.ingest.files import sha256
from models_py.ingest.result import LoadResult

# source name -> (landing sub-folder, "module:function" of its loader)
SOURCES: dict[str, tuple[str, str]] = {
    "city_yearbook": ("yearbook", "models_py.ingest.yearbook:load_city"),
    "county_yearbook": ("yearbook", "models_py.ingest.yearbook:load_county"),
    "eps": ("eps", "models_py.ingest.eps:load"),
    "ceads_mrio": ("ceads", "models_py.ingest.ceads:load"),
    "baidu_index": ("baidu_index", "models_py.ingest.baidu:load"),
    "hsr": ("hsr", "models_py.ingest.hsr:load"),
    "policy_texts": ("policy_texts", "models_py.ingest.policy:load"),
    "asif": ("asif", "models_py.ingest.asif:load"),
}


def load(source: str, raw_dir: Path) -> LoadResult:
    """Read and validate every file of ``source`` under ``raw_dir``."""
    module, _, func = SOURCES[source][1].partition(":")
    return getattr(importlib.import_module(module), func)(Path(raw_dir))


def write(con: duckdb.DuckDBPyConnection, result: LoadResult, raw_dir: Path) -> None:
    """Replace the source's raw tables and log the files it came from, atomically."""
    raw_dir = Path(raw_dir)
    loaded_at = warehouse.now()
    encodings = result.report.get("encodings", {})
    log = pd.DataFrame([{
        "source": result.source, "file": str(p.relative_to(raw_dir)), "sha256": sha256(p),
        "bytes": p.stat().st_size, "encoding": encodings.get(str(p.relative_to(raw_dir)), ""),
        "loaded_at": loaded_at} for p in result.files])
    warehouse.replace_tables(con, "raw", result.tables, log)
