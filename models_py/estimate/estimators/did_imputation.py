"""Heterogeneity-robust DID: Gardner's two-stage estimator, whose point estimates equal the
Borusyak-Jaravel-Spiess imputation estimator.

Stage one fits the spec's fixed effects (unit and period, say) and controls on the untreated
observations only (``treatment`` = 0: never-treated units and the not-yet-treated periods of the
others) and imputes every observation's untreated outcome; stage two regresses the outcome
minus that imputation on the treatment, so already-treated units never serve as controls and
staggered adoption with effects that vary by cohort or event time is not mis-weighted as in
TWFE. An observation whose fixed-effect levels have no untreated observation (a period in which
every unit is treated, say) has no imputed outcome and is left out; statistic
``rows_not_imputed`` counts them.

Standard errors (option ``variance``), clustered by the spec's cluster (the unit without one):

- ``two_stage_gmm`` (default): Gardner's GMM-corrected errors, the formula of pyfixest's
  ``did2s``: with X1 the first-stage design (controls and fixed-effect dummies), X10 its
  untreated rows, X2 the second-stage design and u1, u2 the two stages' residuals, cluster g
  contributes W_g = X2_g'u2_g - (X1'X2)'(X10'X10)^-1 X10_g'u1_g and
  V = (X2'X2)^-1 (sum_g W_g W_g') (X2'X2)^-1; it counts every deviation of an observation's
  effect from its coefficient as noise.
- ``bjs_leave_out``: Borusyak, Jaravel and Spiess's estimator (Theorem 3; Stata
  ``did_imputation``'s default): the same sum with each treated observation's residual taken
  as its imputed effect minus the average imputed effect of its cohort and period computed
  without its own cluster (with all of them where no other cluster has one), and each
  untreated observation's residual its first-stage residual. One cluster variable.

X1 is held as a sparse matrix (``did2s`` builds it dense: rows x fixed-effect levels, tens of GB
for a city-pair panel) and the cluster may be two-way for ``two_stage_gmm`` (``cluster: a+b``;
Cameron, Gelbach and Miller: V_a + V_b - V_ab). The t tests and the pre-trend test have G - 1
degrees of freedom (G clusters, the smaller dimension of two).

Options: ``dynamic: true`` estimates one effect per event time (``i(event_time, ref=r)`` with
the ``window`` and ``reference`` of :mod:`.timing`), two pre-trend tests, both F tests on
G - 1 degrees of freedom: ``pretrend_f``, ``pretrend_p``, the joint test of the event study's
own leads (the second stage's coefficients below the reference), and BJS's test
``bjs_pretrend_f``, ``bjs_pretrend_p``: on the untreated observations only, the outcome on the
fixed effects, the controls and dummies for the -window[0] periods before adoption (event
times -1 to window[0], unbinned), the leads tested jointly with the spec's clustered variance
(not reported when, with unit fixed effects, fewer than two treated units have an untreated
observation before the earliest lead: ``bjs_pretrend_anchor_units`` counts them);
and the Rambachan-Roth sensitivity of the event study (its options and frame are the TWFE
event study's, :func:`.event_study.sensitivity`). Otherwise one pooled ATT on the treatment
indicator.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Literal

import numpy as np
import pandas as pd
import pyfixest as pf
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import spsolve

from models_py.estimate import pyfixest_model
from models_py.estimate.estimators import event_study, ols, timing, variance
from models_py.estimate.study import Spec, clustering
from models_py.estimate.tidy import Estimate, from_pyfixest, pyfixest_vcov, wald_test

RESIDUAL = "_imputation_residual"
LSQR_TOL = 1e-10   # pyfixest recovers fixed effects by lsqr; its default 1e-6 shows in the 4th digit
LABEL = "Imputation DID"
MIN_ANCHOR_UNITS = 2   # treated units that must anchor the leads of BJS's pre-trend test


class Options(event_study.Sensitivity):
    dynamic: bool = False     # one effect per event time instead of one pooled ATT
    variance: Literal["two_stage_gmm", "bjs_leave_out"] = "two_stage_gmm"   # module doc


def _dynamic(spec: Spec) -> bool:
    return spec.options.dynamic


def _leave_out(spec: Spec) -> bool:
    return spec.options.variance == "bjs_leave_out"


def columns(spec: Spec) -> list[str]:
    cols = [timing.unit(spec), timing.period(spec), timing.treatment(spec)]
    return cols + ([timing.cohort(spec)] if _dynamic(spec) or _leave_out(spec) else [])


def derived(spec: Spec) -> list[str]:
    return [timing.EVENT_TIME] if _dynamic(spec) else []


def prepare(mart: pd.DataFrame, spec: Spec, inputs: dict) -> pd.DataFrame:
    return timing.with_event_time(mart, spec) if _dynamic(spec) else mart


def first_stage_design(data: pd.DataFrame, controls: list[str], fixed_effects: list[str],
                       untreated: np.ndarray) -> sparse.csr_matrix:
    """Sparse X1: the controls and the fixed-effect dummies: every level of the first fixed
    effect; of the second, every level but one per connected part of the untreated
    observations' graph linking first and second levels (:func:`redundant_levels`: unit and
    region-by-period effects, say, make one part per region); of the others, every level but
    the first. A constant without fixed effects. Of full column rank on the untreated rows for
    up to two fixed effects."""
    blocks = [sparse.csr_matrix(data[controls].to_numpy(float))] if controls else []
    n = len(data)
    if not fixed_effects:
        blocks.append(sparse.csr_matrix(np.ones((n, 1))))
    codes = [pd.factorize(data[name], sort=True)[0] for name in fixed_effects]
    for k, level in enumerate(codes):
        dummies = sparse.csr_matrix((np.ones(n), (np.arange(n), level)),
                                    shape=(n, level.max() + 1))
        if k == 1:
            dummies = dummies[:, np.setdiff1d(np.arange(dummies.shape[1]),
                                              redundant_levels(codes[0], level, untreated))]
        elif k > 1:
            dummies = dummies[:, 1:]
        blocks.append(dummies)
    return sparse.hstack(blocks, format="csr")


def redundant_levels(first: np.ndarray, second: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The first level of ``second`` (codes) in each connected part of the graph whose nodes
    are the levels of ``first`` and of ``second`` and whose edges are the observations
    ``rows``: per part, the dummies of either fixed effect sum to the same column."""
    n_first, n_second = first.max() + 1, second.max() + 1
    edges = sparse.coo_matrix((np.ones(rows.sum()), (first[rows], n_first + second[rows])),
                              shape=(n_first + n_second,) * 2)
    _, part = connected_components(edges, directed=False)
    return np.unique(part[n_first:], return_index=True)[1]


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
            raise ValueError("the untreated observations do not identify the fixed effects "
                             "(beyond the first two, some are collinear)") from None
    v = v.toarray() if sparse.issparse(v) else np.asarray(v).reshape(x1.shape[1], -1)
    contributions = x2 * u2[:, None] - np.asarray(x10 @ v) * u1[:, None]
    meat, n_clusters = variance.cluster_sums(contributions, data, cluster)
    bread = np.linalg.inv(x2.T @ x2)
    return bread @ meat @ bread, n_clusters


def leave_out_residuals(effects: np.ndarray, groups: np.ndarray, clusters: np.ndarray
                        ) -> np.ndarray:
    """Each treated observation's imputed effect minus the mean effect of its group (cohort
    and period) over the other clusters' observations (all of the group's, where no other
    cluster has one): BJS's leave-out residual."""
    frame = pd.DataFrame({"e": effects, "g": groups, "c": clusters})
    group = frame.groupby("g")["e"].agg(["sum", "count"])
    own = frame.groupby(["g", "c"])["e"].agg(["sum", "count"])
    total = group.loc[frame["g"]].to_numpy()
    mine = own.loc[list(zip(frame["g"], frame["c"]))].to_numpy()
    others = total - mine
    mean = np.where(others[:, 1] > 0, others[:, 0] / np.maximum(others[:, 1], 1),
                    total[:, 0] / total[:, 1])
    return effects - mean


def bjs_pretrend(data: pd.DataFrame, spec: Spec, untreated: np.ndarray) -> dict[str, float]:
    """BJS's pre-trend test (module doc): the leads' joint F and p on G - 1 degrees of
    freedom, how many leads (none: {}) and how many treated units anchor them. With unit fixed
    effects, only a treated unit with an untreated observation before the earliest lead tells
    the leads' level from its own; with fewer than two such units that direction of the
    clustered variance rests on one cluster, so F and p are not reported."""
    lo, _ = timing.window(spec)
    rel = data[timing.period(spec)].astype(float) - data[timing.cohort(spec)].astype(float)
    sub = data[untreated].reset_index(drop=True)
    rel = rel[untreated].reset_index(drop=True)
    leads = {f"lead_{-k}": (rel == k).astype(float) for k in range(lo, 0) if (rel == k).any()}
    if not leads:
        return {}
    unit = timing.unit(spec)
    anchors = sub.loc[rel < lo, unit].nunique()
    out = {"bjs_pretrend_leads": float(len(leads)), "bjs_pretrend_anchor_units": float(anchors)}
    if unit in spec.fixed_effects and anchors < MIN_ANCHOR_UNITS:
        return out
    sub = sub.assign(**leads)
    rhs = " + ".join([*leads, *spec.control_vars])
    fe = " + ".join(spec.fixed_effects)
    model = ols.feols(f"{spec.outcome} ~ {rhs}" + (f" | {fe}" if fe else ""), sub,
                      dataclasses.replace(spec, cluster=spec.cluster or unit))
    clusters = pyfixest_model.n_clusters(model)
    w = wald_test(model.coef(), pd.DataFrame(pyfixest_model.vcov(model),
                                             index=model.coef().index,
                                             columns=model.coef().index),
                  list(leads), clusters - 1)
    return {**out, "bjs_pretrend_f": w["f"], "bjs_pretrend_p": w["p"]}


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    unit, period, treat = timing.unit(spec), timing.period(spec), timing.treatment(spec)
    controls, fixed_effects = list(spec.control_vars), list(spec.fixed_effects)
    untreated = data[treat].to_numpy(float) == 0
    first = (f"{spec.outcome} ~ {' + '.join(controls) or '1'}"
             + (f" | {' + '.join(fixed_effects)}" if fixed_effects else ""))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stage1 = pf.feols(first, data=data[untreated], vcov="iid")
        if fixed_effects:
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
    cluster = spec.cluster or unit
    u2 = np.asarray(stage2.resid(), float)
    if _leave_out(spec):
        u2 = bjs_residuals(sample, spec, u1, untreated[keep], cluster)
    x1 = first_stage_design(sample, controls, fixed_effects, untreated[keep])
    vcov, n_clusters = gmm_vcov(x1, untreated[keep], pyfixest_model.design(stage2), u1, u2,
                                sample, cluster)
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
        est.statistics.update(bjs_pretrend(data, spec, untreated))
        est.statistics["reference_period"] = float(ref)
        event_study.add_sensitivity(est, sample, spec, event_study.event_terms(est.terms),
                                    pyfixest_vcov(stage2), LABEL)
    return est


def bjs_residuals(sample: pd.DataFrame, spec: Spec, u1: np.ndarray, untreated: np.ndarray,
                  cluster: str) -> np.ndarray:
    """The residuals of BJS's variance (module doc): first-stage residuals of untreated
    observations, leave-out residuals of the treated ones' imputed effects."""
    if clustering(cluster).kind != "one-way":
        raise ValueError(f"variance bjs_leave_out takes one cluster variable, got {cluster!r}")
    groups = (sample[timing.cohort(spec)].astype(str) + "_"
              + sample[timing.period(spec)].astype(str)).to_numpy()
    out = u1.copy()
    treated = ~untreated
    out[treated] = leave_out_residuals(u1[treated], groups[treated],
                                       sample[cluster].to_numpy()[treated])
    return out
