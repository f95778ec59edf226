"""Re-estimate every table and figure of a study from a replication package's own files, and
compare each number with the packaged results.

    cd <package folder> && python reproduce.py

Run it with Python and the locked package set (``code/requirements.lock``); it needs no
warehouse, no Dagster and no raw files. The package holds the study file and the estimation
code that produced its results (``code/``), the relations the study's tables read as Parquet
(``data/<schema>.<relation>.parquet``) and the results (``results/<table>.parquet``). The
script opens an in-memory DuckDB database in which each Parquet file is the view
``<schema>.<relation>``, runs every table and figure of the study on it with the packaged code
(the ``run_table`` and ``run_figure`` the pipeline runs, so the rendered tables and figures
land in ``reproduced/``), then prints one line per exhibit: ``reproduced`` when every number of
its results agrees with the packaged one within ``TOLERANCE`` (relative) and every statistic
drawn with a seed agrees exactly, else the largest difference and where it is. It exits 1 when
an exhibit is not reproduced.

The same file is ``models_py.replication.reproduce`` in the project, where the package builder
reads its folder names.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CODE, DATA, RESULTS, OUTPUTS, REPRODUCED = "code", "data", "results", "outputs", "reproduced"
TOLERANCE = 1e-8
# Columns that record how a run went rather than what it found.
RUN_COLUMNS = ("seconds", "audit")
PACKAGED = "packaged"          # the schema of the packaged results in the reproduction

if (ROOT / CODE / "models_py").is_dir():      # in a package: import the packaged code
    sys.path.insert(0, str(ROOT / CODE))

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402

from models_py import warehouse  # noqa: E402
from models_py.estimate import catalog, run  # noqa: E402
from models_py.estimate.figures import figure_tables  # noqa: E402
from models_py.estimate.specs import load_study  # noqa: E402
from models_py.estimate.study import Study  # noqa: E402


@dataclass
class Difference:
    """The largest difference found between packaged and reproduced results."""
    relative: float = 0.0
    where: str = ""

    def worse(self, other: Difference) -> Difference:
        return other if other.relative > self.relative else self


def relation_views(con: duckdb.DuckDBPyConnection, folder: Path, schema: str | None = None
                   ) -> list[str]:
    """Each ``<schema>.<name>.parquet`` of ``folder`` as the view ``<schema>.<name>`` (or, given
    ``schema``, each ``<name>.parquet`` as ``<schema>.<name>``); returns the file stems."""
    stems = []
    for path in sorted(folder.glob("*.parquet")):
        where, name = path.stem.split(".", 1) if schema is None else (schema, path.stem)
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{where}"')
        con.execute(f'CREATE VIEW "{where}"."{name}" AS SELECT * FROM read_parquet('
                    f"'{_sql_text(path)}')")
        stems.append(path.stem)
    return stems


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")


def option_seeds(options: dict, prefix: str = "") -> list[tuple[str, object]]:
    """Every ``seed`` in a spec's options, with its path (``wild_bootstrap.seed``)."""
    out = []
    for key, value in options.items():
        if key == "seed":
            out.append((f"{prefix}{key}", value))
        elif isinstance(value, dict):
            out += option_seeds(value, f"{prefix}{key}.")
    return out


def seeded(study: Study, table: str) -> set[int]:
    """The columns of a table whose spec draws with a seed: their statistics and frames must
    agree exactly."""
    return {s.column for s in study.table_specs(table) if option_seeds(s.options.model_dump())}


def read_ordered(con: duckdb.DuckDBPyConnection, relation: str) -> pd.DataFrame:
    """A results relation in one fixed row order, without the run's own columns."""
    frame = run.read_relation(con, relation, ordered=True)
    return frame.drop(columns=[c for c in RUN_COLUMNS if c in frame.columns])


def compare(expected: pd.DataFrame, got: pd.DataFrame, exact_columns: set[int], name: str
            ) -> Difference:
    """The largest relative difference between two results frames. Numbers agree within
    ``TOLERANCE`` relative (NaN equals NaN, and an infinite bound the same infinity, as an
    Anderson–Rubin set that is the whole line has); everything else, and every number of a row whose
    ``column`` is in ``exact_columns`` or of the ``wild_p`` column, must be equal (a difference
    of 1 in its relative terms)."""
    if list(expected.columns) != list(got.columns) or len(expected) != len(got):
        return Difference(math.inf, f"{name}: {len(got)} rows of {list(got.columns)} against "
                                    f"{len(expected)} of {list(expected.columns)}")
    exact_rows = (expected["column"].isin(exact_columns) if "column" in expected.columns
                  else pd.Series(False, index=expected.index))
    worst = Difference()
    for col in expected.columns:
        a, b = expected[col], got[col]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b) \
                and not pd.api.types.is_bool_dtype(a):
            a, b = a.astype(float), b.astype(float)
            both_nan = (a.isna() & b.isna()) | (a == b)    # equal infinities too
            scale = pd.concat([a.abs(), b.abs()], axis=1).max(axis=1)
            rel = ((a - b).abs() / scale.where(scale > 0, 1.0)).where(~both_nan, 0.0).fillna(1.0)
            exact = exact_rows | (col == "wild_p")
            rel = rel.where(~exact | (rel == 0) | both_nan, 1.0)
        else:
            rel = (~((a == b) | (a.isna() & b.isna()))).astype(float)
        if len(rel) and rel.max() > worst.relative:
            k = int(rel.to_numpy().argmax())
            worst = Difference(float(rel.iloc[k]), f"{name} row {k + 1} `{col}`: packaged "
                                                   f"{a.iloc[k]!r}, reproduced {b.iloc[k]!r}")
    return worst


def results_difference(con: duckdb.DuckDBPyConnection, study: Study, table: str,
                       packaged: list[str], reproduced: list[str]) -> Difference:
    """The largest difference between a table's packaged results tables and those the
    re-estimation wrote (a results table on one side only is a difference of its own)."""
    if set(packaged) != set(reproduced):
        return Difference(math.inf, f"results tables {sorted(reproduced)} reproduced, "
                                    f"{sorted(packaged)} packaged")
    worst = Difference()
    for name in sorted(packaged):
        expected = read_ordered(con, f'{PACKAGED}."{name}"')
        got = read_ordered(con, f'{run.RESULTS_SCHEMA}."{name}"')
        worst = worst.worse(compare(expected, got, seeded(study, table), name))
    return worst


def reestimate(con: duckdb.DuckDBPyConnection, study: Study, out_dir: Path) -> list[str]:
    """Every table and figure of the study, on the relations of ``con``; returns the results
    tables written."""
    out_dir.mkdir(exist_ok=True)
    for table in study.tables:
        run.run_table(con, study, table["table"], out_dir)
    for figure in study.figures:
        run.run_figure(con, study, figure, out_dir)
    return warehouse.table_names(con, run.RESULTS_SCHEMA)


def reproduce(root: Path = ROOT) -> list[tuple[str, bool]]:
    """Re-estimate and compare every exhibit of the package at ``root``: one line per exhibit,
    with whether it was reproduced."""
    (study_file,) = sorted((root / CODE).glob("*.yml"))
    study = load_study(path=study_file)
    con = duckdb.connect()
    relation_views(con, root / DATA)
    packaged = relation_views(con, root / RESULTS, schema=PACKAGED)
    written = reestimate(con, study, root / REPRODUCED)
    mine = {e.id: e.results for e in catalog.exhibits(study, written, root / REPRODUCED)
            if e.kind == "table"}
    lines, reproduced = [], {}
    for exhibit in catalog.exhibits(study, packaged, root / OUTPUTS):
        if exhibit.kind == "table":
            diff = results_difference(con, study, exhibit.id, exhibit.results,
                                      mine[exhibit.id])
            reproduced[exhibit.id] = diff.relative <= TOLERANCE
            verdict = (f"reproduced (largest relative difference {diff.relative:.1e})"
                       if reproduced[exhibit.id] else
                       f"NOT reproduced: largest relative difference {diff.relative:.3g} in "
                       f"{diff.where}")
            ok = reproduced[exhibit.id]
        else:
            (fig,) = [f for f in study.figures if f["figure"] == exhibit.id]
            tables = figure_tables(fig)
            failed = [t for t in tables if not reproduced.get(t)]
            ok = not failed
            verdict = (f"reproduced (redrawn from table {', '.join(tables)})" if ok
                       else f"NOT reproduced: table {', '.join(failed)} not reproduced")
        lines.append((f"{exhibit.kind} {exhibit.id} ({exhibit.asset}): {verdict}", ok))
    con.close()
    return lines


def main() -> int:
    started = time.perf_counter()
    lines = reproduce()
    print("\n".join(line for line, _ in lines))
    done = sum(ok for _, ok in lines)
    print(f"{done} of {len(lines)} exhibits reproduced in "
          f"{time.perf_counter() - started:.1f} s")
    return 0 if done == len(lines) else 1


if __name__ == "__main__":
    sys.exit(main())
