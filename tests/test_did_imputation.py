"""The imputation kind against a dense implementation of Borusyak, Jaravel and Spiess written
out here (fixed effects as dummy columns, the untreated fit by least squares, the estimator's
weights on every observation): the first stage uses the spec's fixed effects, the leave-out
variance, and the pre-trend test on the untreated observations, whose degrees of freedom are
the coefficients'. A constructed staggered panel with effects that vary by cohort and event
time."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from models_py.estimate import estimators
from models_py.estimate.estimators import did_imputation
from models_py.estimate.study import Spec

UNITS, PERIODS = 36, 9


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    unit = np.repeat(np.arange(UNITS), PERIODS)
    period = np.tile(np.arange(PERIODS), UNITS) + 2010
    cohort_of = np.where(np.arange(UNITS) % 4 == 0, np.nan,
                         2013 + np.arange(UNITS) % 4)          # 2014-2016 and never
    cohort = cohort_of[unit]
    treated = (period >= cohort).astype(float)
    region = ((unit % 4 == 1) | (unit % 8 == 0)).astype(int)   # the 2014 cohort, half the never
    #                                                          treated: leans with the cohorts
    x = rng.normal(size=unit.size)
    effect = treated * (0.5 + 0.2 * (period - np.nan_to_num(cohort)) + 0.1 * (cohort - 2014))
    y = (0.3 * unit / UNITS + 0.2 * region * (period - 2010) + 0.4 * x + np.nan_to_num(effect)
         + rng.normal(size=unit.size))
    return pd.DataFrame({"y": y, "d": treated, "x": x, "unit": unit, "period": period,
                         "cohort": cohort, "region_period": region * 100 + period - 2000})


def _spec(fixed_effects: tuple, dynamic: bool, variance: str = "two_stage_gmm") -> Spec:
    options = did_imputation.Options(unit="unit", time="period", cohort="cohort",
                                     treatment="d", window=(-3, 3), dynamic=dynamic,
                                     variance=variance)
    return Spec(study="t", table="t", column=1, kind="did_imputation", outcome="y",
                regressors=() if dynamic else ("d",), controls=("c",), control_vars=("x",),
                fixed_effects=fixed_effects, cluster="unit", sample="", label="",
                options=options)


def _dense_imputation(panel: pd.DataFrame, fixed_effects: list[str], horizons: dict
                      ) -> dict[str, tuple[float, float]]:
    """BJS by hand: estimate and leave-out standard error of each estimand (name -> 0/1 mask
    of the treated observations it averages), clustered by unit."""
    dummies = pd.get_dummies(panel[fixed_effects].astype(str)).to_numpy(float)
    x1 = np.column_stack([panel[["x"]].to_numpy(float), dummies])
    untreated = panel["d"].to_numpy() == 0
    y = panel["y"].to_numpy(float)
    gamma = np.linalg.lstsq(x1[untreated], y[untreated], rcond=None)[0]
    residual = y - x1 @ gamma                       # tau_hat on treated rows
    groups = (panel["cohort"].astype(str) + "_" + panel["period"].astype(str)).to_numpy()
    units = panel["unit"].to_numpy()
    eps = residual.copy()
    for i in np.flatnonzero(~untreated):
        others = (~untreated) & (groups == groups[i]) & (units != units[i])
        eps[i] = residual[i] - residual[others].mean()
    project = x1[untreated] @ np.linalg.pinv(x1[untreated].T @ x1[untreated])
    out = {}
    for name, mask in horizons.items():
        w = mask / mask.sum()
        v = w.copy()
        v[untreated] = -project @ (x1.T @ w)
        sums = pd.Series(v * eps).groupby(units).sum().to_numpy()
        out[name] = (float(w @ residual), float(np.sqrt(sums @ sums)))
    return out


@pytest.mark.parametrize("fixed_effects", [("unit", "period"), ("unit", "region_period")])
def test_pooled_att_and_leave_out_se_equal_the_dense_implementation(panel, fixed_effects):
    est, _ = estimators.estimate(panel, _spec(fixed_effects, False, "bjs_leave_out"))
    row = est.terms.set_index("term").loc["d"]
    treated = panel["d"].to_numpy(float)
    estimate, se = _dense_imputation(panel, list(fixed_effects), {"att": treated})["att"]
    assert row["estimate"] == pytest.approx(estimate, rel=1e-8)
    assert row["std_error"] == pytest.approx(se, rel=1e-6)
    conservative, _ = estimators.estimate(panel, _spec(fixed_effects, False))
    gardner = conservative.terms.set_index("term").loc["d"]
    assert gardner["estimate"] == pytest.approx(estimate, rel=1e-8)
    assert gardner["std_error"] != pytest.approx(se, rel=1e-3)     # another variance


def test_the_first_stage_uses_the_spec_s_fixed_effects(panel):
    """Region-by-period effects absorb the planted region trends: the estimate differs from
    the unit + period one, and matches the dense imputation with those effects."""
    by_fe = {fe: estimators.estimate(panel, _spec(fe, False))[0].terms.set_index("term")
             .loc["d", "estimate"] for fe in [("unit", "period"), ("unit", "region_period")]}
    assert abs(by_fe[("unit", "period")] - by_fe[("unit", "region_period")]) > 1e-3


@pytest.mark.parametrize("fixed_effects", [("unit", "period"), ("unit", "region_period")])
def test_the_first_stage_design_has_full_rank_on_the_untreated_rows(panel, fixed_effects):
    """Unit and region-by-period dummies share one column sum per region: the design keeps
    one level fewer per region, so the variance's solve never meets a singular matrix."""
    untreated = panel["d"].to_numpy() == 0
    x1 = did_imputation.first_stage_design(panel, ["x"], list(fixed_effects), untreated)
    levels = sum(panel[fe].nunique() for fe in fixed_effects)
    regions = 2 if "region_period" in fixed_effects else 1
    assert x1.shape[1] == 1 + levels - regions
    assert np.linalg.matrix_rank(x1[untreated].toarray()) == x1.shape[1]


def test_event_time_effects_and_leave_out_se_equal_the_dense_implementation(panel):
    est, _ = estimators.estimate(panel, _spec(("unit", "period"), True, "bjs_leave_out"))
    terms = est.terms.set_index("event_time")
    rel = (panel["period"] - panel["cohort"]).clip(-3, 3).to_numpy()
    treated = panel["d"].to_numpy(float)
    horizons = {e: treated * (rel == e) for e in range(0, 4)}
    dense = _dense_imputation(panel, ["unit", "period"], horizons)
    for e, (estimate, se) in dense.items():
        assert terms.loc[float(e), "estimate"] == pytest.approx(estimate, rel=1e-8), e
        assert terms.loc[float(e), "std_error"] == pytest.approx(se, rel=1e-6), e


def test_pretrend_test_on_untreated_observations_with_the_coefficients_degrees_of_freedom(
        panel):
    est, _ = estimators.estimate(panel, _spec(("unit", "period"), True))
    stats = est.statistics
    untreated = panel[panel["d"] == 0].reset_index(drop=True)
    rel = (untreated["period"] - untreated["cohort"]).to_numpy()
    leads = np.column_stack([(rel == k).astype(float) for k in (-3, -2, -1)])
    dummies = pd.get_dummies(untreated[["unit", "period"]].astype(str)).to_numpy(float)
    design = np.column_stack([leads, untreated[["x"]].to_numpy(float), dummies])
    coef, *_ = np.linalg.lstsq(design, untreated["y"].to_numpy(float), rcond=None)
    u = untreated["y"].to_numpy(float) - design @ coef
    # leads and control partialled on the fixed effects (FWL), clustered by unit, with
    # fixest's factor: K = leads + control + periods (unit effects nested in the cluster)
    fe_resid = lambda v: v - dummies @ np.linalg.lstsq(dummies, v, rcond=None)[0]  # noqa: E731
    xt = fe_resid(design[:, :4])
    bread = np.linalg.inv(xt.T @ xt)
    sums = pd.DataFrame(xt * u[:, None]).groupby(untreated["unit"].to_numpy()).sum().to_numpy()
    n, g, k = len(untreated), untreated["unit"].nunique(), 3 + 1 + PERIODS
    v = bread @ (sums.T @ sums) @ bread * g / (g - 1) * (n - 1) / (n - k)
    f = coef[:3] @ np.linalg.solve(v[:3, :3], coef[:3]) / 3
    assert stats["bjs_pretrend_f"] == pytest.approx(f, rel=1e-6)
    assert stats["bjs_pretrend_leads"] == 3
    df = UNITS - 1
    assert stats["bjs_pretrend_p"] == pytest.approx(sps.f.sf(f, 3, df), rel=1e-6)
    # the event study's own leads are tested on the same degrees of freedom
    assert stats["pretrend_p"] == pytest.approx(sps.f.sf(stats["pretrend_f"], 2, df), rel=1e-8)
    terms = est.terms
    np.testing.assert_allclose(terms["p"], 2 * sps.t.sf(np.abs(terms["t"]), df), rtol=1e-8)


def test_leave_out_residuals_fall_back_to_the_whole_group_when_alone():
    effects = np.array([1.0, 3.0, 5.0, 7.0])
    out = did_imputation.leave_out_residuals(effects, np.array(["a", "a", "a", "b"]),
                                             np.array([1, 1, 2, 3]))
    np.testing.assert_allclose(out, [1 - 5, 3 - 5, 5 - 2, 0.0])


def test_bjs_pretrend_needs_two_treated_units_before_the_earliest_lead(panel):
    """With unit effects, only a treated unit observed untreated before the window's earliest
    lead anchors the leads' level: with one such unit the test is not reported."""
    early = (panel["period"] - panel["cohort"]) < -3
    anchors = panel.loc[early, "unit"].unique()
    full = estimators.estimate(panel, _spec(("unit", "period"), True))[0].statistics
    assert full["bjs_pretrend_anchor_units"] == len(anchors) >= 2
    assert np.isfinite(full["bjs_pretrend_p"])
    one = panel[~early | (panel["unit"] == anchors[0])]
    stats = estimators.estimate(one, _spec(("unit", "period"), True))[0].statistics
    assert stats["bjs_pretrend_anchor_units"] == 1 and stats["bjs_pretrend_leads"] == 3
    assert "bjs_pretrend_f" not in stats and "bjs_pretrend_p" not in stats
