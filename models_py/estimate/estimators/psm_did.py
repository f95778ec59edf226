"""PSM-DID: propensity scores and nearest-neighbour matching period by period, a balance
table, then DID on the matched sample.

Covariates are taken before treatment: every unit's values of the covariates (the spec's
controls) in the baseline period, the last period before the first cohort adopts, so that
matching never conditions on what the treatment may have moved. In each period, a logit of the
treated-group indicator (option ``group``, e.g. ever treated) on those covariates gives
propensity scores p. Then:

- ``common_support`` (default true): treated rows whose score lies outside the range of the
  controls' scores, and controls outside the range of the treated rows', are left out;
- each treated row is matched to its ``neighbours`` (k, default 1) nearest controls on the logit
  of the score, log(p / (1 - p)), within ``caliper`` standard deviations of that logit in the
  period (default 0.2, Austin's rule), with or without ``replacement`` (default with; without,
  treated rows take their matches in the order of their unit, and a control once matched is no
  longer available);
- a matched treated row gets weight 1, each of its m matched controls 1 / m (a control matched
  by several treated rows adds them up); unmatched rows leave the sample. The DID is the spec's
  formula fitted on the matched rows with those weights.

Matching does not depend on the order of the rows: each period's rows are taken in the order of
their unit (so the scores are computed with the same rounding every time), and of controls
equally near a treated unit the first in that order is matched first.

Balance (frame ``balance``), per covariate (baseline values), before matching (all rows) and
after (matched, weighted): group means, the standardized mean difference (difference of means
over the pooled standard deviation of the unmatched sample, the same denominator before and
after) and the variance ratio treated / control. Statistics: ``max_abs_smd_before``,
``max_abs_smd_after``, ``matched_treated_share``, ``matched_rows``, ``caliper``,
``neighbours`` and ``off_support_rows`` (rows left out by common support).
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
    caliper: float = Field(0.2, gt=0)    # standard deviations of the logit of the score
    neighbours: int = Field(1, ge=1)     # k nearest controls per treated row
    replacement: bool = True             # a control may serve several treated rows
    common_support: bool = True          # leave out rows outside the other group's scores


def _group(spec: Spec) -> str:
    return timing.option(spec, "group")


def columns(spec: Spec) -> list[str]:
    return [_group(spec), timing.unit(spec), timing.period(spec), timing.cohort(spec)]


def logit_index(x: np.ndarray, treated: np.ndarray, iterations: int = 100) -> np.ndarray:
    """The logit of the propensity score, log(p / (1 - p)), of a logit fitted by
    Newton-Raphson (standardized covariates and a constant; a tiny ridge penalty keeps it
    finite under separation)."""
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
    return z @ beta


def on_support(index: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Rows whose score lies within the range of the other group's scores."""
    t, c = index[treated], index[~treated]
    return np.where(treated, (index >= c.min()) & (index <= c.max()),
                    (index >= t.min()) & (index <= t.max()))


def match_period(index: np.ndarray, treated: np.ndarray, caliper: float, neighbours: int = 1,
                 replacement: bool = True) -> np.ndarray:
    """Matching weights of one period's rows (in unit order) from the logit of their scores:
    each treated row's ``neighbours`` nearest controls within ``caliper`` (logit units), with
    or without replacement; of equally near controls, the first row first (module doc)."""
    weights = np.zeros(len(index))
    available = ~treated
    for i in np.flatnonzero(treated):
        controls = np.flatnonzero(available)
        distance = np.abs(index[controls] - index[i])
        order = np.argsort(distance, kind="stable")[:neighbours]
        chosen = controls[order[distance[order] <= caliper]]
        if not len(chosen):
            continue
        weights[i] += 1
        weights[chosen] += 1 / len(chosen)
        if not replacement:
            available[chosen] = False
    return weights


def baseline_covariates(data: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Each row's unit's covariates in the baseline period, the last before the first cohort
    adopts (module doc)."""
    period, unit = timing.period(spec), timing.unit(spec)
    first = data[timing.cohort(spec)].min()
    before = data.loc[data[period] < first, period] if pd.notna(first) else data[period]
    if before.empty:
        raise ValueError(f"no period before the first cohort ({first}) to take the "
                         "covariates from")
    base = data[data[period] == before.max()].set_index(unit)[list(spec.control_vars)]
    return base.reindex(data[unit].to_numpy()).set_axis(data.index)


def match(data: pd.DataFrame, spec: Spec) -> tuple[pd.Series, int]:
    """Matching weights of every row, period by period (0 = not in the matched sample), and
    the rows left out by common support."""
    opts = spec.options
    covariates = baseline_covariates(data, spec)
    weights = pd.Series(0.0, index=data.index)
    off_support = 0
    for _, rows in data[covariates.notna().all(axis=1)].groupby(timing.period(spec)):
        rows = rows.sort_values(timing.unit(spec), kind="stable")
        treated = rows[_group(spec)].to_numpy(float) > 0
        if treated.all() or not treated.any():
            continue
        index = logit_index(covariates.loc[rows.index].to_numpy(float), treated.astype(float))
        keep = on_support(index, treated) if opts.common_support else np.ones(len(rows), bool)
        off_support += int((~keep).sum())
        caliper = opts.caliper * index.std()
        weights.loc[rows.index[keep]] = match_period(index[keep], treated[keep], caliper,
                                                     opts.neighbours, opts.replacement)
    return weights, off_support


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
    weights, off_support = match(data, spec)
    group = _group(spec)
    baseline = baseline_covariates(data, spec)
    has = baseline.notna().all(axis=1)
    table = balance(data.assign(**baseline)[has], weights[has], list(spec.control_vars), group)
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
        "caliper": spec.options.caliper, "neighbours": float(spec.options.neighbours),
        "off_support_rows": float(off_support)})
    est.frames["balance"] = table
    return est
