"""Sun and Abraham (2021) interaction-weighted event study.

One regression with unit and period fixed effects (the spec's) and the controls, and a dummy
for every treated cohort g and event time e (binned at the ``window`` endpoints) but the
reference period: each coefficient is cohort g's effect e periods after adoption, estimated
against the control cohort, so cohorts never serve as each other's controls as in a TWFE event
study. The control cohort is the never-treated units (a missing cohort); where the sample has
none, the last-treated cohort, on the periods before it is treated (Sun and Abraham's choice;
statistic ``control_cohort``). The effect at event time e is the average of the cohorts'
coefficients weighted by each cohort's share of the treated units' observations at e; its
variance is w' V w with V the regression's (clustered) covariance, the weights taken as given
(as pyfixest's ``event_study(estimator="saturated").aggregate()`` and fixest's ``sunab``).
Statistics: the joint pre-trend test of the leads (as the TWFE event study). Frame
``cohort_effects``: every cohort x event-time coefficient with its observations and weight.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from models_py.estimate.estimators import event_study, ols, timing
from models_py.estimate.study import Spec
from models_py.estimate.tidy import Estimate, from_pyfixest, inferred_terms, pyfixest_vcov

LABEL = "Sun–Abraham"


class Options(timing.Panel):
    """No options beyond the panel's (``window``, ``reference``)."""


# Event time as the TWFE event study derives it: binned at the window's endpoints.
columns, derived, prepare = event_study.columns, event_study.derived, event_study.prepare


def control_cohort(data: pd.DataFrame, spec: Spec) -> tuple[pd.DataFrame, float]:
    """The rows the regression uses and the control cohort: every row and NaN (the
    never-treated units), or, with no never-treated unit, the rows before the last cohort's
    adoption and that cohort."""
    cohort = data[timing.cohort(spec)]
    if cohort.isna().any():
        return data, np.nan
    last = float(cohort.max())
    return data[data[timing.period(spec)] < last].reset_index(drop=True), last


def cells(data: pd.DataFrame, spec: Spec, control: float = np.nan) -> pd.DataFrame:
    """The (cohort, event time) cells of the treated units but the reference period and the
    control cohort: their dummy's column name, and each cohort's share of the observations at
    that event time."""
    cohort = data[timing.cohort(spec)]
    treated = data[cohort.notna() & (cohort != control)]
    counts = treated.groupby([timing.cohort(spec), timing.EVENT_TIME]).size().rename("n")
    out = counts.reset_index().rename(columns={timing.cohort(spec): "cohort",
                                               timing.EVENT_TIME: "event_time"})
    out = out[out["event_time"] != timing.reference(spec)].reset_index(drop=True)
    out["weight"] = out["n"] / out.groupby("event_time")["n"].transform("sum")
    out["name"] = [f"_sa_{g:g}_{'m' if e < 0 else ''}{abs(e):g}".replace(".", "_")
                   for g, e in zip(out["cohort"], out["event_time"])]
    return out


def interacted(data: pd.DataFrame, spec: Spec, cell: pd.DataFrame) -> pd.DataFrame:
    """``data`` with one 0/1 column per cohort x event-time cell."""
    cohort = data[timing.cohort(spec)].to_numpy(float)
    event = data[timing.EVENT_TIME].to_numpy(float)
    dummies = {r.name: ((cohort == r.cohort) & (event == r.event_time)).astype(float)
               for r in cell.itertuples()}
    return data.assign(**dummies)


def aggregated(cell: pd.DataFrame, coef: pd.Series, vcov: pd.DataFrame
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The event-time effects (weighted cohort coefficients; cells pyfixest dropped as
    collinear are left out and the weights renormalized) and their covariance."""
    cell = cell[cell["name"].isin(coef.index)]
    events = np.sort(cell["event_time"].unique())
    weights = np.zeros((len(events), len(cell)))
    for k, e in enumerate(events):
        at = (cell["event_time"] == e).to_numpy()
        weights[k, at] = cell["weight"].to_numpy()[at] / cell["weight"].to_numpy()[at].sum()
    names = cell["name"].tolist()
    est = weights @ coef[names].to_numpy()
    cov = weights @ vcov.loc[names, names].to_numpy() @ weights.T
    terms = [f"{timing.EVENT_TIME}::{e:g}" for e in events]
    frame = pd.DataFrame({"term": terms, "event_time": events, "estimate": est,
                          "std_error": np.sqrt(np.diag(cov))})
    return frame, pd.DataFrame(cov, index=terms, columns=terms)


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    data, control = control_cohort(data, spec)
    cell = cells(data, spec, control)
    rhs = " + ".join([*cell["name"], *spec.control_vars])
    fe = " + ".join(spec.fixed_effects)
    formula = f"{spec.outcome} ~ {rhs}" + (f" | {fe}" if fe else "")
    model = ols.feols(formula, interacted(data, spec, cell), spec)
    fitted = from_pyfixest(model, formula)
    coef = fitted.terms.set_index("term")["estimate"]
    frame, vcov = aggregated(cell, coef, pyfixest_vcov(model))
    n_clusters = fitted.n_clusters
    terms = inferred_terms(frame["term"], frame["event_time"], frame["estimate"],
                           frame["std_error"], n_clusters - 1 if np.isfinite(n_clusters)
                           else np.inf)
    ref = timing.reference(spec)
    stats = event_study.pretrend(terms.set_index("term")["estimate"], vcov, terms, ref,
                                 n_clusters)
    stats["reference_period"] = float(ref)
    if np.isfinite(control):
        stats["control_cohort"] = control
    return Estimate(terms=terms, n_obs=fitted.n_obs, formula=formula, r2=fitted.r2,
                    r2_within=fitted.r2_within, n_clusters=n_clusters, statistics=stats,
                    frames={"cohort_effects": cell.drop(columns="name").assign(
                        estimate=coef.reindex(cell["name"]).to_numpy())})
