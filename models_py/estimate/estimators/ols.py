"""OLS with fixed effects: pyfixest ``feols`` of the spec's formula, CRV1 by its cluster (one
variable, or two-way as ``a+b``), with wild cluster bootstrap p-values for the regressors when
the spec asks for them (option ``wild_bootstrap``, :mod:`.wild_bootstrap`)."""
from __future__ import annotations

import warnings

import pandas as pd
import pyfixest as pf

from models_py.estimate.estimators import timing, wild_bootstrap
from models_py.estimate.study import Spec
from models_py.estimate.tidy import Estimate, from_pyfixest, term_name

LABEL = "OLS"

WildBootstrap = wild_bootstrap.Settings


class Options(timing.Panel):
    wild_bootstrap: WildBootstrap | None = None

BIG_FIT_ROWS = 50_000  # above this, fit lean (no data or residuals kept on the model)


def feols(formula: str, data: pd.DataFrame, spec: Spec, keep_data: bool = False, **kwargs):
    """pyfixest ``feols`` with the spec's vcov, lean on big samples unless ``keep_data``,
    warnings silenced."""
    lean = len(data) > BIG_FIT_ROWS and not keep_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data=data, vcov=spec.vcov, store_data=not lean,
                        copy_data=not lean, lean=lean, **kwargs)


def reported(model, names) -> dict[str, str]:
    """The model's coefficients that report the given terms: raw name -> term name."""
    wanted = set(names)
    return {raw: term_name(raw)[0] for raw in model.coef().index
            if term_name(raw)[0] in wanted}


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    boot = wild_bootstrap.settings(spec)
    if boot:
        data = wild_bootstrap.with_cluster_codes(data, spec)
    model = feols(spec.formula, data, spec, keep_data=bool(boot))
    est = from_pyfixest(model, spec.formula)
    if boot:
        terms = reported(model, spec.regressors)
        est.terms = wild_bootstrap.attach(
            est.terms, wild_bootstrap.p_values(model, list(terms), spec), terms)
        est.statistics["wild_reps"] = float(boot.reps)
    return est
