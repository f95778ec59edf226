"""The clustered meats of ``models_py.estimate.estimators.variance`` against their definitions,
on synthetic pair data: the dyadic-robust meat is Cameron and Miller's double sum over every two
rows that share a member (in either role); where no two pairs share a member in different roles
it is the one-way meat, and the OLS kind's dyadic covariance is then pyfixest's CRV1 up to the
number of clusters in the small-sample factor; two-way clustering misses the pairs that share a
member in different roles; a typo in ``cluster`` is an error naming it."""
from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from models_py.estimate import pyfixest_model
from models_py.estimate.estimators import ols, variance
from models_py.estimate.estimators.variance import Codes
from models_py.estimate.schema import SpecFields
from models_py.estimate.study import Spec, clustering


def pair_panel(members: int, years: int, seed: int) -> pd.DataFrame:
    """Every unordered pair of ``members`` (a < b) in every year: y = member shocks of both
    (a city's shock reaches every pair it is in) + noise, x correlated with them."""
    rng = np.random.default_rng(seed)
    shock = rng.normal(size=(members, years))
    lean = rng.normal(size=(members, years))
    rows = [(a, b, t) for a, b in itertools.combinations(range(members), 2)
            for t in range(years)]
    d = pd.DataFrame(rows, columns=["city_a", "city_b", "year"])
    d["pair_id"] = d["city_a"] * 1000 + d["city_b"]
    a, b, t = d["city_a"].to_numpy(), d["city_b"].to_numpy(), d["year"].to_numpy()
    d["x"] = lean[a, t] + lean[b, t] + rng.normal(size=len(d))
    d["y"] = 0.5 * d["x"] + shock[a, t] + shock[b, t] + rng.normal(size=len(d))
    return d


def double_sum(scores: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum over every two rows i, j whose pairs share a member of s_i s_j' (the definition)."""
    share = ((a[:, None] == a[None, :]) | (a[:, None] == b[None, :])
             | (b[:, None] == a[None, :]) | (b[:, None] == b[None, :]))
    return scores.T @ share.astype(float) @ scores


def spec(cluster: str) -> Spec:
    return Spec(study="T", table="t", column=1, kind="ols", outcome="y", regressors=("x",),
                controls=(), control_vars=(), fixed_effects=("pair_id", "year"),
                cluster=cluster, sample="", label="")


def test_dyadic_meat_is_the_double_sum_over_rows_sharing_a_member():
    d = pair_panel(members=9, years=3, seed=1)
    scores = np.random.default_rng(2).normal(size=(len(d), 2))
    codes = variance.cluster_codes(d, "dyadic(city_a, city_b)")
    expected = double_sum(scores, d["city_a"].to_numpy(), d["city_b"].to_numpy())
    np.testing.assert_allclose(variance.meat(scores, codes), expected, rtol=1e-12)
    assert codes.count == 9
    # the members are one set: a city coded alike as first and as second member
    swapped = d.rename(columns={"city_a": "city_b", "city_b": "city_a"})
    np.testing.assert_allclose(
        variance.meat(scores, variance.cluster_codes(swapped, "dyadic(city_a, city_b)")),
        expected, rtol=1e-12)


def test_two_way_clustering_misses_pairs_sharing_a_member_in_different_roles():
    d = pair_panel(members=9, years=3, seed=3)
    scores = np.random.default_rng(4).normal(size=(len(d), 1))
    a, b = d["city_a"].to_numpy(), d["city_b"].to_numpy()
    two_way = variance.meat(scores, variance.cluster_codes(d, "city_a+city_b"))
    same_role = ((a[:, None] == a[None, :]) | (b[:, None] == b[None, :])).astype(float)
    np.testing.assert_allclose(two_way, scores.T @ same_role @ scores, rtol=1e-12)
    cross_role = ((a[:, None] == b[None, :]) | (b[:, None] == a[None, :])) & (same_role == 0)
    assert cross_role.any()
    np.testing.assert_allclose(variance.meat(scores, variance.cluster_codes(
        d, "dyadic(city_a, city_b)")) - two_way, scores.T @ cross_role @ scores, rtol=1e-10)


def test_two_way_meat_combines_the_one_way_ones():
    rng = np.random.default_rng(3)
    psi = rng.normal(size=(200, 2))
    a, b = rng.integers(0, 15, 200), rng.integers(0, 12, 200)
    both = pd.factorize(pd.Series(a).astype(str) + "_" + pd.Series(b).astype(str))[0]
    one = lambda codes: variance.meat(psi, Codes("one-way", (codes,)))  # noqa: E731
    np.testing.assert_allclose(variance.meat(psi, Codes("two-way", (a, b))),
                               one(a) + one(b) - one(both), atol=1e-13)
    # clusters of one row each are the unclustered meat
    np.testing.assert_allclose(one(np.arange(200)), variance.meat(psi, Codes("none", ())),
                               atol=1e-13)


def test_ols_dyadic_covariance_is_the_sandwich_of_the_double_sum():
    d = pair_panel(members=10, years=4, seed=5)
    model = ols.feols("y ~ x | pair_id + year", d, spec("dyadic(city_a, city_b)"))
    x = pyfixest_model.design(model)
    meat = double_sum(x * np.asarray(model.resid())[:, None], d["city_a"].to_numpy(),
                      d["city_b"].to_numpy())
    bread = np.linalg.inv(x.T @ x)
    crv1 = ols.feols("y ~ x | pair_id + year", d, spec("city_a"))
    g_a, g = d["city_a"].nunique(), 10
    factor = pyfixest_model.small_sample_factor(crv1) * (g_a - 1) / g_a * g / (g - 1)
    np.testing.assert_allclose(pyfixest_model.vcov(model), factor * bread @ meat @ bread,
                               rtol=1e-10)
    assert pyfixest_model.df_t(model) == g - 1


def test_without_pairs_sharing_a_member_across_roles_dyadic_is_one_way():
    """Second members that each belong to one pair only: two rows share a member only when
    they share the first, so the dyadic covariance is pyfixest's CRV1 by the first member,
    but for G (all members, not only the first) in G / (G - 1)."""
    rng = np.random.default_rng(6)
    rows = [(a, 100 + 10 * a + k, t) for a in range(8) for k in range(5) for t in range(4)]
    d = pd.DataFrame(rows, columns=["city_a", "city_b", "year"])
    d["pair_id"] = d["city_a"] * 1000 + d["city_b"]
    d["x"] = rng.normal(size=len(d)) + rng.normal(size=8)[d["city_a"]]
    d["y"] = d["x"] + rng.normal(size=8)[d["city_a"]] + rng.normal(size=len(d))
    dyadic = ols.feols("y ~ x | pair_id + year", d, spec("dyadic(city_a, city_b)"))
    one_way = pf.feols("y ~ x | pair_id + year", d, vcov={"CRV1": "city_a"})
    g_a, g = 8, 8 + 40
    np.testing.assert_allclose(pyfixest_model.vcov(dyadic) / (g / (g - 1)),
                               pyfixest_model.vcov(one_way) / (g_a / (g_a - 1)), rtol=1e-9)


def test_dyadic_needs_unweighted_ols():
    d = pair_panel(members=6, years=2, seed=7).assign(z=1.0)
    with pytest.raises(ValueError, match="unweighted OLS only"):
        ols.feols("y ~ 1 | year | x ~ z", d, spec("dyadic(city_a, city_b)"))


@pytest.mark.parametrize("value", ["dyadc(city_a, city_b)", "a+b+c", "dyadic(city_a)",
                                   "city a"])
def test_a_cluster_typo_is_an_error_naming_it(value):
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        clustering(value)
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        SpecFields(cluster=value)


def test_the_clustering_of_each_form():
    assert clustering("") == clustering("  ")
    assert clustering("").kind == "none"
    assert clustering("city_id").columns == ("city_id",)
    assert clustering("city_a+city_b").kind == "two-way"
    c = clustering("dyadic( city_a ,city_b )")
    assert (c.kind, c.columns) == ("dyadic", ("city_a", "city_b"))
    assert spec("dyadic(city_a, city_b)").variables == [
        "y", "x", "pair_id", "year", "city_a", "city_b"]
