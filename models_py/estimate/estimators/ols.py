"""OLS with fixed effects: pyfixest ``feols`` of the spec's formula, CRV1 by its cluster."""
from __future__ import annotations

import warnings

import pandas as pd
import pyfixest as pf

from models_py.estimate.specs import Spec
from models_py.estimate.tidy import Estimate, from_pyfixest

BIG_FIT_ROWS = 50_000  # above this, fit lean (no data or residuals kept on the model)


def feols(formula: str, data: pd.DataFrame, spec: Spec, **kwargs):
    """pyfixest ``feols`` with the spec's vcov, lean on big samples, warnings silenced."""
    big = len(data) > BIG_FIT_ROWS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data=data, vcov=spec.vcov, store_data=not big,
                        copy_data=not big, lean=big, **kwargs)


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    return from_pyfixest(feols(spec.formula, data, spec), spec.formula)
