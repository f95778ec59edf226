"""What the data cannot support is reported, not raised: each condition of the estimator
dispatch on small hand-made panels (a column without values, named with the raw indicator
behind it; an empty sample; a regressor, a split or the treatment that does not vary; too few
clusters; a singular design), a table with a not-estimable column estimated and rendered
(a golden Markdown and LaTeX snippet), the status table of study tables, and a figure drawn
from a table whose placebo was not estimable."""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from models_py.estimate import estimators, figures, render, run
from models_py.estimate.estimators import NotEstimable
from models_py.estimate.specs import load_study
from models_py.estimate.tidy import COLUMNS, STATISTIC_COLUMNS, not_estimable_row

GOLDEN = Path(__file__).parent / "golden"

STUDY_YAML = """
study: T002
title: A test study
mart: marts.city_year
panel: {unit: city_id, time: year, treatment: did, cohort: first_treated_year}
control_groups:
  controls: [log_economic_density]
defaults: {kind: ols, outcome: resilience_index, regressors: [did], controls: [],
           fixed_effects: [city_id, year], cluster: city_id}
labels: {did: DID, resilience_index: Outcome, log_avg_wage: ln(average wage),
         log_economic_density: Control, controls: Controls, city_id: Unit FE, year: Year FE,
         "did:is_megacity_or_super_large": DID × large}
names: {city_id: unit, year: year}
tables:
  - table: main
    title: A table with a split
    columns:
      - {column: 1}
      - {column: 2, sample: "is_megacity_or_super_large == True", label: Large}
      - {column: 3, regressors: [did, "did:is_megacity_or_super_large"], label: Difference}
  - table: wages
    title: A table whose outcome has no values
    columns:
      - {column: 1, outcome: log_avg_wage}
      - {column: 2, controls: [controls]}
"""
LARGE = "is_megacity_or_super_large"


@pytest.fixture
def study(tmp_path):
    path = tmp_path / "t002.yml"
    path.write_text(STUDY_YAML, encoding="utf-8")
    return load_study(path=path)


def panel(units: int = 12, years: int = 6, seed: int = 1) -> pd.DataFrame:
    """A city-year panel of made-up values: half the cities treated from year 3, a control,
    an outcome with an effect of 1, a split (every third city) and a column without values."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units), years)
    year = np.tile(np.arange(years), units)
    first = np.where(unit % 2 == 0, 3.0, np.nan)
    did = (year >= first).astype(float)
    x = rng.normal(size=len(unit))
    return pd.DataFrame({"city_id": unit, "year": year, "first_treated_year": first, "did": did,
                         "log_economic_density": x, LARGE: unit % 3 == 0,
                         "resilience_index": did + 0.5 * x + rng.normal(size=len(unit))
                         + unit * 0.1, "log_avg_wage": np.nan})


def reason(spec, data: pd.DataFrame) -> str:
    with pytest.raises(NotEstimable) as caught:
        estimators.estimate(data, spec)
    return str(caught.value)


def test_a_column_without_values_is_named_with_the_raw_indicator_behind_it(study):
    spec = study.table_specs("wages")[0]
    text = reason(spec, panel())
    assert text.startswith("sample 'all' has no complete rows: log_avg_wage")
    assert "avg_wage, raw indicator 在岗职工平均工资 (city_yearbook)" in text
    assert text.endswith("has no values")


def test_a_sample_on_a_split_without_values_keeps_no_rows(study):
    data = panel().assign(**{LARGE: None})
    text = reason(study.table_specs("main")[1], data)
    assert text == (f"sample '{LARGE} == True' keeps no rows of marts.city_year: {LARGE} has "
                    "no values")


def test_a_split_that_does_not_vary_leaves_its_interaction_not_estimable(study):
    main = study.table_specs("main")
    data = panel().assign(**{LARGE: False})
    assert reason(main[2], data) == f"{LARGE} does not vary in sample 'all' (every row is 0.0)"
    assert reason(main[1], data) == f"sample '{LARGE} == True' keeps no rows of marts.city_year"
    estimators.estimate(data, main[0])   # the column without the split estimates


def test_a_treatment_without_treated_or_without_comparison_rows(study):
    spec = study.table_specs("main")[0]
    assert reason(spec, panel().assign(did=0.0, first_treated_year=np.nan)).startswith(
        "no treated rows: treatment did is 0.0 in every row")
    assert reason(spec, panel().assign(did=1.0)).startswith(
        "no comparison rows: treatment did is 1.0 in every row")


def test_too_few_clusters_for_the_variance(study):
    controls = study.table_specs("wages")[1]            # did and the control: two coefficients
    assert estimators.clusters_needed(controls) == 3
    few = panel(units=2)
    assert reason(controls, few) == ("too few clusters: 2 values of city_id for 2 coefficients "
                                     "(a clustered variance of k coefficients needs at least "
                                     "k + 1 clusters)")
    estimators.estimate(panel(units=4), controls)


def test_a_regressor_absorbed_by_the_fixed_effects_is_a_singular_design(study):
    spec = study.table_specs("main")[2]
    data = panel()
    data["did"] = data[LARGE].astype(float)             # did constant within each city
    text = reason(spec, data.assign(first_treated_year=np.nan))
    assert text.startswith("singular design: did") and "collinear" in text


def test_a_table_records_not_estimable_columns_and_still_fails_on_errors(study):
    data = panel()
    rows, _, _ = run.estimate_table({"marts.city_year": data}, study, "wages")
    marked = rows[rows["status"] == "not_estimable"]
    assert list(marked["column"]) == [1] and marked["term"].isna().all()
    assert "log_avg_wage" in marked["reason"].iloc[0]
    assert set(rows.loc[rows["status"] == "estimated", "column"]) == {2}
    # a real error (here a column missing from the relation) still fails the table
    with pytest.raises(run.StudyError, match=r"\(2\) .*log_economic_density"):
        run.estimate_table({"marts.city_year": data.drop(columns="log_economic_density")},
                           study, "wages")


def not_estimable_table(study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The main table's tidy rows with column (2) not estimable, the estimates made up."""
    specs = study.table_specs("main")
    rows = []
    for s, (b, se, p) in zip([specs[0], specs[2]], [(0.98, 0.21, 0.001), (1.02, 0.3, 0.004)]):
        rows.append({"study": "T002", "table": "main", "column": s.column, "kind": "ols",
                     "label": s.label, "outcome": "resilience_index", "term": "did", "event_time": np.nan,
                     "is_control": False, "estimate": b, "std_error": se, "p": p,
                     "n_obs": 72, "r2": 0.61, "status": "estimated"})
    tidy = pd.DataFrame(rows).reindex(columns=COLUMNS)
    marked = not_estimable_row(specs[1], f"sample '{LARGE} == True' keeps no rows of "
                                         f"marts.city_year: {LARGE} has no values")
    return (pd.concat([tidy, marked], ignore_index=True),
            pd.DataFrame(columns=STATISTIC_COLUMNS))


def test_a_not_estimable_column_renders_as_golden(study):
    grid = render.table_grids(study, "main", *not_estimable_table(study))["main"]
    assert render.to_markdown(grid) == (GOLDEN / "not_estimable_table.md").read_text(
        encoding="utf-8")
    assert render.to_latex(grid) == (GOLDEN / "not_estimable_table.tex").read_text(
        encoding="utf-8")
    html = render.to_html(grid)
    assert "<td>DID</td><td>0.980***</td><td>not estimable</td><td>1.020***</td>" in html
    assert (f"Column (2) not estimable: sample &#x27;{LARGE} == True&#x27; keeps no rows of "
            f"marts.city_year: {LARGE} has no values.") in html


def test_the_status_table_flags_a_failed_table_stale_while_it_holds_results(study, tmp_path):
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute("CREATE SCHEMA results")
        run.record_status(con, study, ["main", "wages"], run.PUBLISHED)
        published_at = run.table_status(con).set_index("table")["results_at"]
        con.execute("CREATE TABLE results.t002_main AS SELECT 1 AS x")   # earlier results
        run.record_status(con, study, ["main", "wages"], run.FAILED, "ZeroDivisionError")
        run.record_status(con, study, ["other"], run.NOT_ESTIMABLE, "(2) not estimable: x")
        status = run.table_status(con).set_index("table")
    assert status.loc["main", "status"] == "stale"
    assert status.loc["main", "results_at"] == published_at["main"]     # the results' time
    assert status.loc["wages", "status"] == "failed"
    assert pd.isna(status.loc["wages", "results_at"])
    assert run.status_summary(status.reset_index()).splitlines() == [
        "T002: 1 of 3 tables published",
        "  other: (2) not estimable: x",
        "  main FAILED (keeps its earlier results, flagged stale): ZeroDivisionError",
        "  wages FAILED: ZeroDivisionError"]


def test_a_figure_of_a_not_estimable_placebo_says_so(study, tmp_path):
    fig = {"figure": "placebo", "kind": "placebo", "title": "Placebo", "table": "main",
           "term": "did"}
    rows = not_estimable_row(study.table_specs("main")[0], "no treated rows")

    def read(table: str, part: str) -> pd.DataFrame:
        return rows if part == "" else pd.DataFrame()     # no draws were stored
    drawn = figures.placebo(study, fig, read)
    assert [t.get_text() for t in drawn.axes[0].texts] == ["not estimable"]
    assert figures.draw(study, fig, read, tmp_path)["png"].exists()
