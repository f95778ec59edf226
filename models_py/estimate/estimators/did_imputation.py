"""Heterogeneity-robust DID: Gardner's two-stage estimator, whose point estimates equal the
Borusyak-Jaravel-Spiess imputation estimator.

Stage one fits the unit and time fixed effects (and the controls) on the untreated
observations only (``treatment`` = 0: never-treated units and the not-yet-treated years of the
others) and imputes every observation's untreated outcome; stage two regresses the outcome
minus that imputation on the treatment, so already-treated units never serve as controls and
staggered adoption with effects that vary by cohort or event time is not mis-weighted as in
TWFE. An observation whose unit or period has no untreated observation (a period in which every
unit is treated, say) has no imputed outcome and is left out; statistic ``rows_not_imputed``
counts them.

Standard errors are Gardner's GMM-corrected clustered errors, the formula of pyfixest's
``did2s``: with X1 the first-stage design (controls and fixed-effect dummies), X10 its untreated
rows, X2 the second-stage design and u1, u2 the two stages' residuals, cluster g contributes
W_g = X2_g'u2_g - (X1'X2)'(X10'X10)^-1 X10_g'u1_g and V = (X2'X2)^-1 (sum_g W_g W_g') (X2'X2)^-1.
Here X1 is held as a sparse matrix (``did2s`` builds it dense: rows x fixed-effect levels, tens of
GB for a city-pair panel) and the cluster may be two-way (``cluster: a+b``; Cameron, Gelbach and
Miller: V_a + V_b - V_ab).

Options: ``dynamic: true`` estimates one effect per event time (``i(event_time, ref=r)`` with
the ``window`` and ``reference`` of :mod:`.timing`), the joint pre-trend test and the
Rambachan-Roth sensitivity of the event study (its options and frame are the TWFE event
study's, :func:`.event_study.sensitivity`); otherwise one pooled ATT on the treatment
indicator.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
from scipy import sparse
from scipy.sparse.linalg import spsolve

from models_py.estimate import pyfixest_model
from models_py.estimate.estimators import event_study, timing
from models_py.estimate.study import Spec
from models_py.estimate.tidy import Estimate, from_pyfixest, pyfixest_vcov

RESIDUAL = "_imputation_residual"
LSQR_TOL = 1e-10   # pyfixest recovers fixed effects by lsqr; its default 1e-6 shows in the 4th digit
LABEL = "Imputation DID"


class Options(event_study.Sensitivity):
    dynamic: bool = False     # one effect per event time instead of one pooled ATT


def _dynamic(spec: Spec) -> bool:
    return spec.options.dynamic


def columns(spec: Spec) -> list[str]:
    cols = [timing.unit(spec), timing.period(spec), timing.treatment(spec)]
    return cols + ([timing.cohort(spec)] if _dynamic(spec) else [])


def derived(spec: Spec) -> list[str]:
    return [timing.EVENT_TIME] if _dynamic(spec) else []


def prepare(mart: pd.DataFrame, spec: Spec, inputs: dict) -> pd.DataFrame:
    return timing.with_event_time(mart, spec) if _dynamic(spec) else mart


def first_stage_design(data: pd.DataFrame, controls: list[str], fixed_effects: list[str]
                       ) -> sparse.csr_matrix:
    """Sparse X1: the controls, every level of the first fixed effect and every level but the
    first of the others (full column rank when the levels are connected)."""
    blocks = [sparse.csr_matrix(data[controls].to_numpy(float))] if controls else []
    n = len(data)
    for k, name in enumerate(fixed_effects):
        codes, levels = pd.factorize(data[name], sort=True)
        dummies = sparse.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, len(levels)))
        blocks.append(dummies if k == 0 else dummies[:, 1:])
    return sparse.hstack(blocks, format="csr")


def cluster_sums(contributions: np.ndarray, data: pd.DataFrame, cluster: str
                 ) -> tuple[np.ndarray, int]:
    """sum_g W_g W_g' of per-row score contributions (n, k) over the clusters of ``cluster``
    (``a+b``: two-way, V_a + V_b - V_ab), and the number of clusters (the smaller for two-way)."""
    def meat(codes: np.ndarray) -> np.ndarray:
        w = np.zeros((codes.max() + 1, contributions.shape[1]))
        np.add.at(w, codes, contributions)
        return w.T @ w

    names = [c.strip() for c in cluster.split("+")]
    codes = [pd.factorize(data[c])[0] for c in names]
    if len(codes) == 1:
        return meat(codes[0]), int(codes[0].max() + 1)
    if len(codes) != 2:
        raise ValueError(f"cluster {cluster!r}: one or two cluster variables, got {len(codes)}")
    both = pd.factorize(pd.Series(codes[0]).astype(str) + "_" + pd.Series(codes[1]).astype(str)
                        )[0]
    return (meat(codes[0]) + meat(codes[1]) - meat(both),
            int(min(codes[0].max(), codes[1].max()) + 1))


def gmm_vcov(x1: sparse.csr_matrix, untreated: np.ndarray, x2: np.ndarray, u1: np.ndarray,
             u2: np.ndarray, data: pd.DataFrame, cluster: str) -> tuple[np.ndarray, int]:
    """Gardner's GMM-corrected clustered covariance of the second-stage coefficients (module
    doc) and the number of clusters."""
    x10 = sparse.diags(untreated.astype(float)) @ x1
    with warnings.catch_warnings():
        warnings.simplefilter("error", sparse.linalg.MatrixRankWarning)
        try:
            v = spsolve((x10.T @ x10).tocsc(), sparse.csc_matrix(x1.T @ x2))
        except sparse.linalg.MatrixRankWarning:
            raise ValueError("the untreated observations do not identify every unit and "
                             "period effect (their unit-period graph is not connected)") from None
    v = v.toarray() if sparse.issparse(v) else np.asarray(v).reshape(x1.shape[1], -1)
    contributions = x2 * u2[:, None] - np.asarray(x10 @ v) * u1[:, None]
    meat, n_clusters = cluster_sums(contributions, data, cluster)
    bread = np.linalg.inv(x2.T @ x2)
    return bread @ meat @ bread, n_clusters


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    unit, period, treat = timing.unit(spec), timing.period(spec), timing.treatment(spec)
    controls = list(spec.control_vars)
    untreated = data[treat].to_numpy(float) == 0
    first = f"{spec.outcome} ~ {' + '.join(controls) or '1'} | {unit} + {period}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stage1 = pf.feols(first, data=data[untreated], vcov="iid")
        stage1.fixef(atol=LSQR_TOL, btol=LSQR_TOL)
        imputed = np.asarray(stage1.predict(newdata=data), float)
    keep = np.isfinite(imputed)
    sample = data[keep].reset_index(drop=True)
    u1 = sample[spec.outcome].to_numpy(float) - imputed[keep]
    sample[RESIDUAL] = u1
    second = (f"~ i({timing.EVENT_TIME}, ref={timing.reference(spec)})" if _dynamic(spec)
              else f"~ {treat}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stage2 = pf.feols(f"{RESIDUAL} {second}", data=sample, vcov="iid", drop_intercept=True)
    x1 = first_stage_design(sample, controls, [unit, period])
    vcov, n_clusters = gmm_vcov(x1, untreated[keep], pyfixest_model.design(stage2), u1,
                                np.asarray(stage2.resid(), float), sample,
                                spec.cluster or unit)
    pyfixest_model.replace_vcov(stage2, vcov, n_clusters)
    formula = f"{first} ; {second}"
    est = from_pyfixest(stage2, formula)
    est.r2 = est.r2_within = float("nan")   # a second stage on imputed residuals has no R²
    est.statistics["rows_not_imputed"] = float((~keep).sum())
    if _dynamic(spec):
        ref = timing.reference(spec)
        est.statistics.update(event_study.pretrend(
            est.terms.set_index("term")["estimate"], pyfixest_vcov(stage2),
            event_study.event_terms(est.terms), ref, est.n_clusters))
        est.statistics["reference_period"] = float(ref)
        event_study.add_sensitivity(est, sample, spec, event_study.event_terms(est.terms),
                                    pyfixest_vcov(stage2), LABEL)
    return est
