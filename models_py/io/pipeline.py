"""Industrial transfer for every CEADs table in the warehouse: read, solve, check, tabulate."""
from __future__ import annotations

import time
from dataclasses import dataclass

import duckdb
import pandas as pd

from models_py.io import leontief
from models_py.io.table import read_warehouse

# Relative tolerance of the accounting identities (row balance, X summed over consumers plus
# export-driven output = gross output); column sums of A must be below 1 and nothing non-finite.
IDENTITY_TOLERANCE = 1e-6


@dataclass
class TransferRun:
    output_by_city: pd.DataFrame        # io.output_by_city
    transfer: pd.DataFrame              # io.transfer
    identities: dict[int, dict[str, float]]
    failed: dict[int, list[str]]        # year -> identities that do not hold
    seconds: dict[int, float]           # year -> read + solve time


def run(con: duckdb.DuckDBPyConnection, schema: str = "raw", threads: int | None = None
        ) -> TransferRun:
    """Solve every table year in ``schema.ceads_*`` with one LU factorization each (one table's
    n x n block in memory at a time) and build the output and transfer tables."""
    years = [y for (y,) in con.execute(
        f"SELECT DISTINCT year FROM {schema}.ceads_region ORDER BY year").fetchall()]
    outputs, identities, seconds = [], {}, {}
    for year in years:
        started = time.perf_counter()
        table = read_warehouse(con, year, schema)
        solution = leontief.solve_output(table, overwrite=True, threads=threads)
        identities[year] = leontief.identities(table, solution)
        outputs.append(leontief.city_output(solution))
        seconds[year] = round(time.perf_counter() - started, 2)
    failed = {y: f for y, v in identities.items()
              if (f := leontief.failed_identities(v, IDENTITY_TOLERANCE))}
    output_by_city, transfer = leontief.output_table(outputs), leontief.transfer_table(outputs)
    if not years:  # no CEADs table (the source is absent): empty tables of the usual types
        output_by_city, transfer = _typed(output_by_city), _typed(transfer)
    return TransferRun(output_by_city, transfer, identities, failed, seconds)


# Column types of the io tables that are not float64, so that empty tables keep them.
_TYPES = {"year": "int32", "producer_city_id": "str", "consumer_city_id": "str",
          "period": "str", "city_i": "str", "city_j": "str", "it_direction": "int8"}


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: _TYPES.get(c, "float64") for c in frame.columns})
