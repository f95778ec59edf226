"""What the estimation layer reads from a fitted pyfixest model that pyfixest's public API does
not give: the number of observations, R² and within R², the coefficient covariance matrix, the
cluster counts, the design matrix, the small-sample factor of the covariance and the degrees of
freedom of its t tests.

pyfixest (0.60) exposes coefficients, standard errors, t, p, confidence intervals, residuals
and the tidy table as methods (``coef()``, ``se()``, ``tidy()``, ``confint()``, ``resid()``);
everything else lives in private attributes. This module is the only place that reads or writes
them, and the only one that changes pyfixest: it makes pyfixest sweep out fixed effects in the
formula's order (below). A missing attribute (renamed by a pyfixest upgrade) raises :class:`PyfixestAttributeMissing`
naming the attribute and the installed pyfixest version, rather than a value silently becoming
NaN (and an R² row silently vanishing from every table). ``tests/test_pyfixest_model.py`` pins
each attribute on the installed version against public quantities.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pyfixest
from pyfixest.estimation.formula import model_matrix as pyfixest_model_matrix
from pyfixest.estimation.formula import utils as pyfixest_formula_utils

PRIVATE = {   # what the estimation layer reads -> the private attribute that holds it
    "n_obs": "_N",
    "r2": "_r2",
    "r2_within": "_r2_within",
    "vcov": "_vcov",
    "n_clusters": "_G",
    "design": "_X",
    "small_sample_factor": "_ssc",
    "df_t": "_df_t",
}


class PyfixestAttributeMissing(AttributeError):
    """A fitted pyfixest model lacks a private attribute this module reads."""


def _read(model, what: str):
    name = PRIVATE[what]
    try:
        return getattr(model, name)
    except AttributeError:
        raise PyfixestAttributeMissing(
            f"pyfixest {pyfixest.__version__}: {type(model).__name__} has no attribute "
            f"{name!r} (the model's {what.replace('_', ' ')}); "
            f"models_py/estimate/pyfixest_model.py reads it and needs updating for this "
            f"pyfixest version") from None


def n_obs(model) -> int:
    """Observations the model was fitted on (after dropping rows with missing values)."""
    return int(_read(model, "n_obs"))


def r2(model) -> float:
    """R² (NaN where pyfixest computes none, e.g. an IV fit)."""
    return float(_read(model, "r2"))


def r2_within(model) -> float:
    """R² within the fixed effects (NaN without fixed effects)."""
    return float(_read(model, "r2_within"))


def vcov(model) -> np.ndarray:
    """The coefficient covariance matrix, in the order of ``model.coef()``."""
    return np.asarray(_read(model, "vcov"), float)


def n_clusters(model) -> float:
    """Clusters of a clustered fit, the smaller dimension of a two-way one; NaN otherwise."""
    g = _read(model, "n_clusters")
    return math.nan if not np.size(g) else float(np.min(np.ravel(g)))


def design(model) -> np.ndarray:
    """The regressor matrix the coefficients were estimated on (demeaned by the fixed effects),
    one column per coefficient."""
    return np.asarray(_read(model, "design"), float)


def small_sample_factor(model) -> float:
    """The factor pyfixest multiplies the model's sandwich covariance by (HC1: N / (N - K);
    CRV1: G / (G - 1) (N - 1) / (N - K), the same for each part of a two-way one)."""
    return float(np.ravel(_read(model, "small_sample_factor"))[0])


def df_t(model) -> float:
    """Degrees of freedom of the model's t tests (G - 1 clustered, N - K otherwise)."""
    return float(np.min(np.ravel(_read(model, "df_t"))))


def replace_vcov(model, matrix: np.ndarray, clusters: int) -> None:
    """Give the model a covariance matrix computed outside pyfixest (``clusters`` clusters) and
    recompute its standard errors, t, p and confidence intervals from it, with t tests on
    ``clusters`` - 1 degrees of freedom (as pyfixest's clustered ones)."""
    for what in ("vcov", "n_clusters", "df_t"):
        _read(model, what)
    setattr(model, PRIVATE["vcov"], np.asarray(matrix, float))
    setattr(model, PRIVATE["n_clusters"], [int(clusters)])
    setattr(model, PRIVATE["df_t"], int(clusters) - 1)
    model.get_inference()


# pyfixest 0.60 reads a formula's fixed effects through a ``set``
# (``formula.utils._encode_fixed_effects``), so the order its alternating projections sweep them
# out in follows Python's string hashing, which differs from process to process
# (PYTHONHASHSEED). The projections stop at an absolute tolerance of 1e-8, so two processes
# fitting the same rows got standard errors that differed from the ninth digit on (up to 2e-5
# relative for a PSM-DID). Importing this module makes pyfixest take them in the formula's order.
_encode_one_fixed_effect = pyfixest_formula_utils._encode_fixed_effects


def encode_fixed_effects_in_formula_order(fixed_effects: str, data) -> str:
    """pyfixest's encoding of ``fixed_effects`` ("a + b^c"), each fixed effect encoded by
    pyfixest itself, joined in the order of the formula."""
    names = dict.fromkeys(re.split(r"\s*\+\s*", fixed_effects))
    terms = [_encode_one_fixed_effect(name, data).removesuffix(" - 1") for name in names]
    return f"{' + '.join(terms)} - 1"


pyfixest_model_matrix._encode_fixed_effects = encode_fixed_effects_in_formula_order
