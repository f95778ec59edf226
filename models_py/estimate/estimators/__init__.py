"""Estimator kinds and the one place a spec is dispatched to its kind.

Each kind is a module with ``fit(data, spec) -> Estimate`` and, where it needs more than the
spec's formula variables, ``columns(spec)`` (extra mart columns), ``prepare(mart, spec,
inputs)`` (columns derived on the whole panel before the sample is cut, e.g. event time or the
spatial lag of treatment; ``inputs`` holds the other relations the spec names) and
``derived(spec)`` (the names of those derived columns). Every kind declares its options in
one place, a pydantic model ``Options`` (a subclass of :class:`.timing.Panel`, with types and
defaults; the study schema is built from them and a spec's ``options`` is an instance), and
``LABEL``, how a table names it. The layer knows estimator kinds, never studies: a study picks
kinds and options in its YAML.

Before and around each fit the dispatch checks that the data can support the spec, and raises
:class:`NotEstimable` with the reason when it cannot (no values, an empty sample, nothing that
varies, too few clusters, a singular design): a result the table reports, not a failure.

| kind | module | what |
|---|---|---|
| ``ols`` | :mod:`.ols` | OLS with fixed effects (pyfixest ``feols``) |
| ``event_study`` | :mod:`.event_study` | TWFE leads and lags, pre-trend Wald test, relative-magnitude bounds |
| ``did_imputation`` | :mod:`.did_imputation` | heterogeneity-robust DID (Gardner two-stage / imputation, GMM or BJS leave-out errors) |
| ``callaway_santanna`` | :mod:`.callaway_santanna` | group-time ATT(g, t) and their aggregations (Callaway and Sant'Anna; R ``did``) |
| ``sun_abraham`` | :mod:`.sun_abraham` | interaction-weighted event study (Sun and Abraham) |
| ``bacon`` | :mod:`.bacon` | Goodman-Bacon decomposition of the TWFE DID estimate |
| ``placebo`` | :mod:`.placebo` | randomization inference over re-drawn adoption schedules |
| ``psm_did`` | :mod:`.psm_did` | year-by-year propensity-score matching (k nearest, caliper, common support), balance, DID on the matched sample |
| ``iv`` | :mod:`.iv` | 2SLS with fixed effects; effective F, Kleibergen-Paap, Hansen J, Anderson-Rubin (:mod:`.iv_diagnostics`) |
| ``spatial_did`` | :mod:`.spatial_did` | DID with the spatial lag of treatment (direct and spillover effects), Conley errors |
| ``vif`` | :mod:`.vif` | variance inflation factors of a spec's regressors |
"""
from __future__ import annotations

import time
from types import ModuleType

import numpy as np
import pandas as pd

from models_py import reference
from models_py.estimate.estimators import (bacon, callaway_santanna, did_imputation,
                                           event_study, iv, ols, placebo, psm_did, spatial_did,
                                           sun_abraham, vif, within)
from models_py.estimate.estimators.errors import NotEstimable, SpecError
from models_py.estimate.study import Spec, sample_columns
from models_py.estimate.tidy import Estimate

KINDS: dict[str, ModuleType] = {
    "ols": ols, "event_study": event_study, "did_imputation": did_imputation,
    "placebo": placebo, "psm_did": psm_did, "iv": iv, "spatial_did": spatial_did, "vif": vif,
    "callaway_santanna": callaway_santanna, "sun_abraham": sun_abraham, "bacon": bacon,
}

# Kinds whose terms are not coefficients (a VIF, a comparison type's mean 2x2 estimate): left
# out of a study's collected coefficients.
DESCRIPTIVE = ("vif", "bacon")

# Kinds whose estimate reports a term for each of the spec's regressors (a regressor missing
# from their terms was dropped as collinear).
REPORTS_REGRESSORS = ("ols", "iv", "spatial_did")


def kind_module(spec: Spec) -> ModuleType:
    try:
        return KINDS[spec.kind]
    except KeyError:
        raise ValueError(f"spec {spec.study}/{spec.table} ({spec.column}): unknown estimator "
                         f"kind {spec.kind!r}; expected one of {sorted(KINDS)}") from None


def _hook(spec: Spec, name: str) -> list[str]:
    return list(getattr(kind_module(spec), name, lambda s: [])(spec))


def columns(spec: Spec) -> list[str]:
    """Every column the spec's sample holds (derived columns included)."""
    return list(dict.fromkeys([*spec.variables, *_hook(spec, "columns"),
                               *_hook(spec, "derived")]))


def mart_columns(spec: Spec) -> list[str]:
    """The columns to read from the spec's mart (those not derived by the kind)."""
    derived = set(_hook(spec, "derived"))
    return [c for c in columns(spec) if c not in derived]


def as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """Boolean and nullable numeric columns as floats, a missing value as NaN (so that a
    sample filter such as ``not (first_year == 1998)`` keeps the rows without a first year)."""
    def numeric(dtype) -> bool:
        return dtype == bool or (pd.api.types.is_extension_array_dtype(dtype)
                                 and pd.api.types.is_numeric_dtype(dtype))
    convert = [c for c in frame.columns if numeric(frame[c].dtype)]
    return frame.astype({c: float for c in convert}) if convert else frame


def sample(frame: pd.DataFrame, condition: str) -> pd.DataFrame:
    """The rows of ``frame`` a sample filter (a pandas query; "" = all) keeps."""
    frame = as_floats(frame)
    return frame.query(condition) if condition else frame


def sample_frame(mart: pd.DataFrame, spec: Spec, needed: list[str] | None = None
                 ) -> pd.DataFrame:
    """The rows and columns a spec is estimated on: sample filter applied, rows with a missing
    value dropped (a missing cohort only marks a never-treated unit), numbers as floats.
    Raises :class:`NotEstimable` when no row is left, naming the columns without values."""
    needed = needed or columns(spec)
    missing = [v for v in needed if v not in mart.columns]
    if missing:
        raise KeyError(f"columns {missing} not in {spec.mart}")
    sub = sample(mart, spec.sample)
    name = spec.sample or "all"
    if len(sub) == 0:
        named = sample_columns(spec.sample)
        empty = [c for c in dict.fromkeys(named) if c in mart.columns and mart[c].isna().all()]
        raise NotEstimable(f"sample {name!r} keeps no rows of {spec.mart}"
                           + (f": {_without_values(empty)}" if empty else ""))
    cohort = spec.options.cohort
    out = sub[needed].dropna(subset=[c for c in needed if c != cohort]).reset_index(drop=True)
    if len(out) == 0:
        empty = [c for c in needed if c != cohort and sub[c].isna().all()]
        raise NotEstimable(f"sample {name!r} has no complete rows: "
                           + (_without_values(empty) if empty else
                              "no row has values in all of " + ", ".join(needed)))
    return out


def _without_values(columns: list[str]) -> str:
    """'x, y have no values' with the raw indicators behind each column, where known."""
    named = []
    for column in columns:
        origin = reference.raw_indicators(column)
        named.append(f"{column} (from {origin})" if origin else column)
    return ", ".join(named) + (" has" if len(columns) == 1 else " have") + " no values"


def _varies(values: pd.Series) -> bool:
    return values.nunique(dropna=True) > 1


def check_estimable(data: pd.DataFrame, spec: Spec) -> None:
    """Raise :class:`NotEstimable` when a spec's sample cannot identify or test what it asks:
    a treatment indicator or treated group without treated or without comparison rows, a
    cohort column with no treated unit, a regressor (or a part of an interaction) that does
    not vary, or too few clusters for its clustered variance (:func:`clusters_needed`; variance
    inflation factors have no variance and need none)."""
    for option in ("treatment", "group"):
        name = getattr(spec.options, option, None)
        if name in data.columns and not _varies(data[name]):
            which = "treated" if data[name].iloc[0] == 0 else "comparison"
            raise NotEstimable(f"no {which} rows: {option} {name} is {data[name].iloc[0]} "
                               f"in every row of sample {spec.sample or 'all'!r}")
    cohort = spec.options.cohort
    if cohort in data.columns and data[cohort].isna().all():
        raise NotEstimable(f"no treated units: {cohort} is missing for every unit of sample "
                           f"{spec.sample or 'all'!r}")
    for regressor in spec.regressors:
        for part in regressor.split(":"):
            if part in data.columns and not _varies(data[part]):
                raise NotEstimable(f"{part} does not vary in sample {spec.sample or 'all'!r} "
                                   f"(every row is {data[part].iloc[0]})")
    needed = clusters_needed(spec)
    c = spec.clustering
    groups = [c.columns] if c.kind == "dyadic" else [(n,) for n in c.columns]
    for names in groups if spec.kind != "vif" else []:
        if not set(names) <= set(data.columns):
            continue
        count = pd.unique(data[list(names)].to_numpy().ravel()).size
        if count < needed:
            raise NotEstimable(f"too few clusters: {count} values of {' and '.join(names)} "
                               f"for {needed - 1} coefficients (a clustered variance "
                               f"of k coefficients needs at least k + 1 clusters)")


def clusters_needed(spec: Spec) -> int:
    """The fewest clusters a spec's CRV1 variance needs: the scores of G clusters sum to zero,
    so the variance of k coefficients has rank at most G - 1 and is singular unless G > k; k
    counts the spec's regressors and controls (what the fixed effects do not absorb)."""
    return len(spec.regressors) + len(spec.control_vars) + 1


def check_design(data: pd.DataFrame, spec: Spec) -> None:
    """Raise :class:`NotEstimable` when the fixed effects and the other regressors and
    controls explain a regressor of interest fully (a singular design): each term (the product
    of its parts, for an interaction) demeaned by the fixed effects, a regressor is collinear
    when leaving it out does not lower the design's rank. Asked only when a fit failed, since
    it costs a demeaning."""
    terms = [*spec.regressors, *spec.control_vars]
    if spec.kind not in REPORTS_REGRESSORS or not all(
            p in data.columns for t in terms for p in t.split(":")):
        return
    x = np.column_stack([np.prod([data[p].to_numpy(float) for p in t.split(":")], axis=0)
                         for t in terms])
    tol = 1e-8 * max(float(np.abs(x).max()), 1.0) * np.sqrt(len(x))
    fe = [f for f in spec.fixed_effects if f in data.columns]
    x = within.demeaned(x, within.fixed_effect_codes(data, fe)) if fe else x - x.mean(axis=0)
    rank = np.linalg.matrix_rank(x, tol=tol)
    collinear = [t for k, t in enumerate(spec.regressors)
                 if np.linalg.matrix_rank(np.delete(x, k, axis=1), tol=tol) == rank]
    if collinear:
        raise NotEstimable(f"singular design: {', '.join(collinear)} collinear with the fixed "
                           "effects or the other regressors")


def check_reported(est: Estimate, spec: Spec) -> None:
    """Raise :class:`NotEstimable` when the fit dropped a regressor of interest as collinear
    (with the fixed effects or the other regressors): a singular design."""
    terms = set(est.terms["term"])
    dropped = [r for r in spec.regressors if r not in terms]
    if spec.kind in REPORTS_REGRESSORS and (dropped or not len(est.terms)):
        raise NotEstimable("singular design: " + (", ".join(dropped) or "every regressor")
                           + " collinear with the fixed effects or the other regressors")


def estimate(mart: pd.DataFrame, spec: Spec, inputs: dict[str, pd.DataFrame] | None = None
             ) -> tuple[Estimate, float]:
    """Estimate one spec on a mart: prepare, cut the sample, check it, fit. Returns the
    estimate and the seconds it took. A spec the data cannot support raises
    :class:`NotEstimable`; any other failure is raised as :class:`SpecError` naming the spec."""
    t0 = time.perf_counter()
    module = kind_module(spec)
    try:
        prepare = getattr(module, "prepare", None)
        panel = prepare(mart, spec, inputs or {}) if prepare else mart
        data = sample_frame(panel, spec)
        check_estimable(data, spec)
        try:
            est = module.fit(data, spec)
        except Exception:
            check_design(data, spec)    # a singular design is not estimable; else the error
            raise
        check_reported(est, spec)
    except NotEstimable:
        raise
    except Exception as exc:
        raise SpecError(f"spec {spec.study}/{spec.table} column ({spec.column}) "
                        f"[{spec.kind}: {spec.formula}; sample {spec.sample or 'all'}] failed: "
                        f"{type(exc).__name__}: {exc}") from exc
    return est, time.perf_counter() - t0
