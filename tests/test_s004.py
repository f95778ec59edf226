"""Study S004 (industrial clustering -> growth and urban-rural inequality) on the small embedded
default, every asset materialized by real Dagster on the session warehouse.

The truth file lists the planted clusters (county, industry, start year, entrepreneurial or
not) and their effects per year of presence: GDP growth +0.03 (entrepreneurial) and +0.02
(other), log rural income +0.12 (entrepreneurial only), so the log urban-rural income gap -0.12,
urban income untouched. The study regresses on the clusters the firm records show (a cluster's
firms are there in full from its start year, so the records find it that year). The value each
column targets is the planted component projected on those measured indicators (county and
year fixed effects), computed here from the truth and the mart's indicators: the estimate
differs from it by noise only. Checked: the measured indicators match the planted clusters; the
targets stay close to the planted values; the CIs cover them, all eleven at a family-wise 95%
(Bonferroni); signs and significance; effects planted as zero are not found; the event
study; the published files and the lineage.
"""
from __future__ import annotations

import dagster as dg
import matplotlib.image as mpimg
import pytest
from scipy.stats import t as student_t

from study_support import coef, upstream

from models_py.estimate.specs import load_study
from models_py.generate.county_world import planted_component
from models_py.generate.estimands import codes, fe_ols


@pytest.fixture(scope="module")
def s004(warehouse):
    truth = warehouse.truth["S004"]
    mart = warehouse.query("SELECT * FROM marts.county_year")
    growth = planted_component(truth, mart, "gdp_growth")
    rural = planted_component(truth, mart, "log_rural_income")
    mart = mart.assign(planted_entrepreneurial=rural > 0, planted_other=(growth > 0) & (rural == 0))
    return {"rows": warehouse.query("SELECT * FROM results.s004_coefficients"),
            "stats": warehouse.query("SELECT * FROM results.s004_statistics"),
            "mart": mart, "truth": truth, "estimands": truth["estimands"],
            "publish": warehouse.publish_dir / "s004", "study": load_study("s004")}


def target(s004, outcome: str, regressors: list[str]) -> dict[str, float]:
    """The planted component projected on the measured indicators, county and year fixed
    effects, on the rows the regression uses."""
    m = s004["mart"]
    keep = m[outcome].notna().to_numpy()
    x = m.loc[keep, regressors].astype(float).to_numpy()
    y = planted_component(s004["truth"], m, outcome)[keep]
    fe = [codes(m.loc[keep, "county_id"]), codes(m.loc[keep, "year"])]
    return dict(zip(regressors, fe_ols(y, x, fe)))


# The CIs this module holds to their targets: eight in the growth, inequality and channel
# tables, three in the entrepreneurial one. Eleven 95% CIs all hold at one seed with
# probability 0.95^11 = 0.57 only: each is widened to its Bonferroni interval, so that all hold
# with probability 0.95 at least.
FAMILY = 11


def holds(r, value: float) -> bool:
    """Whether the CI of coefficient row ``r``, at a family-wise 95% over :data:`FAMILY`
    intervals, holds ``value``."""
    t = student_t.ppf(1 - 0.05 / (2 * FAMILY), r["n_clusters"] - 1)
    return abs(r["estimate"] - value) < t * r["std_error"]


def test_measured_clusters_match_the_planted_ones(s004):
    m = s004["mart"]
    planted = m["planted_entrepreneurial"] | m["planted_other"]
    assert m.loc[planted, "cluster"].mean() > 0.8               # found where planted
    assert m.loc[~planted, "cluster"].mean() < 0.01             # and almost nowhere else
    both = planted & m["cluster"]
    kind_agrees = m.loc[both, "entrepreneurial_cluster"] == m.loc[both, "planted_entrepreneurial"]
    assert kind_agrees.mean() > 0.95
    summary = (s004["publish"] / "cluster_index.md").read_text(encoding="utf-8")
    assert "| 2007" in summary and "Counties with a cluster" in summary


def test_growth_inequality_and_the_rural_income_channel(s004):
    rows, est = s004["rows"], s004["estimands"]
    checks = [("growth", 2, "gdp_growth"), ("inequality", 2, "log_income_gap"),
              ("channel", 1, "log_rural_income"), ("channel", 2, "log_urban_income")]
    terms = ["entrepreneurial_cluster", "other_cluster"]
    for table, column, outcome in checks:
        for term, value in target(s004, outcome, terms).items():
            r = coef(rows, table, column, term)
            assert holds(r, value), \
                (table, term, r["estimate"], value, r["std_error"])
    # the measured indicators keep the planted effects close to their planted size
    growth = target(s004, "gdp_growth", ["entrepreneurial_cluster", "other_cluster"])
    assert growth["entrepreneurial_cluster"] == pytest.approx(
        est["cluster_on_growth"]["value"]["entrepreneurial"], rel=0.25)
    # signs and significance of the planted effects
    assert coef(rows, "growth", 2, "entrepreneurial_cluster")["p"] < 0.01
    assert coef(rows, "growth", 1, "cluster")["estimate"] > 0
    gap = coef(rows, "inequality", 2, "entrepreneurial_cluster")
    assert gap["estimate"] < 0 and gap["p"] < 0.01
    rural = coef(rows, "channel", 1, "entrepreneurial_cluster")
    assert rural["estimate"] > 0 and rural["p"] < 0.01
    # planted as zero: other clusters leave incomes alone, no cluster moves urban income
    assert est["other_cluster_on_income_gap"]["sign"] == "0"
    for table, column, term in (("inequality", 2, "other_cluster"),
                                ("channel", 1, "other_cluster"),
                                ("channel", 2, "other_cluster"),
                                ("channel", 2, "entrepreneurial_cluster")):
        assert coef(rows, table, column, term)["p"] >= 0.01, (table, column, term)


def test_entrepreneurial_against_other_clusters(s004):
    rows = s004["rows"]
    outcomes = ("gdp_growth", "log_income_gap", "log_rural_income")
    for column, outcome in enumerate(outcomes, start=1):
        goal = target(s004, outcome, ["cluster", "entrepreneurial_cluster"])
        r = coef(rows, "entrepreneurial", column, "entrepreneurial_cluster")
        assert holds(r, goal["entrepreneurial_cluster"]), (outcome, r["estimate"])
    assert coef(rows, "entrepreneurial", 3, "entrepreneurial_cluster")["p"] < 0.01


def test_event_study_of_rural_income(s004):
    rows, stats = s004["rows"], s004["stats"]
    for column in (1, 2):
        events = rows[(rows["table"] == "event_study") & (rows["column"] == column)]
        after = events[events["event_time"] >= 0]
        assert len(after) >= 3 and (after["estimate"] > 0).all()
        assert events[events["event_time"] == 0].iloc[0]["p"] < 0.01   # the step at emergence
        p = stats[(stats["table"] == "event_study") & (stats["column"] == column)
                  & (stats["statistic"] == "pretrend_p")]["value"]
        assert float(p.iloc[0]) > 0.05                    # nothing planted before emergence


def test_published_files_hold_the_tables_and_figures(s004):
    pub, study = s004["publish"], s004["study"]
    for t in study.tables:
        md = (pub / f"{t['table']}.md").read_text(encoding="utf-8")
        assert md.splitlines()[0].strip("*") == t["title"]
        assert (pub / f"{t['table']}.html").exists() and (pub / f"{t['table']}.tex").exists()
        if t["type"] == "regression":
            assert "Standard errors clustered by county in parentheses." in md
    for fig in study.figures:
        image = mpimg.imread(pub / f"{fig['figure']}.png")
        assert image.shape[0] > 300 and image[..., :3].std() > 0.05


def test_lineage_reaches_the_raw_files():
    for key in (["results", "s004_growth"], ["results", "s004_cluster_index"]):
        seen = upstream(key)
        for source in ("county_yearbook", "asif"):
            assert dg.AssetKey(["landing", source]) in seen, (key, source)
