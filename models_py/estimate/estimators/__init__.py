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

| kind | module | what |
|---|---|---|
| ``ols`` | :mod:`.ols` | OLS with fixed effects (pyfixest ``feols``) |
| ``event_study`` | :mod:`.event_study` | TWFE leads and lags, pre-trend Wald test, relative-magnitude bounds |
| ``did_imputation`` | :mod:`.did_imputation` | heterogeneity-robust DID (Gardner two-stage / imputation, pyfixest ``did2s``) |
| ``placebo`` | :mod:`.placebo` | randomization inference over re-drawn adoption schedules |
| ``psm_did`` | :mod:`.psm_did` | year-by-year propensity-score matching, balance, DID on the matched sample |
| ``iv`` | :mod:`.iv` | 2SLS with fixed effects, Kleibergen-Paap and effective first-stage F |
| ``spatial_did`` | :mod:`.spatial_did` | DID with the spatial lag of treatment (direct and spillover effects) |
| ``vif`` | :mod:`.vif` | variance inflation factors of a spec's regressors |
"""
from __future__ import annotations

import time
from types import ModuleType

import pandas as pd

from models_py.estimate.estimators import (did_imputation, event_study, iv, ols, placebo,
                                           psm_did, spatial_did, vif)
from models_py.estimate.specs import Spec
from models_py.estimate.tidy import Estimate

KINDS: dict[str, ModuleType] = {
    "ols": ols, "event_study": event_study, "did_imputation": did_imputation,
    "placebo": placebo, "psm_did": psm_did, "iv": iv, "spatial_did": spatial_did, "vif": vif,
}


class SpecError(RuntimeError):
    """A spec that could not be estimated; the message names the spec and the cause."""


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
    value dropped (a missing cohort only marks a never-treated unit), numbers as floats."""
    needed = needed or columns(spec)
    missing = [v for v in needed if v not in mart.columns]
    if missing:
        raise KeyError(f"columns {missing} not in {spec.mart}")
    sub = sample(mart, spec.sample)
    cohort = spec.options.cohort
    out = sub[needed].dropna(subset=[c for c in needed if c != cohort]).reset_index(drop=True)
    if len(out) == 0:
        raise ValueError(f"sample {spec.sample or 'all'!r} has no complete rows")
    return out


def estimate(mart: pd.DataFrame, spec: Spec, inputs: dict[str, pd.DataFrame] | None = None
             ) -> tuple[Estimate, float]:
    """Estimate one spec on a mart: prepare, cut the sample, fit. Returns the estimate and the
    seconds it took; any failure is raised as :class:`SpecError` naming the spec."""
    t0 = time.perf_counter()
    module = kind_module(spec)
    try:
        prepare = getattr(module, "prepare", None)
        panel = prepare(mart, spec, inputs or {}) if prepare else mart
        est = module.fit(sample_frame(panel, spec), spec)
    except Exception as exc:
        raise SpecError(f"spec {spec.study}/{spec.table} column ({spec.column}) "
                        f"[{spec.kind}: {spec.formula}; sample {spec.sample or 'all'}] failed: "
                        f"{type(exc).__name__}: {exc}") from exc
    return est, time.perf_counter() - t0
