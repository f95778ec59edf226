"""TWFE event study: leads and lags of treatment with binned endpoints, the joint pre-trend
test, and relative-magnitude sensitivity bounds for the average post-period effect.

``y ~ i(event_time, ref=r) + controls | fixed effects`` (pyfixest), event time binned at the
``window`` endpoints, never-treated units at the reference period. Statistics:

- ``pretrend_f``/``pretrend_p``: Wald test that every lead (event time < reference) is zero,
  with the model's clustered covariance (F with G - 1 denominator degrees of freedom).
- Relative magnitudes (Rambachan and Roth's Delta^RM(Mbar)): the post-period trend violation
  may change from one period to the next by at most Mbar times the largest change between
  consecutive pre-periods, Delta (the reference period's coefficient is 0). For the average
  post-period effect theta over post event times 0..H the bias is then at most
  Mbar * Delta * mean(t + 1); the frame ``sensitivity`` gives, for each Mbar of the option
  ``mbar`` (default 0, 0.5, 1, 1.5, 2), that identified set and the set widened by the 95%
  normal critical value times se(theta), with Delta treated as known. ``breakdown_mbar`` is
  the largest Mbar whose interval still excludes zero. This is the identified set of the
  method with a plain (conservative in theta, not in Delta) confidence band, not the
  conditional or hybrid confidence sets of the HonestDiD package.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from models_py.estimate.estimators import ols, timing
from models_py.estimate.study import Spec
from models_py.estimate.tidy import Estimate, from_pyfixest, pyfixest_vcov, wald_test

DEFAULT_MBAR = (0.0, 0.5, 1.0, 1.5, 2.0)
LABEL = "TWFE event study"


class Options(timing.Panel):
    mbar: tuple[float, ...] = DEFAULT_MBAR   # the Mbar values of the sensitivity frame


def columns(spec: Spec) -> list[str]:
    return [timing.period(spec), timing.cohort(spec)]


def derived(spec: Spec) -> list[str]:
    return [timing.EVENT_TIME]


def prepare(mart: pd.DataFrame, spec: Spec, inputs: dict) -> pd.DataFrame:
    return timing.with_event_time(mart, spec)


def event_formula(spec: Spec) -> str:
    rhs = " + ".join([f"i({timing.EVENT_TIME}, ref={timing.reference(spec)})",
                      *spec.control_vars])
    fe = " + ".join(spec.fixed_effects)
    return f"{spec.outcome} ~ {rhs}" + (f" | {fe}" if fe else "")


def event_terms(est_terms: pd.DataFrame) -> pd.DataFrame:
    return est_terms[est_terms["term"].str.startswith(f"{timing.EVENT_TIME}::")]


def pretrend(estimates: pd.Series, vcov: pd.DataFrame, events: pd.DataFrame, ref: int,
             n_clusters: float) -> dict[str, float]:
    """Joint Wald test of the leads (event time below the reference)."""
    leads = events.loc[events["event_time"] < ref, "term"].tolist()
    if not leads:
        return {}
    df = n_clusters - 1 if np.isfinite(n_clusters) else None
    w = wald_test(estimates, vcov, leads, df)
    return {"pretrend_f": w["f"], "pretrend_p": w["p"], "pretrend_leads": float(w["k"])}


def relative_magnitudes(events: pd.DataFrame, vcov: pd.DataFrame, ref: int,
                        mbar=DEFAULT_MBAR) -> tuple[pd.DataFrame, dict[str, float]]:
    """Bounds on the average post-period effect under Delta^RM(Mbar) (see module doc)."""
    ev = events.set_index("event_time").sort_index()
    pre = pd.concat([ev.loc[ev.index < ref, "estimate"], pd.Series({float(ref): 0.0})])
    pre = pre.sort_index()
    post = ev[ev.index >= 0]
    if len(pre) < 2 or post.empty:
        return pd.DataFrame(), {}
    delta = float(np.abs(np.diff(pre.to_numpy())).max())
    names = post["term"].tolist()
    theta = float(post["estimate"].mean())
    weights = np.full(len(names), 1 / len(names))
    se = float(np.sqrt(weights @ vcov.loc[names, names].to_numpy() @ weights))
    horizon = float(np.mean(post.index.to_numpy() + 1))
    z = sps.norm.ppf(0.975)
    rows = []
    for m in mbar:
        bias = m * delta * horizon
        rows.append({"mbar": m, "theta": theta, "lower": theta - bias, "upper": theta + bias,
                     "ci_low": theta - bias - z * se, "ci_high": theta + bias + z * se})
    room = abs(theta) - z * se
    breakdown = room / (delta * horizon) if room > 0 and delta > 0 else (
        math.inf if room > 0 else 0.0)
    return pd.DataFrame(rows), {"rm_theta": theta, "rm_theta_se": se, "rm_delta_pre": delta,
                                "breakdown_mbar": breakdown}


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    formula = event_formula(spec)
    model = ols.feols(formula, data, spec)
    est = from_pyfixest(model, formula)
    ref = timing.reference(spec)
    events = event_terms(est.terms)
    vcov = pyfixest_vcov(model)
    est.statistics.update(pretrend(est.terms.set_index("term")["estimate"], vcov, events, ref,
                                   est.n_clusters))
    est.statistics["reference_period"] = float(ref)
    sensitivity, stats = relative_magnitudes(
        events, vcov, ref, spec.options.mbar)
    est.statistics.update(stats)
    if not sensitivity.empty:
        est.frames["sensitivity"] = sensitivity
    return est
