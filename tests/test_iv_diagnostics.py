"""The iv kind's weak-instrument statistics against formulas written out densely here (fixed
effects as dummy columns, partialling by least squares), pyfixest's first stage, linearmodels
and the closed forms; on a constructed unit-period panel where the instruments lean on the
controls (so that partialling them matters), with heteroskedastic first-stage errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from scipy import stats as sps

from models_py.estimate import estimators
from models_py.estimate.estimators import iv, iv_diagnostics
from models_py.estimate.study import Spec

UNITS, PERIODS = 40, 8
CONTROLS = ["x1", "x2"]


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = UNITS * PERIODS
    unit = np.repeat(np.arange(UNITS), PERIODS)
    period = np.tile(np.arange(PERIODS), UNITS)
    x = rng.normal(size=(n, 2)) + unit[:, None] % 3
    z1 = 0.8 * x[:, 0] + rng.normal(size=n)
    z2 = -0.6 * x[:, 1] + 0.5 * x[:, 0] + rng.normal(size=n) + 0.1 * period
    scale = 0.5 + np.abs(z1)                        # heteroskedastic first stage
    d = 0.6 * z1 + 0.4 * z2 + 0.3 * x[:, 0] + scale * rng.normal(size=n) + 0.2 * unit % 5
    y = 1.0 * d + 0.5 * x[:, 1] + rng.normal(size=n) + 0.1 * period
    return pd.DataFrame({"y": y, "d": d, "z1": z1, "z2": z2, "x1": x[:, 0], "x2": x[:, 1],
                         "unit": unit, "period": period,
                         "region": (unit * 7 + period * 3) % 23,     # both cross units and periods
                         "zone": (unit * 3 + period * 5) % 11})


def _spec(instruments: list[str], cluster: str) -> Spec:
    return Spec(study="t", table="iv", column=1, kind="iv", outcome="y", regressors=("d",),
                controls=("c",), control_vars=tuple(CONTROLS), fixed_effects=("unit", "period"),
                cluster=cluster, sample="", label="",
                options=iv.Options(instruments=instruments))


def _dense(panel: pd.DataFrame, instruments: list[str]) -> dict:
    """Partialling by dense least squares on [controls, unit dummies, period dummies]."""
    dummies = pd.get_dummies(panel[["unit", "period"]].astype(str), drop_first=False
                             ).to_numpy(float)
    w = np.column_stack([panel[CONTROLS].to_numpy(float), dummies])
    resid = lambda v: v - w @ np.linalg.lstsq(w, v, rcond=None)[0]     # noqa: E731
    z = resid(panel[instruments].to_numpy(float))
    d, y = resid(panel["d"].to_numpy(float)), resid(panel["y"].to_numpy(float))
    rank = np.linalg.matrix_rank(np.column_stack([panel[instruments].to_numpy(float), w]))
    return {"z": z, "d": d, "y": y, "rank": rank, "raw_z": panel[instruments].to_numpy(float)}


def _cluster_meat(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    sums = pd.DataFrame(scores).groupby(groups).sum().to_numpy()
    return sums.T @ sums


def _dense_meat(scores: np.ndarray, panel: pd.DataFrame, cluster: str) -> np.ndarray:
    """sum of outer products of the scores: by row, by cluster, or two-way (CGM)."""
    if not cluster:
        return scores.T @ scores
    names = cluster.split("+")
    meat = sum(_cluster_meat(scores, panel[c].to_numpy()) for c in names)
    if len(names) == 2:
        meat = meat - _cluster_meat(scores, (panel[names[0]].astype(str) + "_"
                                             + panel[names[1]].astype(str)).to_numpy())
    return meat


def _dense_variance(scores: np.ndarray, panel: pd.DataFrame, cluster: str, rank: int
                    ) -> np.ndarray:
    """The spec's meat times pyfixest's small-sample factor, written out (no fixed effect is
    nested in the cluster variables used here, so K is the design's rank)."""
    n = len(panel)
    if not cluster:
        return _dense_meat(scores, panel, cluster) * n / (n - rank)
    g = min(panel[c].nunique() for c in cluster.split("+"))
    return _dense_meat(scores, panel, cluster) * g / (g - 1) * (n - 1) / (n - rank)


@pytest.mark.parametrize("cluster", ["", "region", "region+zone"])
def test_effective_f_with_two_instruments_and_controls_equals_the_formula(panel, cluster):
    """Montiel Olea-Pflueger: F_eff = pi' Q pi / tr(V Q), Q = Z'Z of the instruments
    partialled on the controls and fixed effects, V the first stage's robust variance."""
    est, _ = estimators.estimate(panel, _spec(["z1", "z2"], cluster))
    dense = _dense(panel, ["z1", "z2"])
    z, d = dense["z"], dense["d"]
    bread = np.linalg.inv(z.T @ z)
    pi = bread @ z.T @ d
    v = bread @ _dense_variance(z * (d - z @ pi)[:, None], panel, cluster, dense["rank"]) @ bread
    q = z.T @ z
    effective = pi @ q @ pi / np.trace(v @ q)
    assert est.statistics["effective_f"] == pytest.approx(effective, rel=1e-8)
    assert est.statistics["first_stage_f"] == pytest.approx(pi @ np.linalg.solve(v, pi) / 2,
                                                            rel=1e-8)
    # Q from the instruments not partialled on the controls (pyfixest 0.60's eff_F) differs
    raw = dense["raw_z"] - dense["raw_z"].mean(axis=0)
    unpartialled = pi @ (raw.T @ raw) @ pi / np.trace(v @ (raw.T @ raw))
    assert abs(unpartialled / effective - 1) > 0.01


@pytest.mark.parametrize("cluster", ["", "unit", "region+zone"])
def test_effective_f_with_one_instrument_is_the_robust_first_stage_f(panel, cluster):
    spec = _spec(["z1"], cluster)
    est, _ = estimators.estimate(panel, spec)
    first = pf.feols("d ~ z1 + x1 + x2 | unit + period", data=panel, vcov=spec.vcov)
    t = float(first.tstat()["z1"])
    assert est.statistics["effective_f"] == pytest.approx(t ** 2, rel=1e-8)
    assert est.statistics["first_stage_f"] == pytest.approx(t ** 2, rel=1e-8)
    assert est.statistics["first_stage_coef"] == pytest.approx(float(first.coef()["z1"]),
                                                               rel=1e-8)


@pytest.mark.parametrize("cluster", ["", "unit", "region+zone"])
def test_kleibergen_paap_in_ivreghdfe_s_convention(panel, cluster):
    """rk Wald with one endogenous regressor: the robust Wald statistic of the instruments
    without small-sample factor (linearmodels' first-stage statistic, debiased=False, on the
    data demeaned by the fixed effects); F scaled as ivreghdfe; rk LM by its closed form."""
    from linearmodels.iv import IV2SLS

    est, _ = estimators.estimate(panel, _spec(["z1", "z2"], cluster))
    stats = est.statistics
    dense = _dense(panel, ["z1", "z2"])
    z, d = dense["z"], dense["d"]
    n, L, k = len(panel), 2, len(CONTROLS)
    bread = np.linalg.inv(z.T @ z)
    pi = bread @ z.T @ d
    v0 = bread @ _dense_meat(z * (d - z @ pi)[:, None], panel, cluster) @ bread
    assert stats["kp_wald"] == pytest.approx(pi @ np.linalg.solve(v0, pi), rel=1e-8)
    if "+" not in cluster:     # linearmodels' two-way clustering has its own rule
        cov = {"cov_type": "clustered", "clusters": panel[cluster]} if cluster else \
            {"cov_type": "robust"}
        lm = IV2SLS(pd.Series(dense["y"]), None, pd.Series(d, name="d"),
                    pd.DataFrame(z, columns=["z1", "z2"])).fit(debiased=False, **cov)
        wald = lm.first_stage.diagnostics.loc["d", "f.stat"]
        assert stats["kp_wald"] == pytest.approx(float(wald), rel=1e-8)
    absorbed = (PERIODS - 1) if cluster == "unit" else (UNITS + PERIODS - 1)
    if cluster:
        g = min(panel[c].nunique() for c in cluster.split("+"))
        scale = (n - L - k - absorbed) / (n - 1) * (g - 1) / g
    else:
        scale = (n - L - k - absorbed) / n
    assert stats["kp_f"] == pytest.approx(stats["kp_wald"] / L * scale, rel=1e-12)
    score = z.T @ d         # rk LM: the score test of pi = 0, residual d under the null
    lm_stat = score @ np.linalg.solve(_dense_meat(z * d[:, None], panel, cluster), score)
    assert stats["kp_lm"] == pytest.approx(lm_stat, rel=1e-8)
    assert stats["kp_lm_p"] == pytest.approx(sps.chi2.sf(lm_stat, L), rel=1e-8)


def test_absorbed_degrees_of_freedom_as_reghdfe_counts_them(panel):
    assert iv_diagnostics.absorbed_dof(panel, ["unit", "period"], "") == UNITS + PERIODS - 1
    assert iv_diagnostics.absorbed_dof(panel, ["unit", "period"], "unit") == PERIODS - 1
    assert iv_diagnostics.absorbed_dof(panel, ["unit"], "unit") == 1


def test_hansen_j_equals_linearmodels_two_step_gmm(panel):
    from linearmodels.iv import IVGMM

    est, _ = estimators.estimate(panel, _spec(["z1", "z2"], ""))
    dense = _dense(panel, ["z1", "z2"])
    gmm = IVGMM(pd.Series(dense["y"]), None, pd.Series(dense["d"], name="d"),
                pd.DataFrame(dense["z"], columns=["z1", "z2"]), weight_type="robust",
                center=False).fit(iter_limit=2, cov_type="robust", debiased=False)
    assert est.statistics["hansen_j"] == pytest.approx(float(gmm.j_stat.stat), rel=1e-6)
    assert est.statistics["hansen_j_p"] == pytest.approx(float(gmm.j_stat.pval), rel=1e-6)
    one, _ = estimators.estimate(panel, _spec(["z1"], ""))
    assert "hansen_j" not in one.statistics          # exactly identified: no J


@pytest.mark.parametrize("cluster", ["", "unit"])
def test_anderson_rubin_test_and_confidence_set(panel, cluster):
    """With one instrument the AR test of beta0 is the spec's Wald test of the instrument in
    the regression of y - beta0 d (pyfixest); the set's ends are where it crosses the 5%
    critical value, and the analytic set equals the inversion over a grid."""
    spec = _spec(["z1"], cluster)
    est, _ = estimators.estimate(panel, spec)
    stats = est.statistics

    def ar_p(beta0: float) -> float:
        shifted = panel.assign(y0=panel["y"] - beta0 * panel["d"])
        return float(pf.feols("y0 ~ z1 + x1 + x2 | unit + period", data=shifted,
                              vcov=spec.vcov).pvalue()["z1"])

    assert stats["ar_p"] == pytest.approx(ar_p(0.0), rel=1e-8)
    low, high = stats["ar_low"], stats["ar_high"]
    assert np.isfinite(low) and low < high      # a strong instrument: a bounded interval
    assert ar_p(low) == pytest.approx(0.05, abs=1e-8)
    assert ar_p(high) == pytest.approx(0.05, abs=1e-8)
    beta = float(est.terms.set_index("term").loc["d", "estimate"])
    assert low < beta < high and ar_p(beta) > 0.05
    grid = np.linspace(low - 1, high + 1, 9)
    accepted = [b for b in grid if ar_p(b) > 0.05]
    assert low <= min(accepted) and max(accepted) <= high
    two, _ = estimators.estimate(panel, _spec(["z1", "z2"], cluster))   # inverted on a grid
    ar = two.statistics
    assert ar["ar_low"] < beta < ar["ar_high"]


def test_the_quadratic_set_s_three_shapes():
    assert iv_diagnostics._quadratic_set(1.0, 0.0, -4.0) == (-2.0, 2.0)       # bounded
    assert iv_diagnostics._quadratic_set(-1.0, 0.0, -4.0) == (-np.inf, np.inf)  # everything
    low, high = iv_diagnostics._quadratic_set(-1.0, 0.0, 4.0)     # beta^2 >= 4: two rays
    assert (low, high) == (2.0, -2.0)
