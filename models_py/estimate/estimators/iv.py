"""IV-2SLS with fixed effects, its first stage and weak-instrument statistics.

``y ~ controls | fixed effects | endogenous ~ instruments`` (pyfixest ``feols``; one
endogenous regressor, the spec's only regressor; option ``instruments``). Statistics:

- ``first_stage_coef``: the first-stage coefficient of the first instrument;
- ``kp_f``: the Kleibergen-Paap rk Wald F with clustered errors, computed here on the data
  demeaned by the fixed effects with the controls partialled out (pyfixest 0.60 has none).
  With one endogenous regressor the rk Wald statistic is the cluster-robust Wald statistic of
  the instruments in the first stage, W = pi' V^-1 pi with V = (Z'Z)^-1 (sum_g s_g s_g')
  (Z'Z)^-1; the F is W / L * (N - K) / N * (G - 1) / G (ivreg2's scaling; L instruments,
  K = L + controls, G clusters);
- ``effective_f``: the Olea-Pflueger effective F and ``first_stage_f`` the first-stage F with
  the model's vcov, both from pyfixest's ``IV_Diag``.

With option ``wild_bootstrap`` (:mod:`.wild_bootstrap`) the endogenous regressor's row gets the
wild cluster bootstrap p-value of the Anderson-Rubin test of a zero effect: with one instrument
that is the test of the instrument's coefficient in the reduced form (outcome on instrument,
controls and fixed effects), which pyfixest can bootstrap (it bootstraps no IV fit) and which
keeps its size however weak the instrument.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from models_py.estimate import pyfixest_model
from models_py.estimate.estimators import ols, timing, wild_bootstrap, within
from models_py.estimate.study import Spec
from models_py.estimate.tidy import Estimate, from_pyfixest

LABEL = "2SLS"

WildBootstrap = wild_bootstrap.Settings


class Options(timing.Panel):
    instruments: list[str] = Field(min_length=1)     # mart columns
    wild_bootstrap: WildBootstrap | None = None


def instruments(spec: Spec) -> list[str]:
    return list(spec.options.instruments)


def columns(spec: Spec) -> list[str]:
    return instruments(spec)


def iv_formula(spec: Spec) -> str:
    if len(spec.regressors) != 1:
        raise ValueError(f"iv takes one endogenous regressor, got {list(spec.regressors)}")
    exog = " + ".join(spec.control_vars) or "1"
    fe = " + ".join(spec.fixed_effects) or "0"
    return (f"{spec.outcome} ~ {exog} | {fe} | {spec.regressors[0]} ~ "
            f"{' + '.join(instruments(spec))}")


def kleibergen_paap_f(endogenous: np.ndarray, instruments_: np.ndarray, exogenous: np.ndarray,
                      fixed_effects: np.ndarray | None, clusters: np.ndarray) -> dict[str, float]:
    """Kleibergen-Paap rk Wald statistic and F for one endogenous regressor (module doc).

    ``fixed_effects`` is an (n, f) integer code matrix (None: no fixed effects, a constant is
    partialled out instead); ``clusters`` one code per row."""
    n = len(endogenous)
    z = instruments_.reshape(n, -1)
    x = exogenous.reshape(n, -1)
    stacked = np.column_stack([endogenous, z, x]).astype(float)
    if fixed_effects is not None and fixed_effects.size:
        stacked = within.demeaned(stacked, fixed_effects)
    else:
        stacked = stacked - stacked.mean(axis=0)
    L = z.shape[1]
    d, z, x = stacked[:, 0], stacked[:, 1:1 + L], stacked[:, 1 + L:]
    if x.shape[1]:
        coef = np.linalg.lstsq(x, np.column_stack([d, z]), rcond=None)[0]
        resid = np.column_stack([d, z]) - x @ coef
        d, z = resid[:, 0], resid[:, 1:]
    bread = np.linalg.inv(z.T @ z)
    pi = bread @ z.T @ d
    u = d - z @ pi
    codes, _ = pd.factorize(clusters)
    G = codes.max() + 1
    scores = np.zeros((G, L))
    np.add.at(scores, codes, z * u[:, None])
    v = bread @ (scores.T @ scores) @ bread
    wald = float(pi @ np.linalg.solve(v, pi))
    k = L + x.shape[1]
    return {"kp_wald": wald, "kp_f": wald / L * (n - k) / n * (G - 1) / G,
            "first_stage_coef": float(pi[0])}


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    formula = iv_formula(spec)
    model = ols.feols(formula, data, spec)
    model.IV_Diag()
    est = from_pyfixest(model, formula)
    fe = within.fixed_effect_codes(data, spec.fixed_effects) if spec.fixed_effects else None
    kp = kleibergen_paap_f(data[spec.regressors[0]].to_numpy(float),
                           data[instruments(spec)].to_numpy(float),
                           data[list(spec.control_vars)].to_numpy(float), fe,
                           data[spec.cluster or spec.fixed_effects[0]].to_numpy())
    est.statistics.update({**kp, **pyfixest_model.first_stage_statistics(model)})
    if wild_bootstrap.settings(spec):
        est.terms = wild_bootstrap.attach(est.terms, {spec.regressors[0]: anderson_rubin_p(
            data, spec)})
        est.statistics["wild_reps"] = float(wild_bootstrap.settings(spec).reps)
    return est


def anderson_rubin_p(data: pd.DataFrame, spec: Spec) -> float:
    """Wild cluster bootstrap p-value of the reduced-form coefficient of the (single)
    instrument: the Anderson-Rubin test that the endogenous regressor has no effect."""
    if len(instruments(spec)) != 1:
        raise ValueError("wild_bootstrap of an iv spec takes one instrument (the Anderson-Rubin "
                         f"test in the reduced form); got {instruments(spec)}")
    z = instruments(spec)[0]
    rhs = " + ".join([z, *spec.control_vars])
    fe = " + ".join(spec.fixed_effects)
    formula = f"{spec.outcome} ~ {rhs}" + (f" | {fe}" if fe else "")
    coded = wild_bootstrap.with_cluster_codes(data, spec)
    model = ols.feols(formula, coded, spec, keep_data=True)
    return wild_bootstrap.p_values(model, [z], spec)[z]
