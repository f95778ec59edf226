"""The table renderers on fixed tidy rows: the Markdown and LaTeX of a small regression table
whose columns differ in clustering and sample against checked-in golden files (tests/golden/),
the note and per-column rows derived from the specs, control-group rows of the groups used,
split tables, frame tables and the HTML structure."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models_py.estimate import render
from models_py.estimate.specs import load_study
from models_py.estimate.tidy import COLUMNS, STATISTIC_COLUMNS

GOLDEN = Path(__file__).parent / "golden"

STUDY_YAML = """
study: T001
title: A test study
mart: marts.city_year
panel: {unit: city_id, time: year}
control_groups:
  controls: [log_economic_density, infrastructure]
  urbanization: [fdi_to_gdp]
defaults: {kind: ols, outcome: resilience_index, regressors: [did], controls: [controls],
           fixed_effects: [city_id, year], cluster: city_id}
labels: {did: DID, resilience_index: Resilience, controls: Controls, urbanization: Urbanization,
         city_id: City FE, year: Year FE, ri_p: Randomization p}
names: {city_id: city, year: year, province_id: province}
tables:
  - table: baseline
    title: Baseline & more
    statistics: [ri_p]
    columns:
      - {column: 1, controls: []}
      - {column: 2}
      - {column: 3, sample: "is_megacity_or_super_large == True", cluster: province_id,
         label: Large cities}
"""


@pytest.fixture
def study(tmp_path):
    path = tmp_path / "t001.yml"
    path.write_text(STUDY_YAML, encoding="utf-8")
    return load_study(path=path)


def tidy(study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fixed tidy rows of the three columns (the estimates are made up)."""
    specs = study.table_specs("baseline")
    x1, x2 = "log_economic_density", "infrastructure"
    values = {1: [("did", 0.0654, 0.0211, 0.003)],
              2: [("did", 0.0648, 0.0229, 0.008), (x1, 0.5, 0.1, 0.0), (x2, -1.2, 0.8, 0.2)],
              3: [("did", 0.1474, 0.0912, 0.12), (x1, 0.4, 0.2, 0.04), (x2, 0.1, 0.3, 0.7)]}
    rows = []
    for s in specs:
        for term, b, se, p in values[s.column]:
            rows.append({"study": "T001", "table": "baseline", "column": s.column, "kind": "ols",
                         "label": s.label, "outcome": s.outcome, "term": term, "event_time": np.nan,
                         "is_control": term in s.control_vars, "estimate": b, "std_error": se,
                         "t": b / se, "p": p, "ci_low": b - 2 * se, "ci_high": b + 2 * se,
                         "ci90_low": b - se, "ci90_high": b + se,
                         "n_obs": {1: 3396, 2: 3391, 3: 480}[s.column],
                         "r2": {1: 0.9271, 2: 0.9283, 3: 0.95}[s.column]})
    stats = pd.DataFrame([{"study": "T001", "table": "baseline", "column": 2,
                           "statistic": "ri_p", "value": 0.002}], columns=STATISTIC_COLUMNS)
    return pd.DataFrame(rows).reindex(columns=COLUMNS), stats


def test_markdown_and_latex_match_golden(study):
    """Column (3) is clustered by province and estimated on large cities: rows say so per
    column, and the note does not join the clusterings; the unused control group has no row."""
    rows, stats = tidy(study)
    grid = render.table_grids(study, "baseline", rows, stats)["baseline"]
    body = {r[0]: r[1:] for r in grid.body}
    assert body["Clustered by"] == ["city", "city", "province"]
    assert body["Sample"] == ["all", "all", "is_megacity_or_super_large == True"]
    assert "Urbanization" not in body and "Estimator" not in body
    assert "city and province" not in grid.note
    assert render.to_markdown(grid) == (GOLDEN / "regression_table.md").read_text(encoding="utf-8")
    assert render.to_latex(grid) == (GOLDEN / "regression_table.tex").read_text(encoding="utf-8")


def test_html_marks_standard_error_rows_and_escapes(study):
    rows, stats = tidy(study)
    text = render.to_html(render.table_grids(study, "baseline", rows, stats)["baseline"])
    assert "<caption>Baseline &amp; more</caption>" in text
    assert text.count('<tr class="se">') == 1
    assert '<tr class="se"><td></td><td>(0.021)</td><td>(0.023)</td><td>(0.091)</td></tr>' in text
    assert "<td>DID</td><td>0.065***</td><td>0.065***</td><td>0.147</td>" in text


def test_note_follows_the_specs_clustering(study, tmp_path):
    path = tmp_path / "t002.yml"
    path.write_text(STUDY_YAML.replace("cluster: city_id}", "cluster: province_id}"),
                    encoding="utf-8")
    other = load_study(path=path)
    assert render.regression_note(study, study.table_specs("baseline")[:2]).startswith(
        "Standard errors clustered by city in parentheses. City and year fixed effects.")
    assert render.regression_note(other, other.table_specs("baseline")).startswith(
        "Standard errors clustered by province in parentheses.")
    assert render.regression_note(study, study.table_specs("baseline")).startswith(
        'Standard errors in parentheses, clustered as the row "Clustered by" says')
    path.write_text(STUDY_YAML.replace("cluster: city_id}", "cluster: ''}"), encoding="utf-8")
    robust = load_study(path=path)
    assert render.regression_note(robust, robust.table_specs("baseline")[:2]).startswith(
        "Heteroskedasticity-robust standard errors in parentheses.")
    assert render.per_column_rows(robust, robust.table_specs("baseline"))[0] == [
        "Clustered by", "none", "none", "province"]


def test_control_group_rows_list_the_groups_the_columns_use(study):
    rows, stats = tidy(study)
    specs = study.table_specs("baseline")
    grid = render.regression_grid(study, study.table_info("baseline"), specs, rows, stats)
    assert [r[0] for r in grid.body].count("Controls") == 1
    used = [replace(specs[0], controls=("urbanization",)), *specs[1:]]
    grid = render.regression_grid(study, study.table_info("baseline"), used, rows, stats)
    assert {r[0]: r[1:] for r in grid.body}["Urbanization"] == ["Yes", "No", "No"]


def test_split_tables_renumber_their_columns(study):
    rows, stats = tidy(study)
    for s in study.specs:
        s.meta["size"] = "large" if s.column == 3 else "all"
    study.table_info("baseline")["split_by"] = "size"
    grids = render.table_grids(study, "baseline", rows, stats)
    assert list(grids) == ["baseline_all", "baseline_large"]
    assert grids["baseline_large"].header[0] == ["", "(1)"]
    assert grids["baseline_large"].body[0] == ["DID", "0.147"]
    assert grids["baseline_all"].title == "Baseline & more: all"


def test_frame_and_descriptive_tables():
    frame = pd.DataFrame({"indicator": ["gdp_per_capita", "patents"], "weight": [0.25, 0.00004],
                          "n": [3396, 3396]})
    g = render.frame_grid(frame, {"indicator": "Indicator", "weight": "Weight", "n": "N"},
                          "Weights", "A note.")
    assert g.body == [["gdp_per_capita", "0.250", "3,396"], ["patents", "4.00e-05", "3,396"]]
    md = render.to_markdown(g)
    assert md.splitlines()[0] == "**Weights**" and md.rstrip().endswith("A note.")
    stats = render.descriptive_frame(pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0]}), ["a"])
    assert stats.iloc[0][["n", "mean", "median", "min", "max"]].tolist() == [3, 7 / 3, 2, 1, 4]


def test_number_format():
    assert [render.num(x) for x in (0.0654, 0.00012, 0, np.nan, 12.0)] == \
        ["0.065", "1.20e-04", "0.000", "", "12.000"]
    assert [render.stars(p) for p in (0.001, 0.03, 0.07, 0.2)] == ["***", "**", "*", ""]
