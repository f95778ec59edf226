"""PSM-DID: propensity scores and nearest-neighbour matching period by period, a balance
table, then DID on the matched sample.

In each period, a logit of the treated-group indicator (option ``group``, e.g. ever treated)
on the covariates (the spec's controls) gives propensity scores; each treated unit is matched
with replacement to the control unit with the nearest score, kept only if the distance is
within ``caliper`` (default 0.05, in propensity-score units). A control matched k times gets
weight k, a matched treated unit weight 1; unmatched rows leave the sample. The DID is the
spec's formula fitted on the matched rows with those weights.

Matching does not depend on the order of the rows: each period's rows are taken in the order of
their unit (so the scores are computed with the same rounding every time), and of controls
equally near a treated unit the first in that order is its match.

Balance (frame ``balance``), per covariate, before matching (all rows) and after (matched,
weighted): group means, the standardized mean difference (difference of means over the
pooled standard deviation of the unmatched sample, the same denominator before and after)
and the variance ratio treated / control. Statistics: ``max_abs_smd_before``,
``max_abs_smd_after``, ``matched_treated_share`` and the matched row counts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from models_py.estimate.estimators import ols, timing
from models_py.estimate.study import Spec
from models_py.estimate.tidy import Estimate, from_pyfixest

LABEL = "PSM-DID"
WEIGHT = "psm_weight"
RIDGE = 1e-6          # keeps the logit finite under (quasi-)separation


class Options(timing.Panel):
    caliper: float = Field(0.05, gt=0)   # largest propensity-score distance of a match


def _group(spec: Spec) -> str:
    return timing.option(spec, "group")


def columns(spec: Spec) -> list[str]:
    return [_group(spec), timing.unit(spec), timing.period(spec)]


def logit_scores(x: np.ndarray, treated: np.ndarray, iterations: int = 100) -> np.ndarray:
    """Propensity scores of a logit fitted by Newton-Raphson (standardized covariates and a
    constant; a tiny ridge penalty keeps it finite under separation)."""
    sd = x.std(axis=0)
    z = np.column_stack([np.ones(len(x)), (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1)])
    beta = np.zeros(z.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-z @ beta))
        grad = z.T @ (treated - p) - RIDGE * beta
        hess = (z * (p * (1 - p))[:, None]).T @ z + RIDGE * np.eye(z.shape[1])
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return 1 / (1 + np.exp(-z @ beta))


def match_period(scores: np.ndarray, treated: np.ndarray, caliper: float) -> np.ndarray:
    """Matching weights of one period's rows: nearest control (with replacement) per treated
    row within the caliper; of equally near controls, the first row."""
    weights = np.zeros(len(scores))
    controls = np.flatnonzero(~treated)
    if len(controls) == 0:
        return weights
    for i in np.flatnonzero(treated):
        distance = np.abs(scores[controls] - scores[i])
        j = int(distance.argmin())
        if distance[j] <= caliper:
            weights[i] += 1
            weights[controls[j]] += 1
    return weights


def match(data: pd.DataFrame, spec: Spec) -> pd.Series:
    """Matching weights of every row, period by period (0 = not in the matched sample)."""
    covariates = list(spec.control_vars)
    caliper = spec.options.caliper
    weights = pd.Series(0.0, index=data.index)
    for _, rows in data.groupby(timing.period(spec)):
        rows = rows.sort_values(timing.unit(spec), kind="stable")
        treated = rows[_group(spec)].to_numpy(float) > 0
        if treated.all() or not treated.any():
            continue
        scores = logit_scores(rows[covariates].to_numpy(float), treated.astype(float))
        weights.loc[rows.index] = match_period(scores, treated, caliper)
    return weights


def _weighted_moments(x: pd.DataFrame, w: np.ndarray) -> tuple[pd.Series, pd.Series]:
    mean = (x.mul(w, axis=0)).sum() / w.sum()
    var = ((x - mean) ** 2).mul(w, axis=0).sum() / w.sum()
    return mean, var


def balance(data: pd.DataFrame, weights: pd.Series, covariates: list[str], group: str
            ) -> pd.DataFrame:
    """Means, standardized mean differences and variance ratios before and after matching."""
    treated = data[group].to_numpy(float) > 0
    x = data[covariates].astype(float)
    pooled_sd = np.sqrt((x[treated].var() + x[~treated].var()) / 2)
    out = {"covariate": covariates}
    for when, w in (("before", np.ones(len(data))), ("after", weights.to_numpy())):
        mt, vt = _weighted_moments(x[treated], w[treated])
        mc, vc = _weighted_moments(x[~treated], w[~treated])
        out.update({f"mean_treated_{when}": mt.to_numpy(), f"mean_control_{when}": mc.to_numpy(),
                    f"smd_{when}": ((mt - mc) / pooled_sd).to_numpy(),
                    f"variance_ratio_{when}": (vt / vc).to_numpy()})
    return pd.DataFrame(out)


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    weights = match(data, spec)
    group = _group(spec)
    table = balance(data, weights, list(spec.control_vars), group)
    matched = data.assign(**{WEIGHT: weights.to_numpy()})
    matched = matched[matched[WEIGHT] > 0].reset_index(drop=True)
    if matched.empty:
        raise ValueError("no treated row has a control within the caliper")
    est = from_pyfixest(ols.feols(spec.formula, matched, spec, weights=WEIGHT),
                        f"{spec.formula} [weights: {WEIGHT}]")
    treated_rows = (data[group] > 0).sum()
    matched_treated = (matched[group] > 0).sum()
    est.statistics.update({
        "max_abs_smd_before": float(table["smd_before"].abs().max()),
        "max_abs_smd_after": float(table["smd_after"].abs().max()),
        "matched_treated_share": float(matched_treated / treated_rows) if treated_rows else 0.0,
        "matched_rows": float(len(matched)),
        "caliper": spec.options.caliper})
    est.frames["balance"] = table
    return est
