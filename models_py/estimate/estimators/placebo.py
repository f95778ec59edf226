"""Randomization inference for a staggered DID: re-draw the adoption schedule many times and
compare the real estimate with the placebo distribution.

Each draw shuffles which units get which cohort (first treated period, never-treated
included), so the number of units adopting in each period is kept; the placebo treatment of
a unit in a period is 1 from its drawn cohort on. pyfixest's ``ritest`` cannot do this (it
draws treatment values with replacement, and a unit-constant draw is absorbed by the unit
fixed effects).

All draws are estimated at once by Frisch-Waugh-Lovell: the outcome, the controls and every
placebo treatment column are demeaned by the fixed effects in one batch (pyfixest's demeaner
takes a matrix), the treatment columns are residualized on the demeaned controls, and each
coefficient is r_k'y / r_k'r_k. The coefficients equal those of one pyfixest ``feols`` per
draw (``bench/bench_s001.py`` checks this to 1e-8).

Options (:class:`Options`): ``draws`` (500), ``seed`` (the draws are reproducible), and the
panel's ``cohort``, ``unit``, ``time``. Statistics: ``ri_p`` (two-sided: (1 + #draws with
|b| >= |b_real|) / (1 + draws)), the placebo mean, standard deviation and 2.5/97.5
percentiles. Frame ``draws``: one row per draw with its coefficient.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from models_py.estimate.estimators import ols, timing, within
from models_py.estimate.study import Spec
from models_py.estimate.tidy import Estimate, from_pyfixest

LABEL = "Randomization inference"


class Options(timing.Panel):
    draws: int = Field(500, gt=0)    # re-drawn adoption schedules
    seed: int = 20240601             # the draws are reproducible


def columns(spec: Spec) -> list[str]:
    return [timing.unit(spec), timing.period(spec), timing.cohort(spec)]


def drop_singletons(data: pd.DataFrame, fixed_effects: list[str]) -> pd.DataFrame:
    """Drop rows alone in a fixed-effect level until none is left (as pyfixest does)."""
    while True:
        alone = np.zeros(len(data), bool)
        for fe in fixed_effects:
            alone |= data.groupby(fe)[fe].transform("size").to_numpy() == 1
        if not alone.any():
            return data
        data = data[~alone].reset_index(drop=True)


def drawn_cohorts(cohorts: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """(draws, units) cohorts: each row a permutation of the units' real cohorts."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(cohorts) for _ in range(draws)])


def treatment_columns(unit_index: np.ndarray, periods: np.ndarray, cohorts: np.ndarray
                      ) -> np.ndarray:
    """(rows, draws) 0/1 treatment: row's period >= its unit's cohort in each draw (NaN cohort:
    never treated)."""
    c = cohorts.T[unit_index]                      # (rows, draws)
    with np.errstate(invalid="ignore"):
        return (periods[:, None] >= c).astype(float)


def fwl_coefficients(y: np.ndarray, controls: np.ndarray, treatments: np.ndarray,
                     fixed_effects: np.ndarray) -> np.ndarray:
    """Coefficient of each treatment column in y ~ treatment + controls | fixed effects.

    ``fixed_effects`` is an (n, f) integer code matrix; one demeaning pass handles y, the
    controls and all treatment columns together."""
    demeaned = within.demeaned(np.column_stack([y, controls, treatments]), fixed_effects)
    k = controls.shape[1]
    yt, xt, dt = demeaned[:, 0], demeaned[:, 1:1 + k], demeaned[:, 1 + k:]
    if k:
        dt = dt - xt @ np.linalg.lstsq(xt, dt, rcond=None)[0]
    return (dt.T @ yt) / np.einsum("ij,ij->j", dt, dt)


def placebo_coefficients(data: pd.DataFrame, spec: Spec, draws: int, seed: int
                         ) -> tuple[np.ndarray, pd.DataFrame]:
    """The placebo coefficients of ``draws`` re-drawn schedules, and the sample used
    (singletons dropped)."""
    data = drop_singletons(data, list(spec.fixed_effects))
    units, cohorts = timing.unit_cohorts(data, spec)
    unit_index = pd.Index(units).get_indexer(data[timing.unit(spec)])
    schedule = drawn_cohorts(cohorts, draws, seed)
    d = treatment_columns(unit_index, data[timing.period(spec)].to_numpy(float), schedule)
    fe = within.fixed_effect_codes(data, spec.fixed_effects)
    controls = data[list(spec.control_vars)].to_numpy(float).reshape(len(data), -1)
    return fwl_coefficients(data[spec.outcome].to_numpy(float), controls, d, fe), data


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    draws, seed = spec.options.draws, spec.options.seed
    est = from_pyfixest(ols.feols(spec.formula, data, spec), spec.formula)
    actual = float(est.terms.set_index("term").loc[spec.regressors[0], "estimate"])
    betas, _ = placebo_coefficients(data, spec, draws, seed)
    exceed = int((np.abs(betas) >= abs(actual) - 1e-12).sum())
    est.statistics.update({
        "draws": float(draws), "seed": float(seed), "ri_p": (1 + exceed) / (1 + draws),
        "placebo_mean": float(betas.mean()), "placebo_sd": float(betas.std(ddof=1)),
        "placebo_p025": float(np.quantile(betas, 0.025)),
        "placebo_p975": float(np.quantile(betas, 0.975))})
    est.frames["draws"] = pd.DataFrame({"draw": np.arange(1, draws + 1), "estimate": betas})
    return est
