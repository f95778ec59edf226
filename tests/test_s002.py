"""Study S002 (cross-border e-commerce pilot areas -> business-cycle synchronization of city
pairs) on the small embedded default, every asset materialized by real Dagster on the session
warehouse.

The truth file states what each estimator targets in units of synchronization
(``S002.effects[<tie threshold>]``: the estimator applied to the synchronization gain the pilots'
pull brings, against the same world without it, on the pairs at or above the threshold).
Checked here: the pair sample the study's documented threshold keeps; the TWFE and imputation
CIs cover their targets at that threshold (the robustness table's thresholds and the joint tool
column, three tool indices at once, within three standard errors of theirs) and the estimates
have the planted sign; Callaway–Sant'Anna and Sun–Abraham beside them; the standard errors are
dyadic-robust by the pair's cities; the policy-tool intensities equal the keyword counts the
generator wrote into the texts, and the tool effects' CIs cover their targets; the
heterogeneity interactions lie near what the planted pull implies (it ignores endowments, but
pairs of high endowments are more often two pilots), and the mechanisms, planted as zero, are
not found; the published files and the lineage.

The small default has 70 cities, 44 of them pilots and 26 never: at that size the coverage
bench (README) finds the baseline TWFE significant at 5% on about half of the seeds, so
significance is not asserted here; the full-size report, with 296 cities of which 156 are
pilots, shows every column against its target.
"""
from __future__ import annotations

import re

import dagster as dg
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import yaml

from study_support import (bacon_equals_twfe, coef, covers, robust_event_studies, stat,
                           upstream, widening_rm_sets)

from models_py.estimate.specs import STUDIES_DIR, load_study
from models_py.generate.estimands import codes, fe_ols, imputation_att


@pytest.fixture(scope="module")
def s002(warehouse):
    doc = yaml.safe_load((STUDIES_DIR / "s002.yml").read_text(encoding="utf-8"))
    threshold = float(re.fullmatch(r"ties_base_percentile >= ([0-9.]+)",
                                   doc["aliases"]["strong_ties"]).group(1))
    return {"rows": warehouse.query("SELECT * FROM results.s002_coefficients"),
            "stats": warehouse.query("SELECT * FROM results.s002_statistics"),
            "mart": warehouse.query("SELECT * FROM marts.city_pair_year"),
            "truth": warehouse.truth["S002"], "threshold": threshold,
            "effects": warehouse.truth["S002"]["effects"][str(threshold)],
            "publish": warehouse.publish_dir / "s002", "study": load_study("s002")}


def test_pairs_kept_by_pre_pilot_economic_ties(s002):
    mart, threshold = s002["mart"], s002["threshold"]
    pairs = mart.drop_duplicates("pair_id").set_index("pair_id")
    ranked = pairs["ties_base"].rank(method="min")
    expected = (ranked - 1) / (ranked.notna().sum() - 1)
    np.testing.assert_allclose(pairs["ties_base_percentile"], expected, atol=1e-12)
    kept = pairs[pairs["ties_base_percentile"] >= threshold]
    assert len(kept) == s002["effects"]["pairs"]
    assert (kept["ties_base"] > pairs["ties_base"].median()).all() == (threshold >= 0.5)
    baseline = coef(s002["rows"], "baseline", 1, "treated")
    assert baseline["sample"] == f"ties_base_percentile >= {threshold:g}" or \
        str(threshold) in baseline["sample"]
    in_sample = mart[(mart["ties_base_percentile"] >= threshold) & mart["bcs"].notna()]
    assert baseline["n_obs"] == len(in_sample) == s002["effects"]["rows"]


def test_did_recovers_the_planted_synchronization_gain(s002):
    rows, effects = s002["rows"], s002["effects"]
    twfe, imputation = coef(rows, "baseline", 1, "treated"), coef(rows, "baseline", 3, "treated")
    covers(twfe, effects["twfe"], "baseline (1) TWFE")
    covers(imputation, effects["att_imputation"], "baseline (3) imputation")
    for r in (twfe, coef(rows, "baseline", 2, "treated"), imputation):
        assert r["estimate"] > 0
    # the robustness table re-estimates at each threshold, each against its own target
    for spec in s002["study"].table_specs("tie_threshold"):
        value = float(re.search(r">= ([0-9.]+)", spec.sample).group(1))
        r = coef(rows, "tie_threshold", spec.column, "treated")
        target = s002["truth"]["effects"][str(value)]["twfe"]
        assert abs(r["estimate"] - target) < 3 * r["std_error"], (value, r["estimate"], target)
        assert r["estimate"] > 0


def test_bacon_decomposition_sums_to_the_twfe_estimate(warehouse, s002):
    comparisons = warehouse.query("SELECT * FROM results.s002_bacon_comparisons")
    assert set(comparisons["type"]) == {"earlier vs later treated", "later vs earlier treated",
                                        "treated vs never treated"}
    assert bacon_equals_twfe(s002["mart"], s002["study"], comparisons) > 0


def test_callaway_santanna_and_sun_abraham_recover_the_planted_gain(s002):
    robust_event_studies(s002["rows"], s002["stats"], s002["effects"]["att_imputation"],
                         lags_positive=False)


def test_the_truths_estimators_are_the_studys(s002):
    """The numpy estimators the generator states its targets with give the study's estimates
    when run on the warehouse's own data: target and estimate are the same estimator."""
    mart, rows = s002["mart"], s002["rows"]
    d = mart[(mart["ties_base_percentile"] >= s002["threshold"]) & mart["bcs"].notna()]
    unit, year = codes(d["pair_id"]), codes(d["year"])
    y, treated = d["bcs"].to_numpy(float), d["treated"].to_numpy(float)
    assert fe_ols(y, treated, [unit, year])[0] == pytest.approx(
        coef(rows, "baseline", 1, "treated")["estimate"], rel=1e-8)
    assert imputation_att(y, treated > 0, unit, year) == pytest.approx(
        coef(rows, "baseline", 3, "treated")["estimate"], rel=1e-6)


def test_standard_errors_are_dyadic_robust_by_the_pair_cities(s002):
    rows = s002["rows"]
    assert (rows["vcov"] == "dyadic-robust by city_a and city_b").all()
    sample = s002["mart"].query(f"ties_base_percentile >= {s002['threshold']}")
    cities = pd.unique(pd.concat([sample["city_a"], sample["city_b"]]))
    baseline = rows[(rows["table"] == "baseline") & (rows["kind"] == "ols")]
    assert (baseline["n_clusters"] == len(cities)).all()     # every city, as a or as b
    md = (s002["publish"] / "baseline.md").read_text(encoding="utf-8")
    assert ("Standard errors clustered by city, dyadic-robust (any two pairs that share a "
            "city) in parentheses.") in md


def test_policy_tool_intensities_count_the_keywords_of_the_texts(warehouse, s002):
    table = warehouse.query("SELECT * FROM marts.policy_tool_intensity").set_index("city_id")
    planted = s002["truth"]["policy_texts"]["cities"]
    written = {c: v for c, v in planted.items() if v["documents"] > 0}
    assert sorted(table.index) == sorted(written)
    for city, v in written.items():
        assert table.loc[city, "documents"] == v["documents"], city
        for tool in ("supply", "environment", "demand"):
            assert table.loc[city, tool] == v["keywords"][tool], (city, tool)
    for tool in ("supply", "environment", "demand"):
        assert table[f"{tool}_index"].mean() == pytest.approx(1.0)
    md = (s002["publish"] / "policy_tools.md").read_text(encoding="utf-8")
    assert md.count("\n| ") - 1 == len(table)       # one row per pilot city with texts


def test_policy_tool_effects(s002):
    rows, effects = s002["rows"], s002["effects"]
    for column, tool in ((1, "supply"), (2, "environment"), (3, "demand")):
        covers(coef(rows, "policy_tool_effects", column, f"did_tool_{tool}"),
               effects[f"did_tool_{tool}"], f"policy_tool_effects ({column})")
        assert effects[f"did_tool_{tool}"] > 0
    for tool, target in effects["joint"].items():
        r = coef(rows, "policy_tool_effects", 4, tool)
        assert abs(r["estimate"] - target) < 3 * r["std_error"], (tool, r["estimate"], target)


def planted_gain(s002) -> np.ndarray:
    """The synchronization gain the pilots' pull brings to each row of the mart: -|g_a - g_b| of
    the world's growth minus the same without the pull (the truth's ``S002.city_growth``)."""
    growth = pd.DataFrame(s002["truth"]["city_growth"]).set_index(["city_id", "year"])
    mart = s002["mart"]
    a = growth.reindex(pd.MultiIndex.from_arrays([mart["city_a"], mart["year"]]))
    b = growth.reindex(pd.MultiIndex.from_arrays([mart["city_b"], mart["year"]]))
    return (-np.abs(a["growth"].to_numpy() - b["growth"].to_numpy())
            + np.abs(a["growth_without"].to_numpy() - b["growth_without"].to_numpy()))


def test_heterogeneity_holds_what_the_planted_pull_implies(s002):
    """The pull does not depend on the pairs' endowments, but the pairs of high endowments are
    more often two pilot cities, whose loadings both move: each interaction's target is the
    estimator applied to the planted gain, and the estimate lies within three standard errors
    of it."""
    assert s002["truth"]["estimands"]["heterogeneity_and_mechanisms"]["sign"] == "0"
    mart = s002["mart"].assign(gain=planted_gain(s002))
    assert mart.loc[mart["bcs"].notna(), "gain"].notna().all()
    d = mart[(mart["ties_base_percentile"] >= s002["threshold"]) & mart["bcs"].notna()]
    fe = [codes(d["pair_id"]), codes(d["year"])]
    for column, split in ((6, "high_human_capital"), (9, "high_financial_development"),
                          (12, "high_information_infrastructure")):
        x = np.column_stack([d["treated"], d["treated"] * d[split].astype(float)])
        target = fe_ols(d["gain"].to_numpy(), x, fe)[1]
        r = coef(s002["rows"], "heterogeneity", column, f"treated:{split}")
        assert abs(r["estimate"] - target) < 3 * r["std_error"], (split, r["estimate"], target)
    # the target itself: the estimator on the gain, as the truth's own TWFE target is
    twfe = fe_ols(d["gain"].to_numpy(), d["treated"].to_numpy(float), fe)[0]
    assert twfe == pytest.approx(s002["effects"]["twfe"], rel=1e-3, abs=1e-6)


def test_mechanisms_planted_as_zero_are_not_found(s002):
    assert s002["truth"]["estimands"]["heterogeneity_and_mechanisms"]["sign"] == "0"
    rows = s002["rows"]
    for column, term in ((1, "treated"), (2, "treated"), (3, "log_documents_cum")):
        r = coef(rows, "mechanisms", column, term)
        assert r["p"] >= 0.01, (column, term, r["estimate"], r["p"])


def test_sensitivity_sets_of_both_event_studies_cover_the_planted_gain(warehouse, s002):
    """Rambachan-Roth sets (relative magnitudes) of the TWFE and the imputation event study:
    they widen with Mbar and the widest covers the planted gain (the pooled target; the sets'
    target averages event times 0-4)."""
    sensitivity = warehouse.query("SELECT * FROM results.s002_event_study_sensitivity")
    for column, target in ((1, "twfe"), (2, "att_imputation")):
        sets = widening_rm_sets(sensitivity, column, [0.5, 1.0])
        wide = sets.iloc[-1]
        assert wide["lower"] < s002["effects"][target] < wide["upper"], (column, wide)
        assert stat(s002["stats"], "event_study", column, "breakdown_mbar") >= 0


def test_published_files_hold_the_tables_and_figures(s002):
    pub, study = s002["publish"], s002["study"]
    for t in study.tables:
        stems = [t["table"], *(f"{t['table']}_{f}" for f in t.get("frames", {}))]
        if t["type"] == "frame" and "source" not in t:
            stems = stems[1:]          # a table of an estimator's frames prints only those
        for stem in stems:
            md = (pub / f"{stem}.md").read_text(encoding="utf-8")
            assert (pub / f"{stem}.html").exists() and (pub / f"{stem}.tex").exists()
            assert len([ln for ln in md.splitlines() if ln.startswith("|")]) >= 4, stem
    events = s002["rows"][s002["rows"]["table"] == "event_study"]
    assert set(events["column"]) == {1, 2, 3, 4} and events["event_time"].notna().all()
    for fig in study.figures:
        image = mpimg.imread(pub / f"{fig['figure']}.png")
        assert image.shape[0] > 300 and image[..., :3].std() > 0.05
        assert (pub / f"{fig['figure']}.svg").read_text(encoding="utf-8").count("<path") > 10


def test_lineage_reaches_the_raw_files():
    for key in (["results", "s002_baseline"], ["results", "s002_policy_tool_effects"],
                ["figures", "s002_event_study"]):
        seen = upstream(key)
        for source in ("city_yearbook", "eps", "policy_texts"):
            assert dg.AssetKey(["landing", source]) in seen, (key, source)
