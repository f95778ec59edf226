"""The same rows give the same numbers, whatever order they come in: relations are read in one
fixed order, PSM matching breaks ties between equally near controls by unit, a wild-bootstrap
statistic that ties the observed one counts whatever its rounding, and pyfixest sweeps out the
fixed effects in the formula's order, whatever the process's string hashing. (That a second refresh of an
unchanged folder reproduces every results table is checked by test_ops_refresh.py, on the
refresh it runs anyway.)"""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from models_py.estimate import estimators
from models_py.estimate.estimators import psm_did, wild_bootstrap
from models_py.estimate.run import read_relation
from models_py.estimate.specs import load_study

SHUFFLES = range(5)


def test_a_relation_is_read_in_one_order_whatever_order_it_is_stored_in():
    rng = np.random.default_rng(1)
    rows = pd.DataFrame({"city_id": np.repeat([f"c{k:02d}" for k in range(20)], 3),
                         "year": np.tile([2014, 2015, 2016], 20),
                         "x": rng.normal(size=60)})
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    for name, frame in (("stored", rows), ("reshuffled", rows.sample(frac=1, random_state=2))):
        con.register("frame", frame)
        con.execute(f"CREATE TABLE marts.{name} AS SELECT * FROM frame")
        con.unregister("frame")
    columns = ["x", "year", "city_id"]
    assert not read_relation(con, "marts.stored", columns).equals(
        read_relation(con, "marts.reshuffled", columns))           # stored orders differ
    first = read_relation(con, "marts.stored", columns, ordered=True)
    pd.testing.assert_frame_equal(first, read_relation(con, "marts.reshuffled", columns,
                                                       ordered=True))
    assert list(first.columns) == columns
    # ordered by the exact columns first (the key), in the relation's column order
    keys = list(zip(first["city_id"], first["year"]))
    assert keys == sorted(keys)


def _psm_spec():
    return load_study("s001").table_specs("psm_did")[0]


def _panel_with_tied_controls(spec) -> pd.DataFrame:
    """Two years of twelve units: c01 and c02 treated from 2016, the rest controls; in 2015,
    the baseline year of the covariates, c05 and c06 have exactly c01's covariates, so both
    are at distance 0 from it."""
    rng = np.random.default_rng(5)
    units = [f"c{k:02d}" for k in range(1, 13)]
    frames = []
    for year in (2015, 2016):
        x = rng.normal(size=(len(units), len(spec.control_vars)))
        x[4] = x[5] = x[0]
        frame = pd.DataFrame(x, columns=list(spec.control_vars))
        frames.append(frame.assign(city_id=units, year=year,
                                   treated=[1.0, 1.0] + [0.0] * (len(units) - 2),
                                   first_treated_year=[2016.0] * 2 + [np.nan] * (len(units) - 2)))
    return pd.concat(frames, ignore_index=True)


def test_psm_matching_breaks_ties_by_unit_whatever_the_row_order():
    spec = _psm_spec()
    data = _panel_with_tied_controls(spec)

    def weights(frame: pd.DataFrame) -> dict:
        w, _ = psm_did.match(frame, spec)
        return dict(zip(zip(frame["city_id"], frame["year"]), w))

    expected = weights(data)
    for year in (2015, 2016):
        assert expected[("c05", year)] >= 1 and expected[("c06", year)] == 0
    for seed in SHUFFLES:
        assert weights(data.sample(frac=1, random_state=seed).reset_index(drop=True)) == \
            expected, seed


def test_a_bootstrap_statistic_that_ties_the_observed_one_counts_whatever_its_rounding():
    t, draws = 2.5, np.array([3.0, -1.0, 0.5, -2.6, 1.0])   # two at least as large
    for tie in (t * (1 + 1e-15), t * (1 - 1e-15), -t, t):
        assert wild_bootstrap.two_sided_p(t, np.append(draws, tie)) == 3 / 6
    assert wild_bootstrap.two_sided_p(t, np.append(draws, t * (1 - 1e-6))) == 2 / 6


@pytest.fixture(scope="module")
def marts(warehouse):
    return {name: warehouse.query(f"SELECT * FROM marts.{name}")
            for name in ("city_year", "province_year")}


def _shuffled_specs():
    s000, s001 = load_study("s000"), load_study("s001")
    return [*[s for s in s000.table_specs("baseline") if wild_bootstrap.settings(s)][:1],
            *s001.table_specs("psm_did")]


@pytest.mark.parametrize("spec", _shuffled_specs(), ids=lambda s: f"{s.study}-{s.table}-{s.column}")
def test_the_estimators_that_saw_row_order_give_the_same_numbers_on_shuffled_rows(marts, spec):
    mart = marts[spec.mart.split(".")[1]]
    expected, _ = estimators.estimate(mart, spec)
    columns = [c for c in ("estimate", "std_error", "p", "wild_p") if c in expected.terms]
    for seed in SHUFFLES[:2]:
        got, _ = estimators.estimate(mart.sample(frac=1, random_state=seed), spec)
        pd.testing.assert_frame_equal(got.terms[columns], expected.terms[columns],
                                      check_exact=False, rtol=1e-9, atol=0)
        assert got.statistics == pytest.approx(expected.statistics, rel=1e-9)


def test_pyfixest_sweeps_the_fixed_effects_in_the_formula_order():
    from pyfixest.estimation.formula import model_matrix

    data = pd.DataFrame({"year": [1, 2], "city_id": ["a", "b"], "period": [1, 1]})
    for formula in ("year + city_id + period", "period + city_id + year"):
        encoded = model_matrix._encode_fixed_effects(formula, data)
        assert encoded == " + ".join(f"__fixed_effect__({name})"
                                     for name in formula.split(" + ")) + " - 1"
