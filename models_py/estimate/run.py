"""Run one table or figure of a study end to end: read the warehouse relations it needs, fit
its specs through the estimator dispatch, write the results to the ``results`` schema and
render the published files. The Dagster assets and the benches call this; nothing here knows
about Dagster.

Results of table ``t`` of study ``s``: ``results.s_t`` (tidy coefficient rows, or the rows of
a descriptive or frame table), ``results.s_t_statistics`` (diagnostic statistics, when any)
and ``results.s_t_<frame>`` for each extra frame (placebo draws, balance, VIF, ...). A table
is written whole or not at all: if any spec fails, the run raises :class:`StudyError` naming
every failed spec and the warehouse keeps its previous results.

Given an ``audit`` record (what the table was computed from, down to the raw files' checksums:
see ``models_py.audit``), every row of ``results.s_t`` carries it as JSON in its ``audit``
column. The caller builds it (the Dagster assets, from ``models_py.lineage``).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd

from models_py import warehouse
from models_py.estimate import estimators, figures, render
from models_py.estimate.specs import Study, sample_columns
from models_py.estimate.tidy import COLUMNS, STATISTIC_COLUMNS, coefficient_rows, statistic_rows

RESULTS_SCHEMA = "results"
Progress = Callable[[str], None]


class StudyError(RuntimeError):
    """One or more specs of a table failed; the message lists each with its error."""


@dataclass
class TableRun:
    table: str
    rows: pd.DataFrame
    statistics: pd.DataFrame
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    preview: str = ""
    seconds: float = 0.0
    audit: dict | None = None


def results_table(study: Study, table: str, part: str = "") -> str:
    """Name of a results table: ``<study>_<table>[_<part>]``."""
    return f"{study.name.lower()}_{table}" + (f"_{part}" if part else "")


def read_relation(con: duckdb.DuckDBPyConnection, relation: str,
                  columns: list[str] | None = None) -> pd.DataFrame:
    cols = ", ".join(f'"{c}"' for c in dict.fromkeys(columns)) if columns else "*"
    return con.execute(f"SELECT {cols} FROM {relation}").df()


def table_inputs(con: duckdb.DuckDBPyConnection, study: Study, table: str
                 ) -> dict[str, pd.DataFrame]:
    """Every relation a table's specs read, with the columns they need (all columns of a
    relation named in an option)."""
    needed: dict[str, list[str]] = {}
    for s in study.table_specs(table):
        needed.setdefault(s.mart, []).extend(estimators.mart_columns(s))
        needed[s.mart].extend(sample_columns(s.sample))
    out = {}
    for relation in study.table_relations(table):
        if relation in needed:
            available = set(con.execute(f"SELECT * FROM {relation} LIMIT 0").df().columns)
            out[relation] = read_relation(con, relation,
                                          [c for c in needed[relation] if c in available])
        else:
            out[relation] = read_relation(con, relation)
    return out


def estimate_table(inputs: dict[str, pd.DataFrame], study: Study, table: str,
                   progress: Progress | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """Fit every spec of a table: (coefficient rows, statistic rows, frames by name)."""
    say = progress or (lambda _: None)
    specs = study.table_specs(table)
    rows, stats, frames, failures = [], [], {}, []
    for k, spec in enumerate(specs, start=1):
        try:
            est, secs = estimators.estimate(inputs[spec.mart], spec, inputs)
        except estimators.SpecError as exc:
            failures.append(str(exc))
            say(f"[{k}/{len(specs)}] {table} ({spec.column}) FAILED: {exc}")
            continue
        rows.append(coefficient_rows(spec, est, secs))
        stats.append(statistic_rows(spec, est))
        for name, frame in est.frames.items():
            frames.setdefault(name, []).append(
                frame.assign(study=spec.study, table=spec.table, column=spec.column))
        say(f"[{k}/{len(specs)}] {table} ({spec.column}) {spec.kind} {est.formula} "
            f"[{spec.sample or 'all'}]: N={est.n_obs}, {secs:.2f}s")
    if failures:
        raise StudyError(f"{study.name} table {table!r}: {len(failures)} of {len(specs)} specs "
                         "failed:\n" + "\n".join(failures))
    return (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=COLUMNS),
            pd.concat(stats, ignore_index=True) if stats else
            pd.DataFrame(columns=STATISTIC_COLUMNS),
            {n: pd.concat(f, ignore_index=True) for n, f in frames.items()})


def run_table(con: duckdb.DuckDBPyConnection, study: Study, table: str, out_dir: Path,
              progress: Progress | None = None, audit: dict | None = None) -> TableRun:
    """Estimate (or tabulate) one table, store its results and write its files; every result
    row carries ``audit`` as JSON (null when it is not given)."""
    t0 = time.perf_counter()
    info = study.table_info(table)
    frames: dict[str, pd.DataFrame] = {}
    statistics = pd.DataFrame(columns=STATISTIC_COLUMNS)
    grids: dict[str, render.Grid] = {}
    if info["type"] == "descriptives":
        relation = info.get("mart") or study.mart
        sample = info.get("sample", "")
        data = read_relation(con, relation, [*info["variables"], *sample_columns(sample)])
        rows = render.descriptive_frame(estimators.sample(data, sample),
                                        info["variables"]).assign(study=study.name)
        grids[table] = render.descriptive_grid(rows, study, info["title"], relation, sample)
    elif info["type"] == "frame" and "source" in info:
        rows = read_relation(con, info["source"]).assign(study=study.name)
        grids[table] = render.frame_grid(rows, info["show"], info["title"],
                                         info.get("note", ""), study, info.get("formats"))
    else:
        rows, statistics, frames = estimate_table(table_inputs(con, study, table), study,
                                                  table, progress)
        if info["type"] == "regression":
            grids.update(render.table_grids(study, table, rows, statistics))
    for name, spec in info.get("frames", {}).items():
        grids[f"{table}_{name}"] = render.frame_grid(frames[name], spec["show"],
                                                     spec["title"], spec.get("note", ""), study,
                                                     spec.get("formats"))
    text = None if audit is None else json.dumps(audit, sort_keys=True, ensure_ascii=False)
    rows = rows.assign(audit=pd.Series(text, index=rows.index, dtype="string"))
    tables = {results_table(study, table): rows}
    if len(statistics):
        tables[results_table(study, table, "statistics")] = statistics
    tables.update({results_table(study, table, n): f for n, f in frames.items()})
    warehouse.replace_tables(con, RESULTS_SCHEMA, tables)
    files, previews = {}, []
    for stem, grid in grids.items():
        for ext, path in render.write_table(grid, out_dir, stem).items():
            files[f"{stem}.{ext}"] = path
        previews.append(render.to_markdown(grid))
    return TableRun(table, rows, statistics, frames, files, "\n\n".join(previews),
                    time.perf_counter() - t0, audit)


def run_figure(con: duckdb.DuckDBPyConnection, study: Study, figure: dict, out_dir: Path
               ) -> dict[str, Path]:
    """Draw one figure from the stored results of the tables it reads."""
    def read(table: str, part: str) -> pd.DataFrame:
        return read_relation(con, f'{RESULTS_SCHEMA}."{results_table(study, table, part)}"')
    return figures.draw(study, figure, read, out_dir)


def regression_tables(study: Study) -> list[str]:
    return [t["table"] for t in study.tables if study.table_specs(t["table"])]


def collect_results(con: duckdb.DuckDBPyConnection, study: Study) -> pd.DataFrame:
    """Union the coefficient rows of every estimated table into
    ``results.<study>_coefficients`` and their statistics into ``results.<study>_statistics``;
    return the coefficient rows."""
    present = set(warehouse.table_names(con, RESULTS_SCHEMA))

    def union(part: str, columns: list[str]) -> pd.DataFrame:
        names = [results_table(study, t, part) for t in regression_tables(study)]
        parts = [read_relation(con, f'{RESULTS_SCHEMA}."{n}"', columns) for n in names
                 if n in present]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    rows = union("", COLUMNS)
    rows = rows[rows["kind"] != "vif"]
    warehouse.replace_tables(con, RESULTS_SCHEMA, {
        results_table(study, "coefficients"): rows,
        results_table(study, "statistics"): union("statistics", STATISTIC_COLUMNS)})
    return rows


def withdraw_study(con: duckdb.DuckDBPyConnection, study: Study, out_dir: Path) -> list[str]:
    """Remove a study's published results: every ``results.<study>_*`` table (in one
    transaction) and the files in its publish folder, so that results the current sources
    cannot back never look fresh. Returns the tables dropped."""
    names = warehouse.table_names(con, RESULTS_SCHEMA, f"{study.name.lower()}_")
    with warehouse.transaction(con):
        for name in names:
            con.execute(f'DROP TABLE {RESULTS_SCHEMA}."{name}"')
    for path in Path(out_dir).glob("*"):
        if path.is_file():
            path.unlink()
    return names


def run_study(con: duckdb.DuckDBPyConnection, study: Study, out_dir: Path,
              progress: Progress | None = None) -> dict[str, TableRun]:
    """Every table, every figure and the collected results of a study, in order."""
    runs = {t["table"]: run_table(con, study, t["table"], out_dir, progress)
            for t in study.tables}
    for fig in study.figures:
        run_figure(con, study, fig, out_dir)
    collect_results(con, study)
    return runs
