"""Study S001 on the small embedded default, every asset materialized by real Dagster on the
session warehouse (raw loads, dbt, checks, study assets).

The planted effect on the resilience index that each estimator targets is in the truth file
(``S001.index_effects``: the estimator applied to the noise-free index gain of the planted
effects). Checked here: that number lies inside the 95% CI of the baseline TWFE and of the
imputation estimator; the IV estimate lies within two standard errors of its target, with the
first-stage statistics reported (and the Kleibergen-Paap statistic equal to linearmodels' on
the demeaned data); matching on pre-treatment covariates reports the balance of every control;
the spillover has the planted sign; the placebo coefficients equal one
pyfixest fit per draw; the published files hold what the tables and figures should; the lineage
reaches the raw files; a YAML edit adds a column or changes the clustering; a failing spec
fails its asset and names the spec.
"""
from __future__ import annotations

import shutil
from html import unescape

import dagster as dg
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import yaml

from study_support import (bacon_equals_twfe, coef, robust_event_studies, stat, upstream,
                           widening_rm_sets)
from support import failure_message, materialize

from models_py.estimate import estimators
from models_py.estimate.estimators import placebo, within
from models_py.estimate.specs import STUDIES_DIR, load_study

CONTROLS = ["log_economic_density", "infrastructure", "gov_intervention", "fdi_to_gdp",
            "log_avg_wage"]


@pytest.fixture(scope="module")
def s001(warehouse):
    return {"rows": warehouse.query("SELECT * FROM results.s001_coefficients"),
            "stats": warehouse.query("SELECT * FROM results.s001_statistics"),
            "mart": warehouse.query("SELECT * FROM marts.city_year"),
            "truth": warehouse.truth["S001"], "publish": warehouse.publish_dir / "s001",
            "study": load_study("s001")}


def test_planted_effect_inside_the_95_ci_of_baseline_and_robust_estimator(s001):
    assert s001["truth"]["variant"] == "planted"
    effects = s001["truth"]["index_effects"]
    assert effects["twfe"] > 0.02 and effects["att_imputation"] > 0.02
    for table, column, target in (("baseline", 1, "twfe"), ("baseline", 2, "twfe"),
                                  ("robust_did", 1, "att_imputation"),
                                  ("robust_did", 2, "att_imputation")):
        r = coef(s001["rows"], table, column, "did")
        assert r["ci_low"] < effects[target] < r["ci_high"], (table, column, r["estimate"],
                                                              effects[target])
        assert r["p"] < 0.05, (table, column, r["p"])


def test_iv_within_two_standard_errors_with_first_stage_statistics(s001):
    target = s001["truth"]["index_effects"]["iv"]
    r = coef(s001["rows"], "iv", 2, "did")
    assert abs(r["estimate"] - target) < 2 * r["std_error"], (r["estimate"], target)
    first = coef(s001["rows"], "iv", 1, "iv_telephones_x_internet")
    assert first["estimate"] > 0 and first["p"] < 0.01
    kp, eff = stat(s001["stats"], "iv", 2, "kp_f"), stat(s001["stats"], "iv", 2, "effective_f")
    assert kp > 10 and eff > 10
    # one instrument, one endogenous regressor: both are the clustered first-stage Wald F,
    # scaled as ivreghdfe and as pyfixest do; they agree to a few percent
    assert kp == pytest.approx(eff, rel=0.05)
    assert stat(s001["stats"], "iv", 2, "first_stage_f") == pytest.approx(eff, rel=1e-8)
    low, high = stat(s001["stats"], "iv", 2, "ar_low"), stat(s001["stats"], "iv", 2, "ar_high")
    assert low < r["estimate"] < high and stat(s001["stats"], "iv", 2, "kp_lm_p") < 0.01
    md = (s001["publish"] / "iv.md").read_text(encoding="utf-8")
    assert "| Kleibergen–Paap rk Wald F" in md and f"{kp:.3f}" in md and f"{eff:.3f}" in md


def test_the_iv_table_s_two_stages_report_the_same_observations(s001):
    """The table's ``common_sample``: the first stage (no outcome in its formula) is estimated
    on the second stage's rows, not on the rows that only lack the outcome too."""
    rows = s001["rows"]
    n = rows[rows["table"] == "iv"].drop_duplicates("column").set_index("column")["n_obs"]
    assert n[1] == n[2] > 0
    md = (s001["publish"] / "iv.md").read_text(encoding="utf-8")
    assert "| Estimator " in md and "2SLS" in md       # the columns' estimators differ


def test_kleibergen_paap_equals_linearmodels_on_demeaned_data(s001):
    """linearmodels' IV2SLS absorbs no fixed effects: demean by city and year first; its
    clustered first-stage Wald statistic (debiased=False) is the rk Wald statistic, scaled to
    an F as ivreghdfe does (year effects absorbed, city effects nested in the cluster)."""
    from linearmodels.iv import IV2SLS

    cols = ["resilience_index", "did", "iv_telephones_x_internet", *CONTROLS]
    d = s001["mart"][[*cols, "city_id", "year"]].dropna().reset_index(drop=True)
    d["did"] = d["did"].astype(float)
    fe = within.fixed_effect_codes(d, ["city_id", "year"])
    dm = pd.DataFrame(within.demeaned(d[cols].to_numpy(float), fe), columns=cols)
    clusters = pd.Series(pd.factorize(d["city_id"])[0])
    lm = IV2SLS(dm["resilience_index"], dm[CONTROLS], dm["did"],
                dm["iv_telephones_x_internet"]).fit(cov_type="clustered", clusters=clusters,
                                                    debiased=False)
    lm_wald = float(lm.first_stage.diagnostics.loc["did", "f.stat"])
    n, g, L = len(d), d["city_id"].nunique(), 1
    absorbed = d["year"].nunique() - 1
    assert stat(s001["stats"], "iv", 2, "kp_wald") == pytest.approx(lm_wald, rel=1e-8)
    assert stat(s001["stats"], "iv", 2, "kp_f") == pytest.approx(
        lm_wald / L * (n - L - len(CONTROLS) - absorbed) / (n - 1) * (g - 1) / g, rel=1e-8)
    # the second stage agrees with linearmodels on the demeaned data
    assert float(lm.params["did"]) == pytest.approx(coef(s001["rows"], "iv", 2, "did")["estimate"],
                                                    rel=1e-6)


def test_matching_reports_the_balance_of_every_control(warehouse, s001):
    balance = warehouse.query("SELECT * FROM results.s001_psm_did_balance")
    assert sorted(balance["covariate"]) == sorted(CONTROLS)
    # matched on the covariates of one pre-treatment year, 17 pilot cities against 51 others at
    # small scale: whether one neighbour each, with replacement, balances every control is a
    # matter of the draw (here a few controls serve many pilots, and one control's SMD widens
    # while the largest before shrinks); the matching itself is tested in test_psm_did.py
    for when in ("before", "after"):
        assert stat(s001["stats"], "psm_did", 1, f"max_abs_smd_{when}") == pytest.approx(
            balance[f"smd_{when}"].abs().max())
    assert stat(s001["stats"], "psm_did", 1, "matched_treated_share") > 0.5
    r = coef(s001["rows"], "psm_did", 1, "did")
    assert r["estimate"] > 0 and r["n_obs"] < len(s001["mart"])
    md = (s001["publish"] / "psm_did_balance.md").read_text(encoding="utf-8")
    assert "SMD (after)" in md and "ln(average wage)" in md


def test_spillover_has_the_planted_sign(s001):
    planted = s001["truth"]["estimands"]["spatial_spillover"]["sign"]
    assert planted == "+"
    for column in (1, 2):
        r = coef(s001["rows"], "spatial_did", column, "w_did")
        assert np.sign(r["estimate"]) == 1, (column, r["estimate"])
        assert coef(s001["rows"], "spatial_did", column, "did")["estimate"] > 0


def test_event_study_placebo_mechanisms_and_heterogeneity(warehouse, s001):
    rows, stats = s001["rows"], s001["stats"]
    # no anticipation planted: the leads are jointly insignificant, the lags positive
    for column in (1, 2):
        assert stat(stats, "event_study", column, "pretrend_p") > 0.05
        lags = rows[(rows["table"] == "event_study") & (rows["column"] == column)
                    & (rows["event_time"] >= 0)]
        assert len(lags) == 6 and (lags["estimate"] > 0).all()
    # Rambachan-Roth sets of both event studies: they widen with Mbar, hold the estimate,
    # exclude zero below the breakdown value, and cover the planted ATT (all event times: its
    # target, event times 0-4, differs by the effect's growth, inside the sets' width)
    sensitivity = warehouse.query("SELECT * FROM results.s001_event_study_sensitivity")
    for column, target in ((1, "twfe"), (2, "att_imputation")):
        sets = widening_rm_sets(sensitivity, column, [0.5, 1.0])
        theta = stat(stats, "event_study", column, "honest_theta")
        assert ((sets["lower"] < theta) & (theta < sets["upper"])).all()
        breakdown = stat(stats, "event_study", column, "breakdown_mbar")
        assert ((sets["value"] >= breakdown) | (sets["lower"] > 0)).all(), (column, breakdown)
        planted = s001["truth"]["index_effects"][target]
        wide = sets[sets["value"] == 1.0].iloc[0]
        assert wide["lower"] < planted < wide["upper"], (column, planted, wide)
    # the real schedule is extreme among 500 re-drawn ones
    draws = warehouse.query("SELECT * FROM results.s001_placebo_draws")
    real = coef(rows, "placebo", 1, "did")["estimate"]
    assert len(draws) == 500 and draws["draw"].is_unique
    p = (1 + (draws["estimate"].abs() >= abs(real)).sum()) / 501
    assert stat(stats, "placebo", 1, "ri_p") == pytest.approx(p) and p < 0.05
    # mechanisms: the planted steps lie in the 95% CIs
    est = s001["truth"]["estimands"]
    for column, name in ((1, "mechanism_talent_share"), (2, "mechanism_log_new_digital_firms")):
        r = coef(rows, "mechanisms", column, "did")
        assert r["ci_low"] < est[name]["value"] < r["ci_high"], (name, r["estimate"])
    # heterogeneity: larger effects in large cities, the difference significant
    large = coef(rows, "heterogeneity", 3, "did:is_megacity_or_super_large")
    assert large["estimate"] > 0 and large["p"] < 0.05
    assert coef(rows, "heterogeneity", 1, "did")["estimate"] > \
        coef(rows, "heterogeneity", 2, "did")["estimate"]


def test_callaway_santanna_and_sun_abraham_recover_the_planted_effect(s001):
    robust_event_studies(s001["rows"], s001["stats"],
                         s001["truth"]["index_effects"]["att_imputation"])
    md = (s001["publish"] / "event_study.md").read_text(encoding="utf-8")
    assert "| Estimator" in md and "Callaway–Sant'Anna" in md and "Sun–Abraham" in md


def test_bacon_decomposition_sums_to_the_twfe_estimate(warehouse, s001):
    comparisons = warehouse.query("SELECT * FROM results.s001_bacon_comparisons")
    twfe = bacon_equals_twfe(s001["mart"], s001["study"], comparisons)
    assert twfe > 0
    md = (s001["publish"] / "bacon_summary.md").read_text(encoding="utf-8")
    assert "| later vs earlier treated" in md and "| treated vs never treated" in md


def test_placebo_coefficients_equal_one_pyfixest_fit_per_draw(s001):
    spec = load_study("s001").table_specs("placebo")[0]
    data = estimators.sample_frame(s001["mart"], spec)
    betas, used = placebo.placebo_coefficients(data, spec, draws=5, seed=7)
    units = pd.Index(used["city_id"].unique()).sort_values()
    schedule = placebo.drawn_cohorts(
        used.groupby("city_id")["first_treated_year"].first().reindex(units).to_numpy(float),
        5, 7)
    for k in range(5):
        cohort = dict(zip(units, schedule[k]))
        d = used.assign(placebo_did=[float(y >= cohort[c]) if np.isfinite(cohort[c]) else 0.0
                                     for c, y in zip(used["city_id"], used["year"])])
        fit = pf.feols(f"resilience_index ~ placebo_did + {' + '.join(CONTROLS)} | city_id + year",
                       d, fixef_tol=1e-12)
        assert betas[k] == pytest.approx(fit.coef()["placebo_did"], abs=1e-8)


def test_published_files_hold_the_tables_and_figures(s001):
    pub, study = s001["publish"], s001["study"]
    for t in study.tables:
        stems = [t["table"], *(f"{t['table']}_{f}" for f in t.get("frames", {}))]
        if t["type"] == "frame" and "source" not in t:
            stems = stems[1:]
        for stem in stems:
            md = (pub / f"{stem}.md").read_text(encoding="utf-8")
            tex = (pub / f"{stem}.tex").read_text(encoding="utf-8")
            html = (pub / f"{stem}.html").read_text(encoding="utf-8")
            title = md.splitlines()[0].strip("*")
            assert title and f"<caption>{title}" in unescape(html), stem
            assert tex.startswith("\\begin{table}") and tex.rstrip().endswith("\\end{table}")
            body = [ln for ln in md.splitlines() if ln.startswith("|")]
            assert len(body) >= 4, stem
        if t["type"] == "regression":
            specs = study.table_specs(t["table"])
            md = (pub / f"{t['table']}.md").read_text(encoding="utf-8")
            header = md.splitlines()[2]
            assert [c.strip() for c in header.strip("|").split("|")][1:] == \
                [f"({k})" for k in range(1, len(specs) + 1)]
            assert "Observations" in md and "clustered by city" in md
    weights = (pub / "resilience_weights.md").read_text(encoding="utf-8")
    assert weights.count("| Innovation / transformation") == 4
    for fig in study.figures:
        png = pub / f"{fig['figure']}.png"
        image = mpimg.imread(png)
        assert image.shape[0] > 300 and image.shape[1] > 500
        assert image[..., :3].std() > 0.05            # not a blank canvas
        svg = (pub / f"{fig['figure']}.svg").read_text(encoding="utf-8")
        assert "<svg" in svg and svg.count("<path") > 10


def test_tidy_rows_complete(s001):
    rows = s001["rows"]
    assert set(rows["table"]) == {"baseline", "event_study", "robust_did", "placebo", "psm_did",
                                  "iv", "mechanisms", "heterogeneity", "spatial_did"}
    for col in ("estimate", "std_error", "t", "p", "ci_low", "ci_high", "n_obs"):
        assert rows[col].notna().all(), col
    assert (rows["vcov"] == "CRV1 by city_id").all()
    assert (rows["ci90_low"] > rows["ci_low"]).all()
    events = rows[rows["term"].str.startswith("event_time::")]
    assert sorted(events["event_time"].unique()) == [-4, -3, -2, 0, 1, 2, 3, 4, 5]


def test_lineage_reaches_the_raw_files():
    from dagster_project.definitions import defs

    graph = defs.resolve_asset_graph()
    for key in (["results", "s001_baseline"], ["figures", "s001_event_study"],
                ["results", "s001_spatial_did"], ["results", "s001_coefficients"]):
        seen = upstream(key)
        assert dg.AssetKey(["landing", "city_yearbook"]) in seen, key
        assert dg.AssetKey(["landing", "eps"]) in seen, key
    assert dg.AssetKey(["marts", "dim_city"]) in graph.get(
        dg.AssetKey(["results", "s001_spatial_did"])).parent_keys


def _edited_study(tmp_path, edit) -> "object":
    doc = yaml.safe_load((STUDIES_DIR / "s001.yml").read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / "s001.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_study(path=path)


def _connect(db):
    """A connection configured as the Dagster resource's (one process may hold both)."""
    from dagster_duckdb import DuckDBResource
    return DuckDBResource(database=str(db)).get_connection()


def _baseline_asset(study):
    from dagster_project.assets.studies import study_assets
    return next(a for a in study_assets(study)
                if a.key == dg.AssetKey(["results", "s001_baseline"]))


def _materialize_edited_baseline(warehouse, tmp_path, edit):
    """S001's baseline table asset, built from the study file as ``edit`` changes it, on a copy
    of the session's warehouse: the run's result and the copy."""
    study = _edited_study(tmp_path, edit)
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse.db, db)
    result = materialize([_baseline_asset(study)], warehouse.raw_dir, db,
                         publish_dir=tmp_path / "publish")
    return result, db


def test_a_yaml_edit_adds_a_column_and_changes_the_clustering(warehouse, tmp_path):
    def edit(doc):
        doc["defaults"]["cluster"] = "province_id"
        doc["names"]["province_id"] = "province"
        base = next(t for t in doc["tables"] if t["table"] == "baseline")
        base["columns"].append({"column": 3, "outcome": "resilience_index_innovation"})
    result, db = _materialize_edited_baseline(warehouse, tmp_path, edit)
    assert result.success, failure_message(result)
    md = (tmp_path / "publish" / "s001" / "baseline.md").read_text(encoding="utf-8")
    assert "| (3)" in md and "Resilience — innovation / transformation" in md
    assert "Standard errors clustered by province in parentheses." in md
    with _connect(db) as con:
        rows = con.execute("SELECT * FROM results.s001_baseline WHERE term = 'did'").df()
    assert sorted(rows["column"]) == [1, 2, 3]
    assert (rows["vcov"] == "CRV1 by province_id").all()
    before = warehouse.query("SELECT * FROM results.s001_baseline WHERE term = 'did'")
    merged = rows.merge(before, on="column", suffixes=("", "_city"))
    assert np.allclose(merged["estimate"], merged["estimate_city"])
    assert not np.allclose(merged["std_error"], merged["std_error_city"])


def test_a_spec_without_rows_is_published_as_not_estimable(warehouse, tmp_path):
    def edit(doc):
        base = next(t for t in doc["tables"] if t["table"] == "baseline")
        base["columns"][1]["sample"] = "year > 3000"      # no row left to estimate on
    result, db = _materialize_edited_baseline(warehouse, tmp_path, edit)
    assert result.success, failure_message(result)
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "estimable" and not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert "S001 baseline (2): sample 'year > 3000' keeps no rows" in check.description
    with _connect(db) as con:
        rows = con.execute("SELECT * FROM results.s001_baseline").df()
    assert rows.loc[rows["column"] == 2, "status"].tolist() == ["not_estimable"]
    assert (rows.loc[rows["column"] == 1, "status"] == "estimated").all()


def test_a_failing_spec_fails_its_asset_and_names_the_spec(warehouse, tmp_path):
    def edit(doc):
        base = next(t for t in doc["tables"] if t["table"] == "baseline")
        # the bootstrap resamples one cluster variable: a two-way one fails the fit
        base["columns"][1].update(cluster="city_id+year",
                                  options={"wild_bootstrap": {"reps": 99}})
        doc["names"]["city_id+year"] = "city and year"
    before = warehouse.query("SELECT * FROM results.s001_baseline")
    result, db = _materialize_edited_baseline(warehouse, tmp_path, edit)
    assert not result.success
    message = failure_message(result)
    assert "S001 table 'baseline': 1 of 2 specs failed" in message
    assert "spec S001/baseline column (2)" in message
    with _connect(db) as con:   # the run's connection may linger: open it the same way
        after = con.execute("SELECT * FROM results.s001_baseline").df()
        status = con.execute("""SELECT status, reason FROM results._table_status
                                WHERE study = 'S001' AND "table" = 'baseline'""").fetchone()
    pd.testing.assert_frame_equal(after, before)     # nothing half-written
    assert status[0] == "stale" and "spec S001/baseline column (2)" in status[1]
