"""TWFE event study: leads and lags of treatment with binned endpoints, the joint pre-trend
test, and Rambachan-Roth sensitivity of the average post-period effect.

``y ~ i(event_time, ref=r) + controls | fixed effects`` (pyfixest), event time binned at the
``window`` endpoints, never-treated units at the reference period. Statistics:

- ``pretrend_f``/``pretrend_p``: Wald test that every lead (event time < reference) is zero,
  with the model's clustered covariance (F with G - 1 denominator degrees of freedom).
- Sensitivity to violations of parallel trends (Rambachan and Roth 2023; the confidence sets
  of :mod:`models_py.estimate.honest_did`), shared with the imputation event study: the frame
  ``sensitivity`` and the statistics ``breakdown_mbar``/``breakdown_m`` (see
  :func:`sensitivity`).
"""
from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from models_py.estimate.estimators import ols, timing
from models_py.estimate.honest_did import constants, sets
from models_py.estimate.honest_did.event_study import EventStudy, psd_part
from models_py.estimate.study import Spec
from models_py.estimate.tidy import Estimate, from_pyfixest, pyfixest_vcov, wald_test

LABEL = "TWFE event study"
RESTRICTIONS = {"rm": "Relative magnitudes (Mbar)", "sd": "Smoothness (M)"}
NonNegative = Annotated[float, Field(ge=0)]


class Sensitivity(timing.Panel):
    """Options of the Rambachan-Roth sensitivity of an event study's average post-period
    effect (the methods are :mod:`models_py.estimate.honest_did`'s, the defaults HonestDiD's).
    Nothing is computed unless a study lists Mbar or M values: the sets cost seconds each."""
    mbar: tuple[NonNegative, ...] = ()   # Delta^RM: Mbar values
    m: tuple[NonNegative, ...] = ()    # Delta^SD: M values, in outcome units per period squared
    rm_method: Literal["conditional", "hybrid"] = "hybrid"
    sd_method: Literal["flci", "conditional", "hybrid"] = "flci"
    grid_points: int = Field(constants.GRID_POINTS, ge=10)   # theta grid of the tests
    refine: int = Field(0, ge=0)       # bisections of each end of a set past its grid point
    breakdown: bool = True             # search the breakdown values


class Options(Sensitivity):
    """The TWFE event study's options: the panel's timing and the sensitivity analysis."""


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


def binned_endpoints(data: pd.DataFrame, spec: Spec) -> tuple[bool, bool]:
    """Whether the window's lower and upper endpoints bin event times beyond them (then their
    coefficient averages several event times and is not one period of the event study)."""
    lo, hi = timing.window(spec)
    rel = data[timing.period(spec)].astype(float) - data[timing.cohort(spec)].astype(float)
    return bool((rel < lo).any()), bool((rel > hi).any())


def honest_event_study(events: pd.DataFrame, vcov: pd.DataFrame, ref: int,
                       binned: tuple[bool, bool]) -> EventStudy | None:
    """The event study as Rambachan-Roth read it: the consecutive single-period coefficients
    around the reference period (a binned endpoint and anything beyond a gap left out), the
    pre-periods before it and the post-periods after it; theta is the average effect over the
    post-periods from event time 0 on; the covariance's negative eigenvalues (a two-way
    clustered one may have some) set to zero. None without a pre-period or an effect to
    bound."""
    ev = events.set_index("event_time").sort_index()
    times = ev.index.to_numpy(float)
    if binned[0]:
        times = times[times > times.min()]
    if binned[1]:
        times = times[times < times.max()]
    have = set(times)
    pre = _run(have, ref, -1)
    post = _run(have, ref, +1)
    effects = [t for t in post if t >= 0]
    if not pre or not effects:
        return None
    order = [*reversed(pre), *post]
    names = ev.loc[order, "term"].tolist()
    l_vec = np.array([1.0 / len(effects) if t >= 0 else 0.0 for t in post])
    sigma = psd_part(vcov.loc[names, names].to_numpy(float))
    return EventStudy(ev.loc[order, "estimate"].to_numpy(float), sigma, len(pre), l_vec)


def _run(have: set[float], ref: int, step: int) -> list[float]:
    """The event times ref + step, ref + 2 step, ... as long as each has a coefficient."""
    out, t = [], float(ref + step)
    while t in have:
        out.append(t)
        t += step
    return out


def sensitivity(events: pd.DataFrame, vcov: pd.DataFrame, ref: int, binned: tuple[bool, bool],
                options: Sensitivity, label: str) -> tuple[pd.DataFrame, dict[str, float]]:
    """Rambachan-Roth sensitivity of the average post-period effect theta (see
    :func:`honest_event_study`): one row per restriction and value (``restriction``,
    ``value``, ``method``, the confidence set ``lower``/``upper``), the first row the usual
    confidence interval (parallel trends exact), each row naming the event study
    (``estimator``); and the statistics ``honest_theta``, ``honest_theta_se`` and, with
    ``breakdown``, ``breakdown_mbar``/``breakdown_m``: the least Mbar (M) whose confidence set
    holds zero (:func:`.honest_did.sets.breakdown`, searched from the largest value listed).
    Empty without Mbar and M values, or without a pre-period or an effect to bound."""
    es = honest_event_study(events, vcov, ref, binned) if options.mbar or options.m else None
    if es is None:
        return pd.DataFrame(), {}
    low, high = sets.original_ci(es)
    rows = [{"restriction": "Parallel trends", "value": 0.0, "method": "original",
             "lower": low, "upper": high}]
    for mbar in options.mbar:
        rows.append(_row("rm", mbar, options.rm_method, es, options))
    for m in options.m:
        rows.append(_row("sd", m, options.sd_method, es, options))
    stats = {"honest_theta": es.theta, "honest_theta_se": es.theta_se}
    if options.breakdown:
        if options.mbar:
            stats["breakdown_mbar"] = sets.breakdown(es, "rm", options.rm_method,
                                                     max(options.mbar) or 1.0)
        if options.m:
            stats["breakdown_m"] = sets.breakdown(es, "sd", options.sd_method,
                                                  max(options.m) or es.theta_se)
    return pd.DataFrame(rows).assign(estimator=label), stats


def _row(restriction: str, value: float, method: str, es: EventStudy,
         options: Sensitivity) -> dict:
    lower, upper = sets.confidence_set(es, restriction, value, method, options.grid_points,
                                       options.refine)
    return {"restriction": RESTRICTIONS[restriction], "value": value, "method": method,
            "lower": lower, "upper": upper}


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
    add_sensitivity(est, data, spec, events, vcov, LABEL)
    return est


def add_sensitivity(est: Estimate, data: pd.DataFrame, spec: Spec, events: pd.DataFrame,
                    vcov: pd.DataFrame, label: str) -> None:
    """Store :func:`sensitivity` in an event study's estimate (frame ``sensitivity``)."""
    frame, stats = sensitivity(events, vcov, timing.reference(spec),
                               binned_endpoints(data, spec), spec.options, label)
    est.statistics.update(stats)
    if not frame.empty:
        est.frames["sensitivity"] = frame
