"""IV-2SLS with fixed effects, its first stage and weak-instrument statistics.

``y ~ controls | fixed effects | endogenous ~ instruments`` (pyfixest ``feols``; one
endogenous regressor, the spec's only regressor; option ``instruments``, one or more), with
the spec's variance (HC1, or CRV1 by one or two cluster variables). Statistics
(:mod:`.iv_diagnostics`, which states each formula and convention): ``first_stage_coef`` (of
the first instrument), the robust ``first_stage_f`` and Montiel Olea-Pflueger ``effective_f``
with the spec's variance, on instruments partialled on the controls and fixed effects; the
Kleibergen-Paap rk Wald statistic and F (``kp_wald``, ``kp_f``) and rk LM underidentification
test (``kp_lm``, ``kp_lm_p``) as ivreghdfe computes and scales them; Hansen's J when
overidentified (``hansen_j``, ``hansen_j_p``); the Anderson-Rubin test of a zero effect
(``ar_p``) and 95% confidence set (``ar_low``, ``ar_high``).

With option ``wild_bootstrap`` (:mod:`.wild_bootstrap`) the endogenous regressor's row gets the
wild cluster bootstrap p-value of the Anderson-Rubin test of a zero effect: with one instrument
that is the test of the instrument's coefficient in the reduced form (outcome on instrument,
controls and fixed effects), which pyfixest can bootstrap (it bootstraps no IV fit) and which
keeps its size however weak the instrument.
"""
from __future__ import annotations

import pandas as pd
from pydantic import Field

from models_py.estimate.estimators import iv_diagnostics, ols, timing, wild_bootstrap
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


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    formula = iv_formula(spec)
    model = ols.feols(formula, data, spec)
    est = from_pyfixest(model, formula)
    endogenous = spec.regressors[0]
    row = est.terms.set_index("term").loc[endogenous]
    est.statistics.update(iv_diagnostics.statistics(
        data, spec, endogenous, instruments(spec), float(row["estimate"]),
        float(row["std_error"])))
    if wild_bootstrap.settings(spec):
        est.terms = wild_bootstrap.attach(est.terms, {endogenous: anderson_rubin_p(data, spec)})
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
