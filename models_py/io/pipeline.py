"""Industrial transfer for every CEADs table in the warehouse: read, solve, check, tabulate.

A table year whose identities fail also names its failing rows: a sample of the region-sector
rows whose output, driven by all final demand and exports, is not their gross output (or is
not finite), largest error first."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from models_py.io import leontief
from models_py.io.table import MrioTable, read_warehouse
from models_py.quality import SAMPLE_ROWS

# The raw source the step reads, every table of it (raw.ceads_*).
SOURCE = "ceads_mrio"
# Relative tolerance of the accounting identities (row balance, X summed over consumers plus
# export-driven output = gross output); column sums of A must be below 1 and nothing non-finite.
IDENTITY_TOLERANCE = 1e-6


@dataclass
class TransferRun:
    output_by_city: pd.DataFrame        # io.output_by_city
    transfer: pd.DataFrame              # io.transfer
    identities: dict[int, dict[str, float]]
    failed: dict[int, list[str]]        # year -> identities that do not hold
    failing_rows: dict[int, dict]       # year of a failed table -> count and sample of its rows
    seconds: dict[int, float]           # year -> read + solve time


def run(con: duckdb.DuckDBPyConnection, schema: str = "raw", threads: int | None = None,
        progress: Callable[[str], None] | None = None) -> TransferRun:
    """Solve every table year in ``schema.ceads_*`` with one LU factorization each (one table's
    n x n block in memory at a time) and build the output and transfer tables. ``progress``
    gets a line as each table year is read and solved (a full-size year takes about half a
    minute)."""
    say = progress or (lambda _: None)
    years = [y for (y,) in con.execute(
        f"SELECT DISTINCT year FROM {schema}.ceads_region ORDER BY year").fetchall()]
    outputs, identities, seconds, failed, failing_rows = [], {}, {}, {}, {}
    for k, year in enumerate(years, start=1):
        started = time.perf_counter()
        table = read_warehouse(con, year, schema)
        say(f"[{k}/{len(years)}] table year {year}: read {table.n:,} region-sectors in "
            f"{time.perf_counter() - started:.1f}s; solving (I - A) X = Y")
        solution = leontief.solve_output(table, overwrite=True, threads=threads)
        identities[year] = leontief.identities(table, solution)
        if found := leontief.failed_identities(identities[year], IDENTITY_TOLERANCE):
            failed[year] = found
            failing_rows[year] = output_failures(table, solution)
        outputs.append(leontief.city_output(solution))
        seconds[year] = round(time.perf_counter() - started, 2)
        say(f"[{k}/{len(years)}] table year {year}: solved in {seconds[year]}s")
    output_by_city, transfer = leontief.output_table(outputs), leontief.transfer_table(outputs)
    if not years:  # no CEADs table (the source is absent): empty tables of the usual types
        output_by_city, transfer = _typed(output_by_city), _typed(transfer)
    return TransferRun(output_by_city, transfer, identities, failed, failing_rows, seconds)


def output_failures(table: MrioTable, solution: leontief.Solution,
                    limit: int = SAMPLE_ROWS) -> dict:
    """The rows of one solved table where the output identity of
    :func:`leontief.output_identity_error` misses by more than ``IDENTITY_TOLERANCE``, or where
    a value is not finite: how many, and the ``limit`` worst with region, sector, gross output,
    the driven output and the relative error."""
    driven = solution.X.sum(axis=1) + solution.x_rest
    with np.errstate(invalid="ignore"):
        error = np.abs(driven - table.GO) / np.maximum(1.0, np.abs(table.GO))
    error = np.where(np.isfinite(error), error, np.inf)
    bad = np.flatnonzero(error > IDENTITY_TOLERANCE)
    worst = bad[np.argsort(-error[bad], kind="stable")][:limit]
    regions, sectors = table.row_regions(), table.row_sectors()
    return {"count": int(len(bad)), "rows": [
        {"region": str(regions[r]), "sector": str(sectors[r]),
         "gross_output": _number(table.GO[r]), "driven_output": _number(driven[r]),
         "relative_error": _number(error[r])} for r in worst]}


def _number(value) -> float | None:
    """A float for JSON: None where it is NaN or infinite."""
    return float(value) if np.isfinite(value) else None


# Column types of the io tables that are not float64, so that empty tables keep them.
_TYPES = {"year": "int32", "producer_city_id": "str", "consumer_city_id": "str",
          "period": "str", "city_i": "str", "city_j": "str", "it_direction": "int8"}


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: _TYPES.get(c, "float64") for c in frame.columns})
