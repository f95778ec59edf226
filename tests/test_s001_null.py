"""Study S001 on the null variant of the small embedded default: the same world with no
effect of the big data pilot zones planted. Nothing may be found: the randomization p-value
exceeds 0.05, the pre-trend tests do not reject, and the robust estimators' CIs cover 0.

The warehouse is built by real Dagster: every asset but the other studies and the analysts'
copy (the dbt build runs whole, since its relationship tests span the project)."""
from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest

from models_py.estimate.specs import study_names
from study_support import coef, stat
from support import executable_assets, failure_message, materialize, refresh_checks


@pytest.fixture(scope="module")
def null_warehouse(tmp_path_factory):
    from dagster_project.definitions import defs
    from models_py.generate import generate

    base = tmp_path_factory.mktemp("s001_null")
    generate(base / "raw", base / "truth.json", scale="small", s001_null=True)
    result = materialize([*executable_assets(defs), *refresh_checks(defs)], base / "raw",
                         base / "warehouse.duckdb",
                         selection=dg.AssetSelection.all()
                         - dg.AssetSelection.groups(*(n for n in study_names() if n != "s001"))
                         - dg.AssetSelection.keys("analyst_snapshot"),
                         publish_dir=base / "publish")
    assert result.success, failure_message(result)
    truth = json.loads((base / "truth.json").read_text(encoding="utf-8"))["S001"]
    with duckdb.connect(str(base / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT * FROM results.s001_coefficients").df()
        stats = con.execute("SELECT * FROM results.s001_statistics").df()
    return {"truth": truth, "rows": rows, "stats": stats, "publish": base / "publish" / "s001"}


def test_the_truth_says_nothing_was_planted(null_warehouse):
    truth = null_warehouse["truth"]
    assert truth["variant"] == "null"
    assert truth["index_effects"]["twfe"] == 0 and truth["index_effects"]["att_imputation"] == 0
    assert truth["implied_index_gain"]["treated_post_mean"] == 0
    for name, est in truth["estimands"].items():
        if name != "iv_first_stage":
            assert est["sign"] == "0" and est["value"] == 0, name


def test_randomization_p_value_exceeds_five_percent(null_warehouse):
    assert stat(null_warehouse["stats"], "placebo", 1, "ri_p") > 0.05


def test_pre_trend_test_does_not_reject(null_warehouse):
    for column in (1, 2, 3, 4):     # TWFE, imputation, Callaway–Sant'Anna, Sun–Abraham
        assert stat(null_warehouse["stats"], "event_study", column, "pretrend_p") > 0.05


def test_robust_estimator_ci_covers_zero(null_warehouse):
    for column in (1, 2):
        r = coef(null_warehouse["rows"], "robust_did", column, "did")
        assert r["ci_low"] < 0 < r["ci_high"], (column, r["estimate"])
    # nor Callaway–Sant'Anna's overall ATT
    stats = null_warehouse["stats"]
    att, se = stat(stats, "event_study", 3, "att"), stat(stats, "event_study", 3, "att_se")
    assert abs(att) < 1.96 * se, (att, se)
    # the mechanisms are not planted either
    for column in (1, 2):
        r = coef(null_warehouse["rows"], "mechanisms", column, "did")
        assert r["ci_low"] < 0 < r["ci_high"], (column, r["estimate"])
    assert (null_warehouse["publish"] / "placebo.png").stat().st_size > 10_000
