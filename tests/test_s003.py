"""Study S003 on the small embedded default: every study asset materialized by real Dagster on a
warehouse built by the real raw, io and dbt assets; planted signs recovered; one fit cross-checked
against linearmodels; published files present.

Terms tested against the truth file's S003 "expected_signs":
- baseline (IT_direction, columns 2 and 4, with controls): connectivity_HSR and connectivity_I;
- gradient (IT, down/up x HSR/I, columns 1-4), the down-gradient HSR being planted "0";
- sector (IT_labor/IT_capital/IT_tech, down/up x HSR/I, columns 1-12).
A planted "+"/"-" must show that sign with p < 0.05; a planted "0" must not be significant at
1% (p >= 0.01).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


TERM = {"connectivity_HSR": "connectivity_hsr", "connectivity_I": "connectivity_i"}
SECTOR_COLUMN = {  # (outcome, gradient, term) -> column of the sector table
    (o, g, t): 4 * k + 2 * (t == "connectivity_I") + (g == "up") + 1
    for k, o in enumerate(("IT_labor", "IT_capital", "IT_tech"))
    for g in ("down", "up") for t in ("connectivity_HSR", "connectivity_I")}
GRADIENT_COLUMN = {(g, t): 2 * (t == "connectivity_I") + (g == "up") + 1
                   for g in ("down", "up") for t in ("connectivity_HSR", "connectivity_I")}


@pytest.fixture(scope="module")
def s003(warehouse):
    return {"rows": warehouse.query("SELECT * FROM results.s003_coefficients"),
            "mart": warehouse.query("SELECT * FROM marts.city_pair_period"),
            "truth": warehouse.truth["S003"]["expected_signs"],
            "publish": warehouse.publish_dir / "s003"}


def _coef(rows: pd.DataFrame, table: str, column: int, term: str) -> pd.Series:
    r = rows[(rows["table"] == table) & (rows["column"] == column) & (rows["term"] == term)]
    assert len(r) == 1, (table, column, term, len(r))
    return r.iloc[0]


def _assert_sign(r: pd.Series, planted: str, where: str) -> None:
    if planted == "0":
        assert r["p"] >= 0.01, f"{where}: planted 0 but {r['estimate']:.3f} (p={r['p']:.2g})"
    else:
        sign = 1 if planted == "+" else -1
        assert np.sign(r["estimate"]) == sign and r["p"] < 0.05, \
            f"{where}: planted {planted} but {r['estimate']:.3f} (p={r['p']:.2g})"


def test_baseline_signs(s003):
    for name, col in (("connectivity_HSR", 2), ("connectivity_I", 4)):
        r = _coef(s003["rows"], "baseline", col, TERM[name])
        _assert_sign(r, s003["truth"]["baseline_IT_direction"][name], f"baseline ({col}) {name}")


def test_gradient_signs(s003):
    planted = s003["truth"]["gradient_IT"]
    for (g, name), col in GRADIENT_COLUMN.items():
        r = _coef(s003["rows"], "gradient", col, TERM[name])
        _assert_sign(r, planted[g][name], f"gradient ({col}) {g} {name}")
    # information connectivity moves more industry down the gradient than up
    down = _coef(s003["rows"], "gradient", 3, "connectivity_i")["estimate"]
    up = _coef(s003["rows"], "gradient", 4, "connectivity_i")["estimate"]
    assert (down > up) == (planted["connectivity_I_larger"] == "down")


def test_sector_signs(s003):
    planted = s003["truth"]["sector_IT"]
    for (outcome, g, name), col in SECTOR_COLUMN.items():
        r = _coef(s003["rows"], "sector", col, TERM[name])
        assert r["outcome"] == {"IT_labor": "it_labor", "IT_capital": "it_capital",
                                "IT_tech": "it_technology"}[outcome]
        _assert_sign(r, planted[outcome][g][name], f"sector ({col}) {outcome} {g} {name}")


def test_tidy_rows_complete(s003):
    rows = s003["rows"]
    for col in ("estimate", "std_error", "t", "p", "ci_low", "ci_high", "ci90_low",
                "ci90_high", "n_obs", "r2"):
        assert rows[col].notna().all(), col
    assert (rows["ci90_low"] > rows["ci_low"]).all() and (rows["ci90_high"] < rows["ci_high"]).all()
    assert set(rows["table"]) >= {"baseline", "gradient", "robustness", "sector", "mechanisms",
                                  "distance_tiers", "synergy"}
    assert (rows["vcov"] == "CRV1 by pair_id").all()


def test_cross_check_linearmodels(s003):
    """Baseline column (2) against linearmodels PanelOLS (pair and period effects, clustered by
    pair). Coefficients agree directly. linearmodels' clustered covariance (debiased=False,
    group_debias=False) is the sandwich times N / (N - G - (T - 1)) (it counts the absorbed
    effects); pyfixest's CRV1 is the sandwich times G/(G-1) (N-1)/(N-K), K = regressors + the
    levels of the fixed effects not nested in the cluster (the T period levels)."""
    from linearmodels import PanelOLS

    from models_py.estimate.fit import fit_spec, sample_frame
    from models_py.estimate.specs import load_study

    spec = load_study("s003").table_specs("baseline")[1]
    assert spec.controls == ("city1", "city2") and spec.regressors == ("connectivity_hsr",)
    data = sample_frame(s003["mart"], spec)
    model, _, _ = fit_spec(data, spec, data_is_sample=True)
    x = [*spec.regressors, *spec.control_vars]
    panel = data.set_index(["pair_id", "period_id"])
    lm = PanelOLS(panel[spec.outcome], panel[x], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True, debiased=False, group_debias=False)
    n, g, t = len(data), data["pair_id"].nunique(), data["period_id"].nunique()
    assert n == 2 * g  # balanced: every pair in both periods, no singletons
    k = len(x) + t
    scale = (n - g - (t - 1)) / n * g / (g - 1) * (n - 1) / (n - k)
    b_pf, se_pf = model.coef(), model.se()
    np.testing.assert_allclose(b_pf.values, lm.params[b_pf.index].values, rtol=0, atol=1e-6)
    np.testing.assert_allclose(se_pf.values, lm.std_errors[se_pf.index].values * np.sqrt(scale),
                               rtol=0, atol=1e-6)
    stored = _coef(s003["rows"], "baseline", 2, "connectivity_hsr")
    assert abs(stored["estimate"] - lm.params["connectivity_hsr"]) < 1e-6


def test_published_files(s003):
    pub = s003["publish"]
    for stem in ("descriptives", "baseline", "gradient", "robustness", "sector",
                 "mechanisms_factor_labor", "mechanisms_factor_tech", "distance_tiers", "synergy"):
        for ext in ("md", "html", "tex"):
            f = pub / f"{stem}.{ext}"
            assert f.exists() and f.stat().st_size > 0, f
    for stem in ("baseline", "gradient", "sector"):
        for ext in ("md", "html", "tex"):
            text = (pub / f"{stem}.{ext}").read_text(encoding="utf-8")
            assert "*" in text and "(" in text and "Observations" in text, f"{stem}.{ext}"
    md = (pub / "baseline.md").read_text(encoding="utf-8")
    assert "Control variable (city1)" in md and "| No" in md and "R-squared" in md
    for stem in ("distance_tiers", "synergy"):
        for ext in ("png", "svg"):
            f = pub / f"{stem}.{ext}"
            assert f.exists() and f.stat().st_size > 1000, f
