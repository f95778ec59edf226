"""PSM-DID matching on small constructed data whose matches are known: k nearest neighbours on
the logit of the score within the caliper, with and without replacement, common-support
trimming, and covariates taken in the baseline period before any unit is treated."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models_py.estimate.estimators import psm_did
from models_py.estimate.study import Spec

#                 t0    t1   c0    c1    c2    c3
INDEX = np.array([0.0, 1.0, 0.1, 0.15, 0.9, 3.0])
TREATED = np.array([True, True, False, False, False, False])


def test_one_neighbour_with_replacement_within_the_caliper():
    w = psm_did.match_period(INDEX, TREATED, caliper=0.2)
    np.testing.assert_allclose(w, [1, 1, 1, 0, 1, 0])       # t0 -> c0, t1 -> c2


def test_a_treated_row_without_a_control_inside_the_caliper_is_unmatched():
    w = psm_did.match_period(INDEX, TREATED, caliper=0.09)
    np.testing.assert_allclose(w, [0, 0, 0, 0, 0, 0])


def test_k_neighbours_share_the_treated_row_s_weight():
    w = psm_did.match_period(INDEX, TREATED, caliper=0.2, neighbours=2)
    # t0 -> c0 and c1 (1/2 each); t1 -> c2 only (c1 is 0.85 away, outside the caliper)
    np.testing.assert_allclose(w, [1, 1, 0.5, 0.5, 1, 0])


def test_without_replacement_a_control_serves_once_in_unit_order():
    index = np.array([0.0, 0.05, 0.1, 0.15, 2.0])
    treated = np.array([True, True, False, False, False])
    with_ = psm_did.match_period(index, treated, caliper=0.2, replacement=True)
    without = psm_did.match_period(index, treated, caliper=0.2, replacement=False)
    np.testing.assert_allclose(with_, [1, 1, 2, 0, 0])       # both take c0
    np.testing.assert_allclose(without, [1, 1, 1, 1, 0])     # t1 falls back to c1


def test_equally_near_controls_go_to_the_first_row():
    index = np.array([0.0, -0.1, 0.1])
    w = psm_did.match_period(index, np.array([True, False, False]), caliper=1.0)
    np.testing.assert_allclose(w, [1, 1, 0])


def test_common_support_trims_both_groups():
    keep = psm_did.on_support(INDEX, TREATED)
    # t0 (0.0) lies below the lowest control (0.1), c3 (3.0) above the highest treated (1.0)
    np.testing.assert_array_equal(keep, [False, True, True, True, True, False])


def _spec(**options) -> Spec:
    return Spec(study="t", table="t", column=1, kind="psm_did", outcome="y",
                regressors=("did",), controls=("c",), control_vars=("x",),
                fixed_effects=("unit", "year"), cluster="unit", sample="", label="",
                options=psm_did.Options(unit="unit", time="year", cohort="cohort",
                                        group="treated", **options))


def test_covariates_come_from_the_baseline_period_before_treatment():
    """After adoption the treated units' covariate jumps (the treatment moved it); matching on
    the baseline values pairs each treated unit with its baseline twin every year."""
    units = ["a", "b", "c", "d", "e", "f"]
    x0 = {"a": 0.0, "b": 1.0, "c": 0.02, "d": 1.03, "e": 3.0, "f": -2.0}
    rows = []
    for year in (2014, 2015, 2016):
        for u in units:
            treated = u in ("a", "b")
            moved = 5.0 if treated and year >= 2015 else 0.0
            rows.append({"unit": u, "year": year, "x": x0[u] + moved,
                         "treated": float(treated), "cohort": 2015.0 if treated else np.nan,
                         "y": 0.0, "did": float(treated and year >= 2015)})
    data = pd.DataFrame(rows)
    weights, off = psm_did.match(data, _spec(caliper=0.25, common_support=False))
    got = dict(zip(zip(data["unit"], data["year"]), weights))
    for year in (2014, 2015, 2016):
        assert [got[(u, year)] for u in units] == [1, 1, 1, 1, 0, 0], year
    assert off == 0
    baseline = psm_did.baseline_covariates(data, _spec())
    assert (baseline["x"].to_numpy() == data["unit"].map(x0).to_numpy()).all()
    with pytest.raises(ValueError, match="no period before the first cohort"):
        psm_did.baseline_covariates(data.assign(cohort=data["cohort"] - 1), _spec())
