"""The within transformation: many columns demeaned by fixed effects in one batch.

pyfixest's demeaner (alternating projections) takes an (n, k) matrix. Its tolerance is on
absolute changes, so each column is scaled to unit standard deviation first and scaled back
after: a column in the hundred thousands (an instrument) converges as tightly as a 0/1 one.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pyfixest.estimation import demean

TOL = 1e-12
MAX_ITERATIONS = 100_000


def fixed_effect_codes(data: pd.DataFrame, fixed_effects) -> np.ndarray:
    """(n, f) integer codes of the fixed-effect columns."""
    return np.column_stack([pd.factorize(data[f])[0] for f in fixed_effects])


def demeaned(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``x`` (n, k) minus its projection on the fixed effects given by ``codes`` (n, f)."""
    x = np.asarray(x, float)
    scale = x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    out, converged = demean(x / scale, codes.astype(np.uint64), np.ones(len(x)), tol=TOL,
                            maxiter=MAX_ITERATIONS)
    if not converged:
        raise RuntimeError(f"fixed-effect demeaning did not converge in {MAX_ITERATIONS} "
                           "iterations")
    return out * scale


def without_singletons(data: pd.DataFrame, fixed_effects) -> pd.DataFrame:
    """``data`` without the rows pyfixest drops before fitting (its default ``fixef_rm``):
    rows alone in a fixed-effect level, repeatedly, until no level has a single row."""
    keep = pd.Series(True, index=data.index)
    while fixed_effects:
        single = pd.Series(False, index=data.index)
        for name in fixed_effects:
            counts = data.loc[keep, name].map(data.loc[keep, name].value_counts())
            single.loc[counts.index] |= counts.to_numpy() == 1
        if not single.any():
            break
        keep &= ~single
    return data[keep].reset_index(drop=True)
