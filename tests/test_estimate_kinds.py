"""Estimator kinds against references: the imputation estimator's sparse GMM standard errors
against pyfixest's ``did2s`` (which builds the first-stage design dense, and recovers the fixed
effects with a looser lsqr tolerance: they agree to 1e-5), its two-way cluster
sums against pyfixest's two-way CRV, and the wild cluster bootstrap p-values of the OLS kind
against a plain numpy implementation of the same bootstrap, and its vectorized CRV1
denominators against wildboottest's own numba loop, run side by side. Data: the S001 city-year mart and
the S000 province-year mart of the session warehouse."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from models_py.estimate import estimators
from models_py.estimate.estimators import did_imputation, variance, wild_bootstrap, within
from models_py.estimate.specs import load_study

WEBB = np.array([-np.sqrt(1.5), -1, -np.sqrt(0.5), np.sqrt(0.5), 1, np.sqrt(1.5)])


@pytest.fixture(scope="module")
def city_year(warehouse):
    return warehouse.query("SELECT * FROM marts.city_year")


@pytest.fixture(scope="module")
def province_year(warehouse):
    return warehouse.query("SELECT * FROM marts.province_year")


def _imputation_specs():
    study = load_study("s001")
    specs = [*study.table_specs("robust_did"),
             *[s for s in study.table_specs("event_study") if s.kind == "did_imputation"]]
    return [s for s in specs if s.options.variance == "two_stage_gmm"]   # did2s's variance


@pytest.mark.parametrize("spec", _imputation_specs(), ids=lambda s: f"{s.table}-{s.column}")
def test_imputation_equals_pyfixest_did2s(city_year, spec):
    est, _ = estimators.estimate(city_year, spec)
    data = estimators.sample_frame(did_imputation.prepare(city_year, spec, {}), spec)
    first = f"~ {' + '.join(spec.control_vars) or '0'} | city_id + year"
    second = "~ i(event_time, ref=-1)" if spec.options.dynamic else "~ did"
    reference = pf.did2s(data, yname=spec.outcome, first_stage=first, second_stage=second,
                         treatment="did", cluster="city_id").tidy()
    ours = est.terms.set_index("term")
    assert len(ours) == len(reference) > 0
    np.testing.assert_allclose(ours["estimate"], reference["Estimate"], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(ours["std_error"], reference["Std. Error"], rtol=1e-5,
                               atol=1e-9)
    assert est.statistics["rows_not_imputed"] == 0


def test_two_way_cluster_sums_equal_pyfixest(city_year):
    """OLS scores summed two ways (V_a + V_b - V_ab) give pyfixest's two-way CRV without
    small-sample factors."""
    d = city_year[["resilience_index", "did", "log_avg_wage", "city_id", "year",
                   "province_id"]].dropna().reset_index(drop=True)
    d["did"] = d["did"].astype(float)
    fit = pf.feols("resilience_index ~ did + log_avg_wage | city_id + year", d,
                   vcov={"CRV1": "province_id+year"},
                   ssc=pf.ssc(k_adj=False, G_adj=False))
    fe = within.fixed_effect_codes(d, ["city_id", "year"])
    x = within.demeaned(d[["did", "log_avg_wage"]].to_numpy(float), fe)
    y = within.demeaned(d[["resilience_index"]].to_numpy(float), fe)[:, 0]
    u = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    meat, clusters = variance.cluster_sums(x * u[:, None], d, "province_id+year")
    bread = np.linalg.inv(x.T @ x)
    np.testing.assert_allclose(bread @ meat @ bread, fit._vcov, rtol=1e-6)
    assert clusters == min(d["province_id"].nunique(), d["year"].nunique())


def _webb_bootstrap_p(y: np.ndarray, x: np.ndarray, fe: np.ndarray, clusters: np.ndarray,
                      reps: int, seed: int) -> float:
    """Wild cluster bootstrap with the null imposed (beta = 0) and Webb weights, on data
    demeaned by the fixed effects: the share of bootstrap |t| at least the data's."""
    yd, xd = within.demeaned(np.column_stack([y, x]), fe).T
    g = pd.factorize(clusters)[0]
    n_clusters = g.max() + 1

    def t_stats(ys: np.ndarray) -> np.ndarray:
        b = (xd @ ys) / (xd @ xd)
        u = ys - np.outer(xd, b)
        scores = np.stack([np.bincount(g, xd * u[:, j], n_clusters) for j in range(ys.shape[1])])
        return b / np.sqrt((scores ** 2).sum(axis=1) / (xd @ xd) ** 2)

    v = WEBB[np.random.default_rng(seed).integers(0, 6, (reps, n_clusters))]
    draws = within.demeaned(yd[:, None] * v[:, g].T, fe)   # restricted residuals x weights
    return float((np.abs(t_stats(draws)) >= abs(t_stats(yd[:, None])[0])).mean())


def test_wild_bootstrap_p_agrees_with_a_numpy_bootstrap(province_year):
    spec = next(s for s in load_study("s000").table_specs("baseline") if s.column == 3)
    est, _ = estimators.estimate(province_year, spec)
    ours = float(est.terms.set_index("term").loc["di_index", "wild_p"])
    data = estimators.sample_frame(province_year, spec)
    fe = within.fixed_effect_codes(data, ["province_id", "year"])
    reference = _webb_bootstrap_p(data["balance_cv"].to_numpy(float),
                                  data["di_index"].to_numpy(float), fe,
                                  data["province_id"].to_numpy(), reps=9999, seed=7)
    # different random draws: equal up to Monte Carlo error (sd about 0.002 at p = 0.05)
    assert ours == pytest.approx(reference, abs=0.015)
    again, _ = estimators.estimate(province_year, spec)     # seeded: reproducible
    assert float(again.terms.set_index("term").loc["di_index", "wild_p"]) == ours
    # the mart's row order is not fixed: the same rows in another order give the same p
    shuffled = province_year.sample(frac=1, random_state=3).reset_index(drop=True)
    other, _ = estimators.estimate(shuffled, spec)
    assert float(other.terms.set_index("term").loc["di_index", "wild_p"]) == ours


def test_vectorized_bootstrap_denominators_equal_wildboottest_s_loop(province_year, monkeypatch):
    """wild_bootstrap's matrix-product denominators (installed in wildboottest 0.3.2) give the
    bootstrap statistics and p-values of wildboottest's own numba loop, on every bootstrapped
    specification of S000's baseline table."""
    from wildboottest.wildboottest import WildboottestCL

    assert WildboottestCL.get_denom is not wild_bootstrap.UPSTREAM_GET_DENOM  # installed
    specs = [s for s in load_study("s000").table_specs("baseline")
             if wild_bootstrap.settings(s) is not None]
    assert specs
    for spec in specs:
        data = wild_bootstrap.with_cluster_codes(estimators.sample_frame(province_year, spec),
                                                 spec)
        fit = pf.feols(spec.formula, data, vcov={"CRV1": spec.cluster})
        opt = wild_bootstrap.settings(spec)

        def bootstrap():
            return fit.wildboottest(reps=opt.reps, cluster=wild_bootstrap.CODES,
                                    param=spec.regressors[0], weights_type=opt.weights,
                                    seed=opt.seed, return_bootstrapped_t_stats=True)

        ours, t_ours = bootstrap()
        with monkeypatch.context() as m:
            m.setattr(WildboottestCL, "get_denom", wild_bootstrap.UPSTREAM_GET_DENOM)
            upstream, t_upstream = bootstrap()
        np.testing.assert_allclose(t_ours, t_upstream, rtol=1e-10)
        assert float(np.asarray(ours["t value"]).ravel()[0]) == pytest.approx(
            float(np.asarray(upstream["t value"]).ravel()[0]), rel=1e-12)
        t = float(np.asarray(ours["t value"]).ravel()[0])
        assert wild_bootstrap.two_sided_p(t, t_ours) == wild_bootstrap.two_sided_p(t, t_upstream)
