"""Variance inflation factors of a spec's regressors and controls.

VIF_j = 1 / (1 - R²_j), R²_j from regressing regressor j on the others with an intercept (the
pooled regressors, as Stata's ``estat vif`` after ``regress``). The estimate column of each
term holds its VIF; the frame ``vif`` adds the tolerance 1/VIF.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from models_py.estimate.estimators import timing
from models_py.estimate.study import Spec
from models_py.estimate.tidy import TERM_COLUMNS, Estimate

LABEL = "VIF"


class Options(timing.Panel):
    """No options beyond the panel's."""


def variance_inflation(x: pd.DataFrame) -> pd.Series:
    """VIF of every column of ``x`` (regressed on the other columns and a constant)."""
    out = {}
    values = x.to_numpy(float)
    for j, name in enumerate(x.columns):
        others = np.column_stack([np.ones(len(x)), np.delete(values, j, axis=1)])
        beta, *_ = np.linalg.lstsq(others, values[:, j], rcond=None)
        resid = values[:, j] - others @ beta
        centered = values[:, j] - values[:, j].mean()
        r2 = 1 - resid @ resid / (centered @ centered)
        out[name] = 1 / (1 - r2) if r2 < 1 else math.inf
    return pd.Series(out)


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    names = list(dict.fromkeys([*spec.regressors, *spec.control_vars]))
    v = variance_inflation(data[names])
    terms = pd.DataFrame({"term": v.index, "estimate": v.to_numpy()}).reindex(
        columns=TERM_COLUMNS)
    frame = pd.DataFrame({"term": v.index, "vif": v.to_numpy(), "tolerance": 1 / v.to_numpy()})
    return Estimate(terms=terms, n_obs=len(data), formula=" + ".join(names),
                    statistics={"max_vif": float(v.max()), "mean_vif": float(v.mean())},
                    frames={"vif": frame})
