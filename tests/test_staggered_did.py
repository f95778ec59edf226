"""The Goodman-Bacon decomposition and the Sun–Abraham event study on simulated staggered panels
(unit-level data, no warehouse): the decomposition's weights sum to one and its weighted sum is
pyfixest's TWFE coefficient (1e-8), with and without never-treated units; the Sun–Abraham
event-time effects and standard errors equal pyfixest's saturated event study aggregated by
cohort shares (1e-8), and they recover effects that TWFE mis-weights."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from models_py.estimate import estimators
from models_py.estimate.estimators import bacon, callaway_santanna, sun_abraham
from models_py.estimate.study import Spec


def staggered(seed: int, cohorts=(2002.0, 2004.0, 2007.0, np.inf), units: int = 300
              ) -> tuple[pd.DataFrame, callable]:
    """A balanced panel 2000-2009, effects 0.5 + 0.2 x event time from adoption; a missing
    cohort marks never-treated units. Returns the long frame and the true effect by event time."""
    rng = np.random.default_rng(seed)
    periods = np.arange(2000.0, 2010.0)
    cohort = rng.choice(cohorts, size=units)
    event = periods[None, :] - cohort[:, None]
    effect = lambda e: np.where(e >= 0, 0.5 + 0.2 * e, 0.0)  # noqa: E731
    y = rng.normal(size=(units, 1)) + 0.1 * periods[None, :] + effect(event) \
        + rng.normal(size=(units, len(periods)))
    frame = pd.DataFrame({"u": np.repeat(np.arange(units), len(periods)),
                          "t": np.tile(periods, units), "y": y.ravel(),
                          "g": np.repeat(np.where(np.isfinite(cohort), cohort, np.nan),
                                         len(periods)),
                          "d": (event >= 0).astype(float).ravel()})
    return frame, effect


def spec(kind: str, **options) -> Spec:
    module = estimators.KINDS[kind]
    return Spec(study="T", table="t", column=1, kind=kind, outcome="y", regressors=(),
                controls=(), control_vars=(), fixed_effects=("u", "t"), cluster="u", sample="",
                label="", options=module.Options(unit="u", time="t", cohort="g", treatment="d",
                                                 **options))


def twfe(frame: pd.DataFrame) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(pf.feols("y ~ d | u + t", frame, fixef_tol=1e-14).coef()["d"])


@pytest.mark.parametrize("cohorts", [(2002.0, 2004.0, 2007.0, np.inf), (2002.0, 2005.0, 2008.0)],
                         ids=["with_never_treated", "only_timing_groups"])
def test_bacon_weights_sum_to_one_and_weighted_sum_is_twfe(cohorts):
    frame, _ = staggered(1, cohorts)
    est, _ = estimators.estimate(frame, spec("bacon"))
    comparisons = est.frames["comparisons"]
    assert comparisons["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (comparisons["weight"] > 0).all()
    assert est.statistics["twfe"] == pytest.approx(twfe(frame), abs=1e-8)
    total = est.frames["summary"].set_index("type").loc[bacon.TOTAL]
    assert total["estimate"] == est.statistics["twfe"] and total["weight"] == pytest.approx(1)
    types = set(comparisons["type"])
    expected = {bacon.EARLIER, bacon.LATER} | ({bacon.NEVER} if np.inf in cohorts else set())
    assert types == expected
    # each type's term is its weighted mean 2x2 estimate; the later-vs-earlier comparisons
    # subtract the earlier cohort's growing effect, so they fall below the others
    terms = est.terms.set_index("term")["estimate"]
    assert terms[bacon.LATER] < terms[bacon.EARLIER]
    n_cohorts = len([c for c in cohorts if np.isfinite(c)])
    assert len(comparisons) == n_cohorts * (n_cohorts - 1) + (n_cohorts if np.inf in cohorts
                                                              else 0)


def test_bacon_decomposes_on_the_balanced_part_of_a_panel():
    frame, _ = staggered(2)
    gaps = frame.drop(frame[(frame["u"] < 5) & (frame["t"] == 2003.0)].index)
    est, _ = estimators.estimate(gaps, spec("bacon"))
    assert est.statistics["units_dropped"] == 5
    assert est.statistics["twfe"] == pytest.approx(twfe(gaps[gaps["u"] >= 5]), abs=1e-8)


def test_sun_abraham_equals_pyfixest_saturated_event_study():
    frame, _ = staggered(3)
    est, _ = estimators.estimate(frame, spec("sun_abraham", window=(-9, 9)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saturated = pf.event_study(frame.assign(g=frame["g"].fillna(0.0)), yname="y",
                                   idname="u", tname="t", gname="g", estimator="saturated",
                                   cluster="u")
        reference = saturated.aggregate().astype(float)
    mine = est.terms.set_index("event_time")
    assert sorted(mine.index) == sorted(reference.index)
    np.testing.assert_allclose(mine.loc[reference.index, "estimate"], reference["Estimate"],
                               rtol=0, atol=1e-8)
    np.testing.assert_allclose(mine.loc[reference.index, "std_error"], reference["Std. Error"],
                               rtol=0, atol=1e-8)


def test_sun_abraham_and_callaway_santanna_recover_dynamic_effects_twfe_misses():
    frame, effect = staggered(4, units=600)
    events = np.arange(0.0, 5.0)
    sa, _ = estimators.estimate(frame, spec("sun_abraham", window=(-4, 4)))
    cs, _ = estimators.estimate(frame, spec("callaway_santanna", window=(-4, 4), reps=199,
                                            base_period="universal"))
    for est in (sa, cs):
        lags = est.terms.set_index("event_time").loc[events[:-1]]   # 4 is binned for SA
        inside = (lags["ci_low"] < effect(lags.index.to_numpy())) & (
            effect(lags.index.to_numpy()) < lags["ci_high"])
        assert inside.all(), lags[["estimate", "ci_low", "ci_high"]]
    # the universal base period: no reference term, long differences before adoption
    assert -1 not in set(cs.terms["event_time"]) and cs.statistics["reference_period"] == -1
    assert cs.statistics["att"] == pytest.approx(
        callaway_santanna.aggregate(callaway_santanna.att_gt(callaway_santanna.wide_panel(
            frame, "y", "u", "t", "g"), base_period="universal"), "simple").overall)
    assert cs.statistics["uniform_critical_value"] > 1.96
    assert sa.statistics["pretrend_p"] > 0.01 and cs.statistics["pretrend_p"] > 0.01


def test_without_never_treated_units_sun_abraham_compares_with_the_last_cohort():
    frame, effect = staggered(5, (2002.0, 2005.0, 2008.0), units=600)
    est, _ = estimators.estimate(frame, spec("sun_abraham", window=(-4, 4)))
    assert est.statistics["control_cohort"] == 2008
    assert est.n_obs == (frame["t"] < 2008).sum()
    lags = est.terms.set_index("event_time").loc[[0.0, 1.0, 2.0]]
    truth = effect(lags.index.to_numpy())
    assert ((lags["ci_low"] < truth) & (truth < lags["ci_high"])).all(), lags
    # Callaway–Sant'Anna needs never-treated units unless it compares with the not yet treated:
    # without them the spec is not estimable
    with pytest.raises(estimators.NotEstimable, match="no ATT.g, t. has comparison units"):
        estimators.estimate(frame, spec("callaway_santanna", reps=0))
    est, _ = estimators.estimate(frame, spec("callaway_santanna", reps=0,
                                             control_group="not_yet_treated"))
    lags = est.terms.set_index("event_time").loc[[0.0, 1.0, 2.0]]
    assert ((lags["ci_low"] < truth) & (truth < lags["ci_high"])).all(), lags


def test_a_propensity_score_the_covariates_separate_is_named():
    frame, _ = staggered(6)
    frame["x"] = frame["g"].eq(2002.0).astype(float) + 0.01 * frame["u"] / len(frame)
    covariate = dataclasses.replace(spec("callaway_santanna", reps=0), controls=("x",),
                                    control_vars=("x",))
    with pytest.raises(estimators.NotEstimable, match="separate the cohort's .* units"):
        estimators.estimate(frame, covariate)
    by_regression = dataclasses.replace(covariate, options=covariate.options.model_copy(
        update={"method": "reg"}))
    assert estimators.estimate(frame, by_regression)[0].statistics["att"] > 0
