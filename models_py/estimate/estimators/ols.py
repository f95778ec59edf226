"""OLS with fixed effects: pyfixest ``feols`` of the spec's formula, CRV1 by its cluster (one
variable, or two-way as ``a+b``) or dyadic-robust (``dyadic(a, b)``, :func:`dyadic_vcov`),
with wild cluster bootstrap p-values for the regressors when the spec asks for them (option
``wild_bootstrap``, :mod:`.wild_bootstrap`)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf

from models_py.estimate import pyfixest_model
from models_py.estimate.estimators import timing, variance, wild_bootstrap, within
from models_py.estimate.study import Spec
from models_py.estimate.tidy import Estimate, from_pyfixest, term_name

LABEL = "OLS"

WildBootstrap = wild_bootstrap.Settings


class Options(timing.Panel):
    wild_bootstrap: WildBootstrap | None = None

BIG_FIT_ROWS = 50_000  # above this, fit lean (no data or residuals kept on the model)


def feols(formula: str, data: pd.DataFrame, spec: Spec, keep_data: bool = False, **kwargs):
    """pyfixest ``feols`` with the spec's vcov, lean on big samples unless ``keep_data``,
    warnings silenced; a dyadic spec's covariance is :func:`dyadic_vcov`."""
    dyadic = spec.clustering.kind == "dyadic"
    if dyadic:
        if formula.count("~") > 1 or "weights" in kwargs:
            raise ValueError(f"{spec.kind}: dyadic standard errors are computed for unweighted "
                             f"OLS only, not for {formula!r}"
                             + (" with weights" if "weights" in kwargs else ""))
        data = within.without_singletons(data, list(spec.fixed_effects))
    lean = len(data) > BIG_FIT_ROWS and not (keep_data or dyadic)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pf.feols(formula, data=data, vcov=spec.vcov, store_data=not lean,
                         copy_data=not lean, lean=lean, **kwargs)
    if dyadic:
        matrix, members = dyadic_vcov(model, data, spec.cluster)
        pyfixest_model.replace_vcov(model, matrix, members)
    return model


def dyadic_vcov(model, data: pd.DataFrame, cluster: str) -> tuple[np.ndarray, int]:
    """Cameron and Miller's (2014) dyadic-robust covariance of an OLS fit on pairs
    (``dyadic(a, b)``): (X'X)^-1 M (X'X)^-1, with X the regressors demeaned by the fixed
    effects, M the sum of x_i u_i u_j x_j' over every two rows that share a member
    (:func:`.variance.meat`), and CRV1's small-sample factor with G the number of members,
    G / (G - 1) (N - 1) / (N - K), K counted as pyfixest counts it for the fit clustered by
    the first member. Also the number of members (t tests on G - 1 degrees of freedom)."""
    x = pyfixest_model.design(model)
    if len(x) != len(data):
        raise ValueError(f"dyadic standard errors: pyfixest fitted {len(x)} of {len(data)} rows")
    codes = variance.cluster_codes(data, cluster)
    members = int(codes.count)
    bread = np.linalg.inv(x.T @ x)
    meat = variance.meat(x * np.asarray(model.resid(), float)[:, None], codes)
    first = pyfixest_model.n_clusters(model)    # pyfixest's G in its factor
    factor = pyfixest_model.small_sample_factor(model) * (first - 1) / first \
        * members / (members - 1)
    return factor * bread @ meat @ bread, members


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
