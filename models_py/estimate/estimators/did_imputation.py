"""Heterogeneity-robust DID: Gardner's two-stage estimator (pyfixest ``did2s``), whose point
estimates equal the Borusyak-Jaravel-Spiess imputation estimator.

Stage one fits the unit and time fixed effects (and the controls) on the untreated
observations only (``treatment`` = 0: never-treated units and the not-yet-treated years of the
others); stage two regresses the residualized outcome on the treatment, so already-treated
units never serve as controls and staggered adoption with effects that vary by cohort or
event time is not mis-weighted as in TWFE. Standard errors are the GMM-corrected clustered
errors of ``did2s``.

Options: ``dynamic: true`` estimates one effect per event time (``i(event_time, ref=r)`` with
the ``window`` and ``reference`` of :mod:`.timing`) and the joint pre-trend test; otherwise
one pooled ATT on the treatment indicator.
"""
from __future__ import annotations

import warnings

import pandas as pd
import pyfixest as pf

from models_py.estimate.estimators import event_study, timing
from models_py.estimate.specs import Spec
from models_py.estimate.tidy import Estimate, from_pyfixest, pyfixest_vcov


def _dynamic(spec: Spec) -> bool:
    return bool(spec.options.get("dynamic", False))


def columns(spec: Spec) -> list[str]:
    cols = [timing.unit(spec), timing.period(spec), timing.treatment(spec)]
    return cols + ([timing.cohort(spec)] if _dynamic(spec) else [])


def derived(spec: Spec) -> list[str]:
    return [timing.EVENT_TIME] if _dynamic(spec) else []


def prepare(mart: pd.DataFrame, spec: Spec, inputs: dict) -> pd.DataFrame:
    return timing.with_event_time(mart, spec) if _dynamic(spec) else mart


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    unit, period, treat = timing.unit(spec), timing.period(spec), timing.treatment(spec)
    first = f"~ {' + '.join(spec.control_vars) or '0'} | {unit} + {period}"
    second = (f"~ i({timing.EVENT_TIME}, ref={timing.reference(spec)})" if _dynamic(spec)
              else f"~ {treat}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pf.did2s(data, yname=spec.outcome, first_stage=first, second_stage=second,
                         treatment=treat, cluster=spec.cluster or unit)
    formula = f"{spec.outcome} {first} ; {second}"
    est = from_pyfixest(model, formula)
    est.r2 = est.r2_within = float("nan")   # a second stage on imputed residuals has no R²
    if _dynamic(spec):
        ref = timing.reference(spec)
        events = event_study.event_terms(est.terms)
        est.statistics.update(event_study.pretrend(
            est.terms.set_index("term")["estimate"], pyfixest_vcov(model), events, ref,
            est.n_clusters))
        est.statistics["reference_period"] = float(ref)
    return est
