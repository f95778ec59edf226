"""Study S003 on the small embedded default: every study asset materialized by real Dagster on a
warehouse built by the real raw, io and dbt assets; planted signs recovered; one fit cross-checked
against linearmodels; the published baseline table's structure against a golden file, and the
content of every published table and figure.

Terms tested against the truth file's S003 "expected_signs":
- baseline (IT_direction, columns 2 and 4, with controls): connectivity_HSR and connectivity_I;
- gradient (IT, down/up x HSR/I, columns 1-4), the down-gradient HSR being planted "0";
- sector (IT_labor/IT_capital/IT_tech, down/up x HSR/I, columns 1-12).
A planted "+"/"-" must show that sign with p < 0.05; a planted "0" must not be significant at
1% (p >= 0.01).
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from models_py import reference
from models_py.estimate.specs import load_study
from study_support import coef

GOLDEN = Path(__file__).parent / "golden"
NUMBER = re.compile(r"^\(?-?\d[\d,]*\.\d+(e[-+]\d+)?\)?\**$|^\d{1,3}(,\d{3})+$")  # 0.174***, 3,960


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


def _assert_sign(r: pd.Series, planted: str, where: str) -> None:
    if planted == "0":
        assert r["p"] >= 0.01, f"{where}: planted 0 but {r['estimate']:.3f} (p={r['p']:.2g})"
    else:
        sign = 1 if planted == "+" else -1
        assert np.sign(r["estimate"]) == sign and r["p"] < 0.05, \
            f"{where}: planted {planted} but {r['estimate']:.3f} (p={r['p']:.2g})"


def test_baseline_signs(s003):
    for name, col in (("connectivity_HSR", 2), ("connectivity_I", 4)):
        r = coef(s003["rows"], "baseline", col, TERM[name])
        _assert_sign(r, s003["truth"]["baseline_IT_direction"][name], f"baseline ({col}) {name}")


def test_gradient_signs(s003):
    planted = s003["truth"]["gradient_IT"]
    for (g, name), col in GRADIENT_COLUMN.items():
        r = coef(s003["rows"], "gradient", col, TERM[name])
        _assert_sign(r, planted[g][name], f"gradient ({col}) {g} {name}")
    # information connectivity moves more industry down the gradient than up
    down = coef(s003["rows"], "gradient", 3, "connectivity_i")["estimate"]
    up = coef(s003["rows"], "gradient", 4, "connectivity_i")["estimate"]
    assert (down > up) == (planted["connectivity_I_larger"] == "down")


def test_sector_signs(s003):
    planted = s003["truth"]["sector_IT"]
    for (outcome, g, name), col in SECTOR_COLUMN.items():
        r = coef(s003["rows"], "sector", col, TERM[name])
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

    from models_py.estimate.estimators import ols, sample_frame

    spec = load_study("s003").table_specs("baseline")[1]
    assert spec.controls == ("city1", "city2") and spec.regressors == ("connectivity_hsr",)
    data = sample_frame(s003["mart"], spec)
    model = ols.feols(spec.formula, data, spec)
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
    stored = coef(s003["rows"], "baseline", 2, "connectivity_hsr")
    assert abs(stored["estimate"] - lm.params["connectivity_hsr"]) < 1e-6


def table_structure(markdown: str) -> str:
    """A published Markdown table with every number masked: its title, cells and note."""
    lines = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= set("-:") for c in cells):
                continue
            cells = [("(#)" if c.startswith("(") else "#") if NUMBER.match(c) else c
                     for c in cells]
            lines.append(" | ".join(cells))
        elif line.strip():
            lines.append(line)
    return "\n".join(lines) + "\n"


def test_baseline_table_structure_matches_golden(s003):
    md = (s003["publish"] / "baseline.md").read_text(encoding="utf-8")
    assert table_structure(md) == (GOLDEN / "s003_baseline_structure.txt").read_text(
        encoding="utf-8")


def test_published_files_hold_the_tables_and_figures(s003):
    pub, study = s003["publish"], load_study("s003")
    rows = s003["rows"]
    for t in study.tables:
        specs = study.table_specs(t["table"])
        by = t.get("split_by")
        stems = ([f"{t['table']}_{v}" for v in dict.fromkeys(s.meta[by] for s in specs)]
                 if by else [t["table"]])
        for stem in stems:
            md = (pub / f"{stem}.md").read_text(encoding="utf-8")
            tex = (pub / f"{stem}.tex").read_text(encoding="utf-8")
            html = (pub / f"{stem}.html").read_text(encoding="utf-8")
            assert md.startswith(f"**{t['title']}") and f"<caption>{t['title']}" in html
            assert tex.startswith("\\begin{table}") and "\\caption{" in tex
            if t["type"] != "regression":
                continue
            n = len(specs) if not by else len([s for s in specs if f"{t['table']}_"
                                               f"{s.meta[by]}" == stem])
            header = [c.strip() for c in md.splitlines()[2].strip("|").split("|")]
            assert header[1:] == [f"({k})" for k in range(1, n + 1)], stem
            assert "Standard errors clustered by city pair in parentheses." in md
            assert tex.count("\\hline") == 6 and html.count('<tr class="se">') >= 1
    # the stored rows are what the baseline table prints
    md = (pub / "baseline.md").read_text(encoding="utf-8")
    r = coef(rows, "baseline", 2, "connectivity_hsr")
    assert f"{r['estimate']:.3f}" in md and f"({r['std_error']:.3f})" in md
    n_obs = int(r["n_obs"])
    assert f"{n_obs:,}" in md
    # figures: one x tick per distance tier of the seed, not blank
    tiers = list(reference.distance_tiers()["tier"])
    for stem in ("distance_tiers", "synergy"):
        image = mpimg.imread(pub / f"{stem}.png")
        assert image.shape[0] > 300 and image[..., :3].std() > 0.05
        svg = (pub / f"{stem}.svg").read_text(encoding="utf-8")
        for tier in tiers:
            assert f"{tier} km" in svg, (stem, tier)
