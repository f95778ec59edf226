"""Study S000 (digital infrastructure -> intra-provincial balance) on the small embedded default,
every asset materialized by real Dagster on the session warehouse.

The truth file states what each estimator targets in units of the digital-infrastructure index
(``S000.index_effects``: the estimator applied to the gain the planted convergence brings, on a
reference index the generator computes from its own world). Checked here: those values lie in
the 95% CIs of the baseline, lag, IV, mechanism and heterogeneity columns, and the estimates
have the planted sign; the lagged index instruments the index strongly and the seed's telephone
instrument does not; every OLS column carries a wild cluster bootstrap p-value; the warehouse's
index weights match the reference's; the published files and the lineage.

The small default has 19 provinces of two to five cities: against the noise of so few cities
the coverage bench (README) finds the effects significant at 5% on a quarter to a third of the
seeds, so significance is not asserted here; the full-size report (27 provinces) shows the
baseline and IV effects significant at 1%.
"""
from __future__ import annotations

import dagster as dg
import matplotlib.image as mpimg
import pytest

from study_support import coef, covers, stat, upstream

from models_py.estimate.specs import load_study
from models_py.generate.estimands import codes, fe_2sls, fe_ols


@pytest.fixture(scope="module")
def s000(warehouse):
    return {"rows": warehouse.query("SELECT * FROM results.s000_coefficients"),
            "stats": warehouse.query("SELECT * FROM results.s000_statistics"),
            "effects": warehouse.truth["S000"]["index_effects"],
            "publish": warehouse.publish_dir / "s000", "study": load_study("s000")}


def test_planted_effect_inside_the_95_ci_of_the_baseline(s000):
    rows, effects = s000["rows"], s000["effects"]
    for column, outcome in ((1, "theil"), (3, "cv")):
        r = coef(rows, "baseline", column, "di_index")
        covers(r, effects[f"baseline_{outcome}"], f"baseline ({column})")
        assert effects[f"baseline_{outcome}"] > 0 and r["estimate"] > 0
    # with the controls the estimates keep their sign
    for column in (2, 4):
        assert coef(rows, "baseline", column, "di_index")["estimate"] > 0


def test_lags_and_iv(s000):
    rows, stats, effects = s000["rows"], s000["stats"], s000["effects"]
    lag_columns = {("theil", 0): 1, ("theil", 1): 2, ("theil", 2): 3,
                   ("cv", 0): 4, ("cv", 1): 5, ("cv", 2): 6}
    for (outcome, k), column in lag_columns.items():
        term = "di_index" if k == 0 else f"di_index_lag{k}"
        target = effects[f"baseline_{outcome}" if k == 0 else f"lag{k}_{outcome}"]
        covers(coef(rows, "lags", column, term), target, f"lags ({column})")
    # the lagged index instruments the index strongly; both 2SLS CIs cover their targets
    first = coef(rows, "iv", 1, "di_index_lag1")
    assert first["estimate"] > 0 and first["p"] < 0.01
    for column, outcome in ((2, "theil"), (3, "cv")):
        covers(coef(rows, "iv", column, "di_index"), effects[f"iv_lag1_{outcome}"],
               f"iv ({column})")
        assert stat(stats, "iv", column, "kp_f") > 100
        assert stat(stats, "iv", column, "effective_f") > 100
    # the seed's instrument: nothing in the embedded default ties 1984 telephones to the
    # provinces' digital build-up, and its first-stage F says so
    assert stat(stats, "iv", 5, "kp_f") < 10
    md = (s000["publish"] / "iv.md").read_text(encoding="utf-8")
    assert "| Kleibergen–Paap rk Wald F" in md and "Anderson–Rubin" in md


def test_the_iv_table_s_stages_share_their_sample(s000):
    """``common_sample``: every column of the IV table, first stages included, on one sample."""
    rows = s000["rows"]
    assert rows.loc[rows["table"] == "iv", "n_obs"].nunique() == 1


def test_mechanisms_and_heterogeneity(s000):
    rows, effects = s000["rows"], s000["effects"]
    patents = coef(rows, "mechanisms", 1, "di_index")
    covers(patents, effects["mechanism_log_patents"], "mechanisms (1)")
    assert effects["mechanism_log_patents"] > 0 and patents["estimate"] > 0
    covers(coef(rows, "mechanisms", 2, "di_index"), effects["mechanism_tertiary_to_secondary"],
           "mechanisms (2)")
    for column, outcome in ((3, "theil"), (6, "cv")):
        covers(coef(rows, "heterogeneity", column, "di_index:high_urbanization"),
               effects[f"urbanization_difference_{outcome}"], f"heterogeneity ({column})")


def test_the_truths_estimators_are_the_studys(warehouse, s000):
    """The numpy estimators the generator states its targets with give the study's estimates
    when run on the warehouse's own data: target and estimate are the same estimator."""
    mart, rows = warehouse.query("SELECT * FROM marts.province_year"), s000["rows"]
    fe = [codes(mart["province_id"]), codes(mart["year"])]
    assert fe_ols(mart["balance_cv"].to_numpy(), mart["di_index"].to_numpy(), fe)[0] == \
        pytest.approx(coef(rows, "baseline", 3, "di_index")["estimate"], rel=1e-8)
    d = mart.dropna(subset=["di_index_lag1"])
    fe = [codes(d["province_id"]), codes(d["year"])]
    assert fe_2sls(d["balance_theil"].to_numpy(), d["di_index"].to_numpy(),
                   d["di_index_lag1"].to_numpy(), fe) == \
        pytest.approx(coef(rows, "iv", 2, "di_index")["estimate"], rel=1e-6)


def test_every_ols_column_has_a_wild_bootstrap_p_value(s000):
    rows = s000["rows"]
    reported = rows[~rows["is_control"].astype(bool)]
    ols = reported[reported["kind"] == "ols"]
    # a p of 0 is a real outcome: no bootstrap t as extreme (a strong first stage)
    assert len(ols) > 20 and ols["wild_p"].between(0, 1).all()
    iv = reported[reported["kind"] == "iv"]
    assert iv["wild_p"].notna().all()               # the Anderson-Rubin test
    md = (s000["publish"] / "baseline.md").read_text(encoding="utf-8")
    cv = coef(rows, "baseline", 3, "di_index")
    assert f"[{cv['wild_p']:.3f}]" in md
    assert "Wild cluster bootstrap p-values in brackets: null imposed, Webb weights, 9,999 " \
           "replications, clusters by province." in md


def test_index_weights_match_the_reference(warehouse, s000):
    weights = warehouse.query("SELECT indicator, weight FROM marts.digital_infrastructure_weights")
    reference = s000["effects"]["weights"]
    assert sorted(weights["indicator"]) == sorted(reference)
    for indicator, weight in zip(weights["indicator"], weights["weight"]):
        assert weight == pytest.approx(reference[indicator], abs=0.01), indicator


def test_published_files_hold_the_tables_and_figures(s000):
    pub, study = s000["publish"], s000["study"]
    for t in study.tables:
        md = (pub / f"{t['table']}.md").read_text(encoding="utf-8")
        html = (pub / f"{t['table']}.html").read_text(encoding="utf-8")
        tex = (pub / f"{t['table']}.tex").read_text(encoding="utf-8")
        assert md.splitlines()[0].strip("*") == t["title"]
        assert f"<caption>{t['title']}" in html.replace("&amp;", "&")
        assert tex.startswith("\\begin{table}") and tex.rstrip().endswith("\\end{table}")
        if t["type"] == "regression":
            assert "clustered by province" in md and "Observations" in md
    weights = (pub / "di_weights.md").read_text(encoding="utf-8")
    assert all(f"| {study.label(name)}" in weights for name in s000["effects"]["weights"])
    for fig in study.figures:
        image = mpimg.imread(pub / f"{fig['figure']}.png")
        assert image.shape[0] > 300 and image[..., :3].std() > 0.05
        assert (pub / f"{fig['figure']}.svg").read_text(encoding="utf-8").count("<path") > 10


def test_lineage_reaches_the_raw_files():
    for key in (["results", "s000_baseline"], ["figures", "s000_lags"]):
        seen = upstream(key)
        assert dg.AssetKey(["landing", "city_yearbook"]) in seen, key
        assert dg.AssetKey(["landing", "eps"]) in seen, key
    assert dg.AssetKey(["marts", "digital_infrastructure_weights"]) in upstream(
        ["results", "s000_di_weights"])
