"""Wild cluster bootstrap p-values beside the clustered standard errors (pyfixest's
``wildboottest``), for panels with few clusters.

With a few dozen clusters, cluster-robust t tests over-reject; the wild cluster bootstrap with
the null imposed (WCR, Cameron, Gelbach and Miller 2008) keeps its size. Option
``wild_bootstrap: {reps, weights, seed}`` (:class:`Settings`; defaults 9,999 replications, Webb's six-point weights,
which stay informative with under a dozen clusters where Rademacher weights run out of distinct
draws) adds a bootstrap p-value to every reported regressor of an OLS spec, with the spec's
cluster; the draws are seeded, so the p-values are reproducible.

The p-value is the share of bootstrap statistics at least as large in absolute value as the
observed one. Ties are common: with a dozen clusters or fewer, the draws repeat, and the draw
that gives every cluster weight 1 (or -1) reproduces the observed statistic exactly, computed
along another path. Which way rounding puts such a draw, a hair above or below the observed
statistic, depends on the order of the rows, and would move p by one draw. So a bootstrap
statistic within ``TIE_TOLERANCE`` (relative) of the observed one is a tie, and a tie counts.

pyfixest expands the fixed effects into dummies for the bootstrap, so it is meant for panels
such as provinces x years, not for tens of thousands of fixed-effect levels; it takes one
cluster variable and no weights or IV (the ``iv`` kind bootstraps its reduced form instead).

wildboottest 0.3.2 computes the bootstrap denominators (cluster-robust variance, CRV1) in a
numba function it defines inside the method, so numba compiles it anew on every call: 0.75 s
of compiling per bootstrapped coefficient, against milliseconds of arithmetic.
:func:`crv1_denominators` is the same arithmetic as matrix products, installed in its place for
that version (:data:`VECTORIZED_FOR`); ``tests/test_estimate_kinds.py`` runs both side by side.
"""
from __future__ import annotations

import warnings
from importlib.metadata import version
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from wildboottest.wildboottest import WildboottestCL

from models_py.estimate.study import Spec

CODES = "_wild_cluster"          # integer cluster codes (the bootstrap needs numbers)
MAX_DUMMY_CELLS = 50_000_000     # rows x fixed-effect levels of the dense bootstrap design
# Relative distance below which a bootstrap statistic ties with the observed one: far above the
# rounding of the two computations (about 1e-15), far below any real difference of draws.
TIE_TOLERANCE = 1e-9


class Settings(BaseModel):
    """Option ``wild_bootstrap`` of the kinds that offer it (``ols``, ``iv``)."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    reps: int = 9999
    weights: Literal["webb", "rademacher", "mammen", "norm"] = "webb"
    seed: int = 20240601


def settings(spec: Spec) -> Settings | None:
    """The spec's bootstrap settings, or None if it asks for none."""
    return getattr(spec.options, "wild_bootstrap", None)


def with_cluster_codes(data: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """``data`` with the integer codes of the spec's cluster, which the bootstrap resamples.
    Codes follow the sorted cluster values, so a seed draws the same weight for the same
    cluster whatever the order of the rows."""
    if spec.clustering.kind != "one-way":
        raise ValueError(f"wild_bootstrap needs one cluster variable, got {spec.cluster!r}")
    levels = sum(data[f].nunique() for f in spec.fixed_effects)
    if len(data) * levels > MAX_DUMMY_CELLS:
        raise ValueError(f"wild_bootstrap expands {levels:,} fixed-effect levels into dummies "
                         f"for {len(data):,} rows; drop the option for this spec")
    return data.assign(**{CODES: pd.factorize(data[spec.cluster], sort=True)[0]})


def p_values(model, terms, spec: Spec) -> dict[str, float]:
    """Bootstrap p-value (two-sided, null imposed) of each named coefficient of a pyfixest
    model fitted on :func:`with_cluster_codes` data."""
    opt = settings(spec)
    out = {}
    for term in terms:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res, t_boot = model.wildboottest(
                reps=opt.reps, cluster=CODES, param=term, weights_type=opt.weights,
                seed=opt.seed, return_bootstrapped_t_stats=True)
        out[term] = two_sided_p(float(np.asarray(res["t value"]).ravel()[0]), t_boot)
    return out


def two_sided_p(t: float, t_boot) -> float:
    """Share of the bootstrap statistics ``t_boot`` at least as large in absolute value as the
    observed ``t``, a tie (within ``TIE_TOLERANCE``) counting as at least as large."""
    return float(np.mean(np.abs(np.asarray(t_boot, float).ravel())
                         >= abs(t) * (1 - TIE_TOLERANCE)))


def attach(terms: pd.DataFrame, p: dict[str, float], rename: dict[str, str] | None = None
           ) -> pd.DataFrame:
    """Term rows with ``wild_p`` filled for the bootstrapped terms (``rename`` maps a
    bootstrapped coefficient to the reported term it tests)."""
    rename = rename or {}
    values = {rename.get(k, k): v for k, v in p.items()}
    return terms.assign(wild_p=terms["term"].map(values).astype(float))


# --- the CRV1 denominators of wildboottest, vectorized ------------------------------------------

# The wildboottest release whose internals crv1_denominators reads (WildboottestCL's R, tXXinv,
# tXgXg_list, scores_mat, Cg, v and ssc).
VECTORIZED_FOR = "0.3.2"
UPSTREAM_GET_DENOM = WildboottestCL.get_denom


def crv1_denominators(boot: WildboottestCL) -> np.ndarray:
    """The B bootstrap variances of the tested coefficient, as wildboottest's loop computes
    them: with C_g the cluster scores' contributions and H[g, h] = R (X'X)^-1 X_g'X_g (X'X)^-1
    s_h, Z[g, b] = C_g v[g, b] - sum_h H[g, h] v[h, b], and the variance ssc * sum_g Z[g, b]^2."""
    left = np.stack([boot.R @ boot.tXXinv @ xgxg @ boot.tXXinv for xgxg in boot.tXgXg_list])
    h = left @ boot.scores_mat
    z = np.asarray(boot.Cg)[:, None] * boot.v - h @ boot.v
    return boot.ssc * np.einsum("gb,gb->b", z, z)


def _get_denom(self: WildboottestCL) -> None:
    if self.crv_type == "crv1":
        self.denom = crv1_denominators(self)
    else:
        UPSTREAM_GET_DENOM(self)


if version("wildboottest") == VECTORIZED_FOR:
    WildboottestCL.get_denom = _get_denom
