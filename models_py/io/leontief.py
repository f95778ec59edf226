"""Leontief output of a city MRIO table by consuming city, and industrial transfer between
table years (seed 003, after Liu Hongguang et al. 2011).

For one table: A = Z diag(1/GO) (a column with GO = 0 has zero coefficients), y_j the sum of
city j's five final-use categories, and X solving (I - A) X = Y for all cities j at once. X is
never formed through the inverse: I - A is built in the memory of one n x n array and factored
once (LAPACK getrf through ``scipy.linalg.lu_factor``); every right-hand side goes through the
same factors. At 309 cities x 42 sectors (n = 12,978) the factorization is the whole cost.

City level: X_ij = sum over sectors s of X[(i, s), j], the output of city i driven by city j's
final demand; per factor-intensity class c (labor, capital, technology) the sum runs over the
sectors of c only. Exports are left out of Y.

Industrial transfer from city i to city j between years t and t+1: T_ij = dX_ji, the change in
the output of city j driven by city i's final demand; IT_ij = sign(T) ln(1 + |T|) and
IT_direction_ij = 1 if T_ij > 0. T^c_ij = sum over s in c of dX[(j, s), i].
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg
from threadpoolctl import threadpool_limits

from models_py import reference
from models_py.io.table import MrioTable

CLASSES = ("labor", "capital", "technology")


@dataclass
class Solution:
    """Output of every region-sector row driven by each consuming city's final demand."""
    year: int
    regions: tuple[str, ...]
    sectors: tuple[str, ...]
    X: np.ndarray                      # n x regions
    x_rest: np.ndarray                 # n: output driven by EX - ERR (exports, errors)
    row_balance: float                 # row_balance_error of the table, before solving
    max_column_sum: float              # largest column sum of A


@dataclass
class CityOutput:
    """City-level output: ``x[i, j]`` is the output of city i driven by city j's final demand;
    ``by_class[c]`` the same over the sectors of factor-intensity class c."""
    year: int
    regions: tuple[str, ...]
    x: np.ndarray
    by_class: dict[str, np.ndarray]


def default_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def inverse_output(GO: np.ndarray) -> np.ndarray:
    """1/GO, and 0 where GO == 0 (such a column of A is all zeros)."""
    GO = np.asarray(GO, dtype=float)
    return np.divide(1.0, GO, out=np.zeros_like(GO), where=GO != 0)


def final_demand(table: MrioTable) -> np.ndarray:
    """y: n x regions, column j the sum of city j's five final-use categories."""
    return table.Y_cat.sum(axis=2)


def solve_output(table: MrioTable, *, overwrite: bool = False,
                 threads: int | None = None) -> Solution:
    """X with (I - A) X = [y_1 .. y_R], and x_rest with (I - A) x_rest = EX - ERR.

    One LU factorization of I - A. With ``overwrite`` the table's Z is turned into I - A and
    then into its LU factors in place (no n x n copy) and released: ``table.Z`` is None
    afterwards. ``threads`` caps the BLAS threads (default: every core this process may use).
    """
    n = table.n
    balance, column_sum = row_balance_error(table), max_column_sum(table)
    M = _identity_minus_a(table.Z if overwrite else np.array(table.Z, order="F"), table.GO)
    rhs = np.empty((n, len(table.regions) + 1), order="F")
    rhs[:, :-1] = final_demand(table)
    rhs[:, -1] = table.EX - table.ERR
    with threadpool_limits(limits=threads or default_threads(), user_api="blas"):
        factors, transposed = _lu_in_place(M)
        out = scipy.linalg.lu_solve(factors, rhs, trans=1 if transposed else 0,
                                    overwrite_b=True, check_finite=False)
    if overwrite:
        table.Z = None
    return Solution(table.year, table.regions, table.sectors, out[:, :-1], out[:, -1],
                    balance, column_sum)


def _identity_minus_a(M: np.ndarray, GO: np.ndarray) -> np.ndarray:
    """Turn Z (in ``M``) into I - A = I - Z diag(1/GO), in place."""
    np.multiply(M, -inverse_output(GO)[None, :], out=M)
    diagonal = np.arange(M.shape[0])
    M[diagonal, diagonal] += 1.0
    return M


def _lu_in_place(M: np.ndarray):
    """LU factors of M without a copy: M itself if Fortran-ordered, else its transpose
    (then solves use trans=1)."""
    if M.flags.f_contiguous:
        return scipy.linalg.lu_factor(M, overwrite_a=True, check_finite=False), False
    if M.flags.c_contiguous:
        return scipy.linalg.lu_factor(M.T, overwrite_a=True, check_finite=False), True
    return scipy.linalg.lu_factor(np.asfortranarray(M), overwrite_a=True,
                                  check_finite=False), False


def sector_classes(sectors: Iterable[str]) -> dict[str, np.ndarray]:
    """Class -> boolean mask over ``sectors`` (reference.sectors().factor_intensity)."""
    ref = reference.sectors().set_index("sector_code")["factor_intensity"]
    labels = np.array([ref.get(s, "unclassified") for s in sectors])
    return {c: labels == c for c in CLASSES}


def city_output(solution: Solution) -> CityOutput:
    """Sum X over the sectors of each producing city, in total and per class."""
    R, S = len(solution.regions), len(solution.sectors)
    cube = solution.X.reshape(R, S, R)
    masks = sector_classes(solution.sectors)
    return CityOutput(solution.year, solution.regions, cube.sum(axis=1),
                      {c: cube[:, mask, :].sum(axis=1) for c, mask in masks.items()})


def signed_log(T: np.ndarray) -> np.ndarray:
    """sign(T) ln(1 + |T|)."""
    return np.sign(T) * np.log1p(np.abs(T))


def transfer(before: CityOutput, after: CityOutput) -> dict[str, np.ndarray | tuple]:
    """T (and T per class) from ``before`` to ``after`` over the cities both tables hold.

    ``T[i, j]`` = dX[j, i]: the change in city j's output driven by city i's final demand.
    """
    in_after = set(after.regions)
    cities = tuple(c for c in before.regions if c in in_after)
    a = [before.regions.index(c) for c in cities]
    b = [after.regions.index(c) for c in cities]

    def delta(x_before: np.ndarray, x_after: np.ndarray) -> np.ndarray:
        return (x_after[np.ix_(b, b)] - x_before[np.ix_(a, a)]).T

    out: dict[str, np.ndarray | tuple] = {"cities": cities, "total": delta(before.x, after.x)}
    for c in CLASSES:
        out[c] = delta(before.by_class[c], after.by_class[c])
    return out


def output_table(outputs: Iterable[CityOutput]) -> pd.DataFrame:
    """``io_output_by_city``: year, producer and consumer city, x and x per class (万元)."""
    frames = []
    for o in outputs:
        R = len(o.regions)
        ids = np.array(o.regions, dtype=object)
        frame = {"year": np.full(R * R, o.year, dtype=np.int32),
                 "producer_city_id": np.repeat(ids, R), "consumer_city_id": np.tile(ids, R),
                 "x": o.x.ravel()}
        for c in CLASSES:
            frame[f"x_{c}"] = o.by_class[c].ravel()
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["year", "producer_city_id", "consumer_city_id", "x",
                 *(f"x_{c}" for c in CLASSES)])


def transfer_table(outputs: Iterable[CityOutput]) -> pd.DataFrame:
    """``io_transfer``: one row per period (consecutive table years) and ordered city pair
    i != j: transfer, it, it_direction, and transfer/it per class."""
    ordered = sorted(outputs, key=lambda o: o.year)
    frames = []
    for before, after in zip(ordered, ordered[1:]):
        t = transfer(before, after)
        cities = np.array(t["cities"], dtype=object)
        R = len(cities)
        off = ~np.eye(R, dtype=bool).ravel()
        total = t["total"].ravel()[off]
        frame = {"period": f"{before.year}-{after.year}",
                 "city_i": np.repeat(cities, R)[off], "city_j": np.tile(cities, R)[off],
                 "transfer": total, "it": signed_log(total),
                 "it_direction": (total > 0).astype(np.int8)}
        for c in CLASSES:
            values = t[c].ravel()[off]
            frame[f"transfer_{c}"] = values
            frame[f"it_{c}"] = signed_log(values)
        frames.append(pd.DataFrame(frame))
    columns = ["period", "city_i", "city_j", "transfer", "it", "it_direction",
               *(f"{p}_{c}" for c in CLASSES for p in ("transfer", "it"))]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


# --------------------------------------------------------------------------------------------
# Accounting identities: each returns the largest error found (relative to max(1, |GO|))

def row_balance_error(table: MrioTable) -> float:
    """max |Z row sum + final use + EX - ERR - GO| / max(1, |GO|)."""
    lhs = table.Z.sum(axis=1) + table.Y_cat.sum(axis=(1, 2)) + table.EX - table.ERR
    return _max_relative(lhs, table.GO)


def max_column_sum(table: MrioTable) -> float:
    """The largest column sum of A; an economy that produces anything has all of them < 1."""
    if table.n == 0:
        return 0.0
    return float((table.Z.sum(axis=0) * inverse_output(table.GO)).max())


def output_identity_error(table: MrioTable, solution: Solution) -> float:
    """max |sum_j X[:, j] + L (EX - ERR) - GO| / max(1, |GO|): the output every city's final
    demand drives, plus what exports and the error column drive, is gross output."""
    return _max_relative(solution.X.sum(axis=1) + solution.x_rest, table.GO)


def nonfinite_count(*arrays: np.ndarray) -> int:
    """Number of NaN or infinite entries."""
    return int(sum(np.size(a) - np.count_nonzero(np.isfinite(a)) for a in arrays))


def identities(table: MrioTable, solution: Solution) -> dict[str, float]:
    """Every identity of a solved table (row balance and column sums as they were before the
    solve, so a table solved with ``overwrite`` can be checked too)."""
    return {"row_balance": solution.row_balance,
            "max_column_sum": solution.max_column_sum,
            "output_identity": output_identity_error(table, solution),
            "nonfinite": float(nonfinite_count(solution.X, solution.x_rest, table.GO))}


def failed_identities(values: dict[str, float], tolerance: float = 1e-9) -> list[str]:
    """The identities of :func:`identities` that do not hold, with their values."""
    failed = []
    for name, value in values.items():
        ok = {"max_column_sum": value < 1.0, "nonfinite": value == 0}.get(name, value <= tolerance)
        if not ok or not np.isfinite(value):
            failed.append(f"{name} = {value:.3g}")
    return failed


def _max_relative(lhs: np.ndarray, go: np.ndarray) -> float:
    if len(go) == 0:
        return 0.0
    return float((np.abs(lhs - go) / np.maximum(1.0, np.abs(go))).max())
