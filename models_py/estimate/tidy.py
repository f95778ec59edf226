"""What every estimator returns, and the tidy coefficient rows the warehouse stores.

An :class:`Estimate` holds one row per reported term (estimate, standard error, t, p, 95% and
90% confidence intervals, and a wild cluster bootstrap p-value where the spec asks for one),
the fit's size and fit statistics, named diagnostic ``statistics``
(a pre-trend test, a randomization p-value, first-stage F statistics, ...) and named extra
``frames`` (placebo draws, a balance table, variance inflation factors). ``coefficient_rows``
turns it into the rows of ``results.<study>_<table>``: one per (spec, term), carrying the
spec's identity, fixed effects, vcov and sample, so that tables and figures render from the
warehouse alone. A spec the data cannot support has one row instead (``not_estimable_row``):
no term, no numbers, ``status`` ``not_estimable`` and the ``reason``. Their ``audit`` column
is filled by whoever knows the inputs' lineage (see ``run.run_table``).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from models_py.estimate import pyfixest_model
from models_py.estimate.study import Spec

TERM_COLUMNS = ["term", "event_time", "estimate", "std_error", "t", "p", "ci_low", "ci_high",
                "ci90_low", "ci90_high", "wild_p"]
COLUMNS = ["study", "table", "column", "kind", "label", "outcome", "term", "event_time",
           "is_control", "estimate", "std_error", "t", "p", "ci_low", "ci_high", "ci90_low",
           "ci90_high", "wild_p", "n_obs", "r2", "r2_within", "fixed_effects", "controls", "vcov",
           "cluster", "n_clusters", "sample", "formula", "meta", "seconds", "status", "reason",
           "audit"]
# A spec's status in its rows: estimated, or not estimable (one row, no term, the reason).
ESTIMATED, NOT_ESTIMABLE = "estimated", "not_estimable"
# How a result row names its variance, by the spec's clustering kind (study.clustering).
VCOV = {"none": "HC1", "one-way": "CRV1 by {}", "two-way": "CRV1 by {}",
        "dyadic": "dyadic-robust by {1} and {2}"}
STATISTIC_COLUMNS = ["study", "table", "column", "statistic", "value"]

# pyfixest names the levels of i(var, ref=r) "C(var, contr.treatment(base=r))[T.k]" or
# "var::k"; both become "var::k" with event_time k.
_LEVEL = re.compile(r"^C\((?P<var>[^,]+),.*\)\[T\.(?P<level>[^\]]+)\]$|^(?P<var2>[^:]+)::(?P<level2>.+)$")


@dataclass
class Estimate:
    """The result of one spec, whatever its estimator kind."""
    terms: pd.DataFrame                  # TERM_COLUMNS
    n_obs: int
    formula: str
    r2: float = math.nan
    r2_within: float = math.nan
    n_clusters: float = math.nan
    statistics: dict[str, float] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


def term_name(raw: str) -> tuple[str, float]:
    """A readable term name and its level for factor terms (``("event_time::-2", -2.0)``)."""
    m = _LEVEL.match(raw)
    if not m:
        return raw, math.nan
    var = (m.group("var") or m.group("var2")).strip()
    level = m.group("level") or m.group("level2")
    try:
        value = float(level)
    except ValueError:
        return f"{var}::{level}", math.nan
    return f"{var}::{value:g}", value


def terms_from_pyfixest(model) -> pd.DataFrame:
    """Term rows of a fitted pyfixest model, with its own t or normal inference."""
    td = model.tidy()
    ci90 = model.confint(alpha=0.10)
    rows = []
    for raw, r in td.iterrows():
        name, level = term_name(str(raw))
        rows.append({"term": name, "event_time": level, "estimate": float(r["Estimate"]),
                     "std_error": float(r["Std. Error"]), "t": float(r["t value"]),
                     "p": float(r["Pr(>|t|)"]), "ci_low": float(r["2.5%"]),
                     "ci_high": float(r["97.5%"]), "ci90_low": float(ci90.loc[raw].iloc[0]),
                     "ci90_high": float(ci90.loc[raw].iloc[1])})
    return pd.DataFrame(rows, columns=TERM_COLUMNS)


def inferred_terms(terms, event_time, estimate, std_error, df: float = math.inf
                   ) -> pd.DataFrame:
    """Term rows of estimates and standard errors computed outside pyfixest: t, p and the 95%
    and 90% intervals from a t distribution with ``df`` degrees of freedom (infinite: normal)."""
    dist = sps.t(df) if np.isfinite(df) else sps.norm
    est, se = np.asarray(estimate, float), np.asarray(std_error, float)
    t = est / se
    q95, q90 = dist.ppf(0.975), dist.ppf(0.95)
    return pd.DataFrame({"term": list(terms), "event_time": np.asarray(event_time, float),
                         "estimate": est, "std_error": se, "t": t, "p": 2 * dist.sf(np.abs(t)),
                         "ci_low": est - q95 * se, "ci_high": est + q95 * se,
                         "ci90_low": est - q90 * se, "ci90_high": est + q90 * se,
                         "wild_p": np.nan}, columns=TERM_COLUMNS)


def from_pyfixest(model, formula: str, **statistics: float) -> Estimate:
    """An :class:`Estimate` of a fitted pyfixest model (N, R², within R², clusters)."""
    return Estimate(terms=terms_from_pyfixest(model), n_obs=pyfixest_model.n_obs(model),
                    formula=formula, r2=pyfixest_model.r2(model),
                    r2_within=pyfixest_model.r2_within(model),
                    n_clusters=pyfixest_model.n_clusters(model), statistics=dict(statistics))


def pyfixest_vcov(model) -> pd.DataFrame:
    """The coefficient covariance of a fitted pyfixest model, indexed by readable term names."""
    names = [term_name(str(n))[0] for n in model.coef().index]
    return pd.DataFrame(pyfixest_model.vcov(model), index=names, columns=names)


def wald_test(estimates: pd.Series, vcov: pd.DataFrame, names: list[str],
              df_denominator: float | None = None) -> dict[str, float]:
    """Joint test that the named coefficients are zero: F (with ``df_denominator``, else
    chi-squared / k) and its p-value."""
    b = estimates.loc[names].to_numpy(float)
    v = vcov.loc[names, names].to_numpy(float)
    k = len(names)
    stat = float(b @ np.linalg.solve(v, b))
    if df_denominator is None:
        return {"f": stat / k, "p": float(sps.chi2(k).sf(stat)), "k": k}
    return {"f": stat / k, "p": float(sps.f(k, df_denominator).sf(stat / k)), "k": k}


def _spec_fields(spec: Spec) -> dict:
    """The columns of a tidy row that describe the spec rather than its estimate."""
    return {"study": spec.study, "table": spec.table, "column": spec.column, "kind": spec.kind,
            "label": spec.label, "outcome": spec.outcome,
            "fixed_effects": "+".join(spec.fixed_effects), "controls": "+".join(spec.controls),
            "vcov": VCOV[spec.clustering.kind].format(spec.cluster, *spec.clustering.columns),
            "cluster": spec.cluster, "sample": spec.sample or "all",
            "meta": json.dumps(spec.meta, sort_keys=True, default=str), "audit": None}


def coefficient_rows(spec: Spec, est: Estimate, seconds: float) -> pd.DataFrame:
    """The tidy rows of one spec's estimate (schema ``COLUMNS``)."""
    t = est.terms
    rows = pd.DataFrame({
        **_spec_fields(spec), "term": t["term"], "event_time": t["event_time"],
        "is_control": t["term"].isin(spec.control_vars),
        **{c: t[c].astype(float) for c in TERM_COLUMNS[2:]},
        "n_obs": est.n_obs, "r2": est.r2, "r2_within": est.r2_within,
        "n_clusters": est.n_clusters, "formula": est.formula, "seconds": round(seconds, 4),
        "status": ESTIMATED, "reason": None}, index=range(len(t)))
    return rows[COLUMNS]


def not_estimable_row(spec: Spec, reason: str) -> pd.DataFrame:
    """The one tidy row of a spec the data cannot support: no term, no numbers, the reason."""
    row = pd.DataFrame({**_spec_fields(spec), "term": None, "is_control": False,
                        "n_obs": pd.array([pd.NA], dtype="Int64"), "formula": spec.formula,
                        "status": NOT_ESTIMABLE, "reason": reason}, index=range(1))
    return row.reindex(columns=COLUMNS)


def statistic_rows(spec: Spec, est: Estimate) -> pd.DataFrame:
    """One row per named statistic of a spec's estimate (schema ``STATISTIC_COLUMNS``)."""
    return pd.DataFrame([{"study": spec.study, "table": spec.table, "column": spec.column,
                          "statistic": k, "value": float(v)}
                         for k, v in est.statistics.items()], columns=STATISTIC_COLUMNS)


def not_estimable(rows: pd.DataFrame) -> dict[int, str]:
    """Column -> reason of the specs marked not estimable among a table's tidy rows (none
    where the rows carry no status)."""
    if "status" not in rows:
        return {}
    marked = rows[rows["status"] == NOT_ESTIMABLE]
    return {int(c): str(r) for c, r in zip(marked["column"], marked["reason"])}
