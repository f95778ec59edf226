"""The Callaway–Sant'Anna kind against R's ``did`` 2.5.0 (tests/fixtures/did/, its README says
how the numbers were made): every ATT(g, t), every aggregation (simple, group, dynamic,
calendar) and the pre-test, point estimates and analytical standard errors to 1e-6, on each
scenario (never-treated and not-yet-treated comparisons; doubly robust, IPW and outcome
regression; with and without covariates). And the multiplier-bootstrap uniform band: seeded,
wider than the pointwise one, and covering the truth of a simulated panel jointly about 95%
of the time."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models_py.estimate.estimators import callaway_santanna as cs

FIXTURES = Path(__file__).parent / "fixtures" / "did"
TOL = 1e-6

# scenario -> data, outcome, unit, period, cohort, covariates, comparison, method
SCENARIOS = {
    "mpdta_nev_dr": ("mpdta", "lemp", "countyreal", "year", "first.treat", [],
                     "never_treated", "dr"),
    "mpdta_nyt_dr": ("mpdta", "lemp", "countyreal", "year", "first.treat", [],
                     "not_yet_treated", "dr"),
    "mpdta_nev_reg_cov": ("mpdta", "lemp", "countyreal", "year", "first.treat", ["lpop"],
                          "never_treated", "reg"),
    "mpdta_nev_ipw": ("mpdta", "lemp", "countyreal", "year", "first.treat", [],
                      "never_treated", "ipw"),
    "sim_nev_dr": ("sim_data", "Y", "id", "period", "G", ["X"], "never_treated", "dr"),
}


def reference(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / f"ref_{name}.csv")


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def scenario(request):
    data, outcome, unit, period, cohort, covariates, comparison, method = SCENARIOS[request.param]
    frame = pd.read_csv(FIXTURES / f"{data}.csv")
    frame[cohort] = frame[cohort].replace(0, np.nan)          # 0 marks never treated
    panel = cs.wide_panel(frame, outcome, unit, period, cohort, covariates)
    return request.param, cs.att_gt(panel, comparison, method)


def test_every_group_time_att_and_standard_error(scenario):
    name, gt = scenario
    ref = reference("attgt")
    ref = ref[ref["scenario"] == name].reset_index(drop=True)
    assert len(gt.table) == len(ref)
    np.testing.assert_array_equal(gt.table[["group", "time"]].to_numpy(),
                                  ref[["group", "t"]].to_numpy())
    np.testing.assert_allclose(gt.table["att"], ref["att"], rtol=0, atol=TOL)
    np.testing.assert_allclose(cs.standard_errors(gt.influence), ref["se"], rtol=0, atol=TOL)


def test_every_aggregation(scenario):
    name, gt = scenario
    ref = reference("aggte")
    ref = ref[ref["scenario"] == name]
    assert set(ref["type"]) == {"simple", "group", "dynamic", "calendar"}
    for kind, rows in ref.groupby("type"):
        agg = cs.aggregate(gt, kind)
        overall_se = cs.standard_errors(agg.overall_influence)[0]
        assert agg.overall == pytest.approx(rows["overall_att"].iloc[0], abs=TOL), kind
        assert overall_se == pytest.approx(rows["overall_se"].iloc[0], abs=TOL), kind
        if kind == "simple":
            continue
        np.testing.assert_array_equal(agg.elements["egt"], rows["egt"].astype(float))
        np.testing.assert_allclose(agg.elements["att"], rows["att_egt"], rtol=0, atol=TOL)
        np.testing.assert_allclose(cs.standard_errors(agg.influence), rows["se_egt"], rtol=0,
                                   atol=TOL)


def test_pretest(scenario):
    name, gt = scenario
    ref = reference("pretest").set_index("scenario")
    if name not in ref.index:
        pytest.skip(f"no pre-test reference for {name}")
    test = cs.pretest(gt)
    assert test["W"] == pytest.approx(ref.loc[name, "W"], abs=TOL)
    assert round(test["p"], 5) == pytest.approx(ref.loc[name, "Wpval"], abs=1e-5)


def _simulated(seed: int, units: int = 400) -> tuple[cs.WidePanel, np.ndarray]:
    """A balanced panel of five periods, cohorts 3, 4 and never treated, effects growing with
    event time (e + 1 from adoption), parallel trends; the truth of the event times -1..2."""
    rng = np.random.default_rng(seed)
    periods = np.arange(1.0, 6.0)
    cohort = rng.choice([3.0, 4.0, np.inf], size=units)
    event = periods[None, :] - cohort[:, None]
    effect = np.where(event >= 0, event + 1, 0.0)
    y = rng.normal(size=(units, 1)) + periods[None, :] * 0.3 + effect \
        + rng.normal(size=(units, len(periods)))
    panel = cs.WidePanel(np.arange(units), periods, y, {}, cohort)
    return panel, np.array([0.0, 1.0, 2.0, 3.0])


def test_uniform_band_is_seeded_wider_than_pointwise_and_covers_jointly():
    panel, truth = _simulated(0)
    dyn = cs.aggregate(cs.att_gt(panel), "dynamic", -1, 2)
    first = cs.multiplier_critical_value(dyn.influence, None, 499, seed=1)
    assert first == cs.multiplier_critical_value(dyn.influence, None, 499, seed=1)
    assert 1.96 < first < 3.0            # four estimates: between pointwise and Bonferroni
    covered = []
    for seed in range(60):
        panel, truth = _simulated(100 + seed)
        dyn = cs.aggregate(cs.att_gt(panel), "dynamic", -1, 2)
        se = cs.standard_errors(dyn.influence)
        crit = cs.multiplier_critical_value(dyn.influence, None, 299, seed=seed)
        covered.append(bool((np.abs(dyn.elements["att"].to_numpy() - truth) <= crit * se).all()))
    # 60 panels: a 95% band covers all four jointly in 57 on average; 51 or fewer has
    # probability below 0.5%
    assert sum(covered) >= 52, sum(covered)
