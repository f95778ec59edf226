"""What the estimation layer reads from a fitted pyfixest model that pyfixest's public API does
not give: the number of observations, R² and within R², the coefficient covariance matrix, the
cluster counts, the design matrix, and an IV fit's first-stage F statistics.

pyfixest (0.60) exposes coefficients, standard errors, t, p, confidence intervals, residuals
and the tidy table as methods (``coef()``, ``se()``, ``tidy()``, ``confint()``, ``resid()``);
everything else lives in private attributes. This module is the only place that reads or writes
them. A missing attribute (renamed by a pyfixest upgrade) raises :class:`PyfixestAttributeMissing`
naming the attribute and the installed pyfixest version, rather than a value silently becoming
NaN (and an R² row silently vanishing from every table). ``tests/test_pyfixest_model.py`` pins
each attribute on the installed version against public quantities.
"""
from __future__ import annotations

import math

import numpy as np
import pyfixest

PRIVATE = {   # what the estimation layer reads -> the private attribute that holds it
    "n_obs": "_N",
    "r2": "_r2",
    "r2_within": "_r2_within",
    "vcov": "_vcov",
    "n_clusters": "_G",
    "design": "_X",
    "effective_f": "_eff_F",
    "first_stage_f": "_f_stat_1st_stage",
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


def first_stage_statistics(model) -> dict[str, float]:
    """Olea-Pflueger effective F and the first-stage F of an IV fit (after ``IV_Diag()``)."""
    return {"effective_f": float(_read(model, "effective_f")),
            "first_stage_f": float(_read(model, "first_stage_f"))}


def replace_vcov(model, matrix: np.ndarray, clusters: int) -> None:
    """Give the model a covariance matrix computed outside pyfixest (``clusters`` clusters) and
    recompute its standard errors, t, p and confidence intervals from it."""
    _read(model, "vcov")
    _read(model, "n_clusters")
    setattr(model, PRIVATE["vcov"], np.asarray(matrix, float))
    setattr(model, PRIVATE["n_clusters"], [int(clusters)])
    model.get_inference()
