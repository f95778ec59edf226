"""Run one table or figure of a study end to end: read the warehouse relations it needs, fit
its specs through the estimator dispatch, write the results to the ``results`` schema and
render the published files. The Dagster assets and the benches call this; nothing here knows
about Dagster.

Results of table ``t`` of study ``s``: ``results.s_t`` (tidy coefficient rows, or the rows of
a descriptive or frame table), ``results.s_t_statistics`` (diagnostic statistics, when any)
and ``results.s_t_<frame>`` for each extra frame (placebo draws, balance, VIF, ...). A table
is written whole or not at all: if any spec fails, the run raises :class:`StudyError` naming
every failed spec and the warehouse keeps its previous results. A spec the data cannot support
(:class:`~models_py.estimate.estimators.NotEstimable`) is not a failure: it is stored as one
row with status ``not_estimable`` and its reason, and the table is published with it.

``results._table_status`` says what each study table holds, one row per (study, table):
``published``, ``not_estimable`` (published, some columns not estimable: the reason names
them), ``stale`` (the last refresh failed to estimate it: the results are an earlier
refresh's, from ``results_at``), ``failed`` (it failed and no earlier results exist) or
``skipped`` (the study's sources are absent), with the reason and ``updated_at`` (UTC).

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
from models_py.estimate.study import Study, sample_columns
from models_py.estimate.tidy import (COLUMNS, NOT_ESTIMABLE, STATISTIC_COLUMNS, coefficient_rows,
                                     not_estimable, not_estimable_row, statistic_rows)

RESULTS_SCHEMA = "results"
STATUS_TABLE = "_table_status"
STATUS_TYPES = {"study": "VARCHAR", "table": "VARCHAR", "status": "VARCHAR", "reason": "VARCHAR",
                "updated_at": "TIMESTAMP", "results_at": "TIMESTAMP"}
PUBLISHED, STALE, FAILED, SKIPPED = "published", "stale", "failed", "skipped"
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

    @property
    def not_estimable(self) -> dict[int, str]:
        """Column -> reason, for each column the data cannot support."""
        return not_estimable(self.rows)


def status_reason(columns: dict[int, str]) -> str:
    """The status table's reason for a table with not-estimable columns."""
    return "; ".join(f"({c}) not estimable: {r}" for c, r in columns.items())


def record_status(con: duckdb.DuckDBPyConnection, study: Study, tables: list[str],
                  status: str, reason: str = "") -> None:
    """Replace the rows of study tables in ``results._table_status``, in one transaction. A
    table that failed is ``stale`` while it holds an earlier refresh's results, ``failed``
    otherwise; ``results_at`` moves only when results are written."""
    names = ", ".join(f"'{t}'" for t in tables)
    where = f"study = '{study.name}' AND \"table\" IN ({names})"
    previous = dict(con.execute(
        f'SELECT "table", results_at FROM {RESULTS_SCHEMA}.{STATUS_TABLE} WHERE {where}'
    ).fetchall()) if warehouse.has_table(con, RESULTS_SCHEMA, STATUS_TABLE) else {}
    at, rows = warehouse.now(), []
    for table in tables:
        state, results_at = status, None if status == SKIPPED else at
        if status == FAILED:
            held = warehouse.has_table(con, RESULTS_SCHEMA, results_table(study, table))
            state, results_at = (STALE, previous.get(table)) if held else (FAILED, None)
        rows.append({"study": study.name, "table": table, "status": state, "reason": reason,
                     "updated_at": at, "results_at": results_at})
    warehouse.replace_tables(con, RESULTS_SCHEMA,
                             {STATUS_TABLE: pd.DataFrame(rows, columns=list(STATUS_TYPES))},
                             types={STATUS_TABLE: STATUS_TYPES}, where=where)


def table_status(con: duckdb.DuckDBPyConnection, since=None) -> pd.DataFrame:
    """The rows of ``results._table_status`` (updated at or after ``since``, when given)."""
    if not warehouse.has_table(con, RESULTS_SCHEMA, STATUS_TABLE):
        return pd.DataFrame(columns=list(STATUS_TYPES))
    return con.execute(f"SELECT * FROM {RESULTS_SCHEMA}.{STATUS_TABLE} "
                       "WHERE updated_at >= coalesce(?, updated_at) ORDER BY study, \"table\"",
                       [since]).df()


def status_summary(status: pd.DataFrame) -> str:
    """A few lines per study: its tables published, not estimable (with the reasons), stale or
    failed, and skipped."""
    lines = []
    for study, rows in status.groupby("study", sort=True):
        by = rows.groupby("status")["table"].apply(list).to_dict()
        done = by.get(PUBLISHED, []) + by.get(NOT_ESTIMABLE, [])
        lines.append(f"{study}: {len(done)} of {len(rows)} tables published"
                     + (f"; skipped: {', '.join(by[SKIPPED])}" if SKIPPED in by else ""))
        for r in rows[rows["status"] == NOT_ESTIMABLE].itertuples():
            lines.append(f"  {r.table}: {r.reason}")
        for r in rows[rows["status"].isin([STALE, FAILED])].itertuples():
            kept = " (keeps its earlier results, flagged stale)" if r.status == STALE else ""
            lines.append(f"  {r.table} FAILED{kept}: {' '.join(r.reason.splitlines()[:2])}")
    return "\n".join(lines)


def results_table(study: Study, table: str, part: str = "") -> str:
    """Name of a results table: ``<study>_<table>[_<part>]``."""
    return f"{study.name.lower()}_{table}" + (f"_{part}" if part else "")


def read_relation(con: duckdb.DuckDBPyConnection, relation: str,
                  columns: list[str] | None = None, ordered: bool = False) -> pd.DataFrame:
    """The rows of ``relation`` (every column, or ``columns``): as the relation stores them,
    or, ``ordered``, in :func:`row_order`, the same order whatever order a build stored them in
    (a mart built by parallel joins stores its rows in a different order each time, and the
    last bits of a fit follow the order of its rows)."""
    columns = list(dict.fromkeys(columns)) if columns else None
    cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    order = f" ORDER BY {row_order(con, relation, columns)}" if ordered else ""
    return con.execute(f"SELECT {cols} FROM {relation}{order}").df()


# DuckDB's floating-point types: ordered by last, since they are the columns least likely to
# be a key.
FLOATING_POINT = ("FLOAT", "DOUBLE")


def row_order(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str] | None) -> str:
    """The ORDER BY list that reads ``columns`` (None: all) of ``relation`` in one fixed order:
    every one of them, in the relation's column order, those of exact types (ids, years,
    names, flags: where a mart's key is) first, then the floating-point ones. Rows that tie on
    all of them are identical in what is read, so their order does not matter."""
    described = [(name, kind) for name, kind, *_ in
                 con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
                 if columns is None or name in columns]
    exact = [name for name, kind in described if kind not in FLOATING_POINT]
    floating = [name for name, kind in described if kind in FLOATING_POINT]
    return ", ".join(f'"{c}"' for c in exact + floating)


def table_reads(study: Study, table: str) -> dict[str, list[str] | None]:
    """What a table reads: each relation with the columns it needs from it, None for every
    column. A descriptives table reads its variables and sample columns; a frame table its
    ``source`` whole; an estimated table, from each spec's mart, the columns the spec's kind
    reads and its sample names (a name the relation lacks is one the kind derives), and every
    other relation a spec names in an option whole."""
    info = study.table_info(table)
    if info["type"] == "descriptives":
        return {info.get("mart") or study.mart:
                [*info["variables"], *sample_columns(info.get("sample", ""))]}
    if info["type"] == "frame" and "source" in info:
        return {info["source"]: None}
    needed: dict[str, list[str]] = {}
    for s in study.table_specs(table):
        needed.setdefault(s.mart, []).extend(estimators.mart_columns(s))
        needed[s.mart].extend(sample_columns(s.sample))
    return {relation: needed.get(relation) for relation in study.table_relations(table)}


def present_columns(con: duckdb.DuckDBPyConnection, relation: str,
                    columns: list[str] | None) -> list[str] | None:
    """Those of ``columns`` the relation has, once each (None: every column)."""
    if columns is None:
        return None
    available = set(con.execute(f"SELECT * FROM {relation} LIMIT 0").df().columns)
    return [c for c in dict.fromkeys(columns) if c in available]


def table_inputs(con: duckdb.DuckDBPyConnection, study: Study, table: str
                 ) -> dict[str, pd.DataFrame]:
    """Every relation a table reads (:func:`table_reads`), with the columns it needs, in a
    fixed row order."""
    return {relation: read_relation(con, relation, present_columns(con, relation, columns),
                                    ordered=True)
            for relation, columns in table_reads(study, table).items()}


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
        except estimators.NotEstimable as exc:
            rows.append(not_estimable_row(spec, str(exc)))
            say(f"[{k}/{len(specs)}] {table} ({spec.column}) NOT ESTIMABLE: {exc}")
            continue
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
    row carries ``audit`` as JSON (null when it is not given). A table that fails is recorded
    in the status table (stale, or failed) before its error is raised again."""
    try:
        return _run_table(con, study, table, out_dir, progress, audit)
    except Exception as exc:
        record_status(con, study, [table], FAILED, f"{type(exc).__name__}: {exc}")
        raise


def _run_table(con: duckdb.DuckDBPyConnection, study: Study, table: str, out_dir: Path,
               progress: Progress | None, audit: dict | None) -> TableRun:
    t0 = time.perf_counter()
    info = study.table_info(table)
    frames: dict[str, pd.DataFrame] = {}
    statistics = pd.DataFrame(columns=STATISTIC_COLUMNS)
    grids: dict[str, render.Grid] = {}
    if info["type"] == "descriptives":
        (relation, data), = table_inputs(con, study, table).items()
        sample = info.get("sample", "")
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
        if name in frames:
            grids[f"{table}_{name}"] = render.frame_grid(frames[name], spec["show"],
                                                         spec["title"], spec.get("note", ""),
                                                         study, spec.get("formats"))
    text = None if audit is None else json.dumps(audit, sort_keys=True, ensure_ascii=False)
    rows = rows.assign(audit=pd.Series(text, index=rows.index, dtype="string"))
    tables = {results_table(study, table): rows}
    if len(statistics):
        tables[results_table(study, table, "statistics")] = statistics
    tables.update({results_table(study, table, n): f for n, f in frames.items()})
    warehouse.replace_tables(con, RESULTS_SCHEMA, tables)
    _drop_unwritten(con, study, table, out_dir, set(tables))
    unsupported = not_estimable(rows)
    record_status(con, study, [table], NOT_ESTIMABLE if unsupported else PUBLISHED,
                  status_reason(unsupported))
    files, previews = {}, []
    for stem, grid in grids.items():
        for ext, path in render.write_table(grid, out_dir, stem).items():
            files[f"{stem}.{ext}"] = path
        previews.append(render.to_markdown(grid))
    return TableRun(table, rows, statistics, frames, files, "\n\n".join(previews),
                    time.perf_counter() - t0, audit)


def _drop_unwritten(con: duckdb.DuckDBPyConnection, study: Study, table: str, out_dir: Path,
                    written: set[str]) -> None:
    """Drop the statistics and frames of a table that this run did not write (a spec that
    produces them was not estimable), with their files, so that no earlier part lingers."""
    for part in ["statistics", *study.table_info(table).get("frames", {})]:
        name = results_table(study, table, part)
        if name not in written:
            con.execute(f'DROP TABLE IF EXISTS {RESULTS_SCHEMA}."{name}"')
            for path in Path(out_dir).glob(f"{table}_{part}.*"):
                path.unlink()


def run_figure(con: duckdb.DuckDBPyConnection, study: Study, figure: dict, out_dir: Path
               ) -> dict[str, Path]:
    """Draw one figure from the stored results of the tables it reads (a part that a
    not-estimable spec did not produce reads as an empty frame)."""
    def read(table: str, part: str) -> pd.DataFrame:
        name = results_table(study, table, part)
        if not warehouse.has_table(con, RESULTS_SCHEMA, name):
            return pd.DataFrame()
        return read_relation(con, f'{RESULTS_SCHEMA}."{name}"')
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
    rows = rows[~rows["kind"].isin(estimators.DESCRIPTIVE)]
    warehouse.replace_tables(con, RESULTS_SCHEMA, {
        results_table(study, "coefficients"): rows,
        results_table(study, "statistics"): union("statistics", STATISTIC_COLUMNS)})
    return rows


def withdraw_study(con: duckdb.DuckDBPyConnection, study: Study, out_dir: Path,
                   reason: str = "its raw sources are absent") -> list[str]:
    """Remove a study's published results: every ``results.<study>_*`` table (in one
    transaction) and the files in its publish folder, so that results the current sources
    cannot back never look fresh; its tables are ``skipped`` in the status table, with
    ``reason``. Returns the tables dropped."""
    names = warehouse.table_names(con, RESULTS_SCHEMA, f"{study.name.lower()}_")
    with warehouse.transaction(con):
        for name in names:
            con.execute(f'DROP TABLE {RESULTS_SCHEMA}."{name}"')
    record_status(con, study, [t["table"] for t in study.tables], SKIPPED, reason)
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
