"""Estimate specs with pyfixest and return tidy coefficient rows.

One row per (spec, term): estimate, clustered standard error (CRV1), t, p, 95% and 90%
confidence intervals, N, R², the fixed effects, the vcov, the sample and the seconds the fit took.
"""
from __future__ import annotations

import json
import logging
import time
import warnings
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import pyfixest as pf

from models_py.estimate.specs import Spec

log = logging.getLogger(__name__)

COLUMNS = ["study", "table", "column", "label", "outcome", "term", "is_control", "estimate",
           "std_error", "t", "p", "ci_low", "ci_high", "ci90_low", "ci90_high", "n_obs", "r2",
           "r2_within", "fixed_effects", "controls", "vcov", "cluster", "n_clusters", "sample",
           "formula", "meta", "seconds"]

BIG_FIT_ROWS = 50_000  # above this, fit lean (no data or residuals kept on the model)


def sample_frame(df: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """The rows and columns a spec is estimated on (sample filter applied, NaN rows dropped)."""
    sub = df.query(spec.sample) if spec.sample else df
    missing = [v for v in spec.variables if v not in sub.columns]
    if missing:
        raise KeyError(f"spec {spec.study}/{spec.table}/{spec.column}: columns {missing} not in "
                       f"the mart (have {sorted(sub.columns)})")
    return sub[spec.variables].dropna().reset_index(drop=True)


def fit_spec(df: pd.DataFrame, spec: Spec, data_is_sample: bool = False):
    """Fit one spec with pyfixest (CRV1 by ``spec.cluster``); return (model, n_obs, seconds)."""
    data = df if data_is_sample else sample_frame(df, spec)
    if len(data) == 0:
        raise ValueError(f"spec {spec.table}/{spec.column}: sample {spec.sample!r} is empty")
    big = len(data) > BIG_FIT_ROWS
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pf.feols(spec.formula, data=data, vcov={"CRV1": spec.cluster},
                         store_data=not big, copy_data=not big, lean=big)
    return model, len(data), time.perf_counter() - t0


def tidy_rows(model, spec: Spec, n_obs: int, seconds: float) -> pd.DataFrame:
    td = model.tidy()
    ci90 = model.confint(alpha=0.10)
    n_clusters = getattr(model, "_G", [np.nan])
    n_clusters = int(n_clusters[0]) if len(n_clusters) else np.nan
    rows = []
    for term, r in td.iterrows():
        rows.append({
            "study": spec.study, "table": spec.table, "column": spec.column,
            "label": spec.label, "outcome": spec.outcome, "term": term,
            "is_control": term in spec.control_vars,
            "estimate": float(r["Estimate"]), "std_error": float(r["Std. Error"]),
            "t": float(r["t value"]), "p": float(r["Pr(>|t|)"]),
            "ci_low": float(r["2.5%"]), "ci_high": float(r["97.5%"]),
            "ci90_low": float(ci90.loc[term].iloc[0]), "ci90_high": float(ci90.loc[term].iloc[1]),
            "n_obs": int(getattr(model, "_N", n_obs)), "r2": float(getattr(model, "_r2", np.nan)),
            "r2_within": float(getattr(model, "_r2_within", np.nan)),
            "fixed_effects": "+".join(spec.fixed_effects), "controls": "+".join(spec.controls),
            "vcov": f"CRV1 by {spec.cluster}", "cluster": spec.cluster,
            "n_clusters": n_clusters, "sample": spec.sample or "all",
            "formula": spec.formula, "meta": json.dumps(spec.meta, sort_keys=True),
            "seconds": round(seconds, 4)})
    return pd.DataFrame(rows, columns=COLUMNS)


def estimate(df: pd.DataFrame, specs: Iterable[Spec],
             progress: Callable[[str], None] | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Fit every spec; return the tidy rows and the specs that failed (with the error).

    ``progress`` receives one line per spec (e.g. a Dagster ``context.log.info``)."""
    specs = list(specs)
    frames, failures = [], []
    say = progress or log.info
    for k, spec in enumerate(specs, start=1):
        try:
            model, n, secs = fit_spec(df, spec)
            frames.append(tidy_rows(model, spec, n, secs))
            say(f"[{k}/{len(specs)}] {spec.table} ({spec.column}) {spec.formula} "
                f"[{spec.sample or 'all'}]: N={n}, {secs:.2f}s")
        except Exception as exc:  # one failed spec does not stop the study
            failures.append({"table": spec.table, "column": spec.column,
                             "formula": spec.formula, "sample": spec.sample,
                             "error": f"{type(exc).__name__}: {exc}"})
            say(f"[{k}/{len(specs)}] {spec.table} ({spec.column}) FAILED: {exc}")
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    return rows, failures
