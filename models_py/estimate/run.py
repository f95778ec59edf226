"""Run one table of a study end to end: read the mart, fit its specs, write the tidy rows to
``results.<study>_<table>`` and render the published files. The Dagster assets and the bench
call this; nothing here knows about Dagster."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd

from models_py import warehouse
from models_py.estimate import fit, publish
from models_py.estimate.specs import Study

RESULTS_SCHEMA = "results"
FIGURES = {"distance_tiers": publish.distance_tier_figure, "synergy": publish.synergy_figure}


@dataclass
class TableRun:
    table: str
    rows: pd.DataFrame
    failures: list[dict]
    files: dict[str, Path] = field(default_factory=dict)
    preview: str = ""
    seconds: float = 0.0


def read_mart(con: duckdb.DuckDBPyConnection, study: Study, columns: list[str] | None = None
              ) -> pd.DataFrame:
    cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    return con.execute(f"SELECT {cols} FROM {study.mart}").df()


def mart_columns(study: Study, table: str) -> list[str]:
    cols = {"gradient_gdppc", "gradient_pop", "distance_tier"}
    for s in study.table_specs(table):
        cols.update(s.variables)
    return sorted(cols)


def results_table(study: Study, table: str) -> str:
    return f"{study.name.lower()}_{table}"


def run_table(con: duckdb.DuckDBPyConnection, study: Study, table: str, out_dir: Path,
              progress: Callable[[str], None] | None = None) -> TableRun:
    t0 = time.perf_counter()
    if table == "descriptives":
        d = study.descriptives
        df = read_mart(con, study, d["variables"])
        stats = publish.descriptive_frame(df, d["variables"]).assign(study=study.name)
        warehouse.replace_tables(con, RESULTS_SCHEMA, {results_table(study, table): stats})
        grid = publish.descriptive_grid(df, d["variables"], study, d["title"])
        files = publish.write_table(grid, out_dir, table)
        return TableRun(table, stats, [], files, publish.to_markdown(grid),
                        time.perf_counter() - t0)
    df = read_mart(con, study, mart_columns(study, table))
    rows, failures = fit.estimate(df, study.table_specs(table), progress)
    warehouse.replace_tables(con, RESULTS_SCHEMA, {results_table(study, table): rows})
    files, previews = {}, []
    for stem, grid in publish.table_grids(study, rows, table).items():
        for ext, path in publish.write_table(grid, out_dir, stem).items():
            files[f"{stem}.{ext}"] = path
        previews.append(publish.to_markdown(grid))
    if table in FIGURES:
        for ext, path in FIGURES[table](study, rows, out_dir).items():
            files[f"{table}.{ext}"] = path
    return TableRun(table, rows, failures, files, "\n\n".join(previews),
                    time.perf_counter() - t0)


def collect_results(con: duckdb.DuckDBPyConnection, study: Study) -> pd.DataFrame:
    """Union every table's rows into ``results.<study>_coefficients``."""
    names = [results_table(study, t["table"]) for t in study.tables]
    present = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
        [RESULTS_SCHEMA]).fetchall()}
    parts = [con.execute(f'SELECT * FROM {RESULTS_SCHEMA}."{n}"').df() for n in names
             if n in present]
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=fit.COLUMNS)
    warehouse.replace_tables(con, RESULTS_SCHEMA, {f"{study.name.lower()}_coefficients": rows})
    return rows


def run_study(con: duckdb.DuckDBPyConnection, study: Study, out_dir: Path,
              progress: Callable[[str], None] | None = None) -> dict[str, TableRun]:
    runs = {"descriptives": run_table(con, study, "descriptives", out_dir, progress)}
    for t in study.tables:
        runs[t["table"]] = run_table(con, study, t["table"], out_dir, progress)
    collect_results(con, study)
    return runs
