"""Conley standard errors of the spatial DID kind against the formula written out densely here
(every pair of observations of a period weighted by the kernel of their units' distance), and
against its limits: a cutoff below the nearest neighbour gives the heteroskedasticity-robust
(HC0) errors, one beyond the farthest (uniform kernel) the errors clustered by period."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models_py.estimate import estimators
from models_py.estimate.estimators import spatial_did
from models_py.estimate.study import Spec

UNITS, PERIODS = 25, 6


@pytest.fixture(scope="module")
def world() -> dict:
    rng = np.random.default_rng(3)
    cities = pd.DataFrame({"city": np.arange(UNITS), "lon": 110 + rng.uniform(0, 6, UNITS),
                           "lat": 28 + rng.uniform(0, 5, UNITS)})
    unit = np.repeat(np.arange(UNITS), PERIODS)
    period = np.tile(np.arange(PERIODS), UNITS)
    treated = ((unit % 3 == 0) & (period >= 3)).astype(float)
    shock = rng.normal(size=(PERIODS, 1)) * cities["lon"].to_numpy()[None, :] / 100
    x = rng.normal(size=unit.size)
    y = 0.5 * treated + 0.3 * x + shock[period, unit] + rng.normal(size=unit.size)
    panel = pd.DataFrame({"y": y, "did": treated, "x": x, "city": unit, "period": period})
    return {"panel": panel, "cities": cities}


def _spec(cutoff_km: float, kernel: str) -> Spec:
    options = spatial_did.Options(
        unit="city", time="period", treatment="did",
        weights={"relation": "dim", "id": "city", "longitude": "lon", "latitude": "lat",
                 "cutoff_km": 200},
        conley={"cutoff_km": cutoff_km, "kernel": kernel})
    return Spec(study="t", table="t", column=1, kind="spatial_did", outcome="y",
                regressors=("did", "w_did"), controls=("c",), control_vars=("x",),
                fixed_effects=("city", "period"), cluster="city", sample="", label="",
                options=options)


def _dense(world: dict, cutoff_km: float, kernel: str) -> np.ndarray:
    spec = _spec(cutoff_km, kernel)
    data = spatial_did.prepare(world["panel"], spec, {"dim": world["cities"]})
    dummies = pd.get_dummies(data[["city", "period"]].astype(str)).to_numpy(float)
    resid = lambda v: v - dummies @ np.linalg.lstsq(dummies, v, rcond=None)[0]  # noqa: E731
    x = resid(data[["did", "w_did", "x"]].to_numpy(float))
    y = resid(data["y"].to_numpy(float))
    u = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    coords = world["cities"].set_index("city").loc[data["city"]]
    d = spatial_did.distance_km(coords["lon"].to_numpy(), coords["lat"].to_numpy())
    k = np.where(d <= cutoff_km, 1.0 if kernel == "uniform" else 1 - d / cutoff_km, 0.0)
    k = k * (data["period"].to_numpy()[:, None] == data["period"].to_numpy()[None, :])
    s = x * u[:, None]
    bread = np.linalg.inv(x.T @ x)
    return np.sqrt(np.diag(bread @ (s.T @ k @ s) @ bread))[:2]


def _conley(world: dict, cutoff_km: float, kernel: str) -> np.ndarray:
    est, _ = estimators.estimate(world["panel"], _spec(cutoff_km, kernel),
                                 {"dim": world["cities"]})
    return np.array([est.statistics["conley_se_did"], est.statistics["conley_se_w_did"]])


@pytest.mark.parametrize("kernel", ["bartlett", "uniform"])
def test_conley_standard_errors_equal_the_dense_formula(world, kernel):
    np.testing.assert_allclose(_conley(world, 250, kernel), _dense(world, 250, kernel),
                               rtol=1e-8)


def test_conley_limits_are_hc0_and_clustered_by_period(world):
    near, far = _conley(world, 1e-3, "uniform"), _conley(world, 1e5, "uniform")
    data = spatial_did.prepare(world["panel"], _spec(1, "uniform"), {"dim": world["cities"]})
    dummies = pd.get_dummies(data[["city", "period"]].astype(str)).to_numpy(float)
    resid = lambda v: v - dummies @ np.linalg.lstsq(dummies, v, rcond=None)[0]  # noqa: E731
    x = resid(data[["did", "w_did", "x"]].to_numpy(float))
    y = resid(data["y"].to_numpy(float))
    s = x * (y - x @ np.linalg.lstsq(x, y, rcond=None)[0])[:, None]
    bread = np.linalg.inv(x.T @ x)
    hc0 = np.sqrt(np.diag(bread @ (s.T @ s) @ bread))[:2]
    sums = pd.DataFrame(s).groupby(data["period"].to_numpy()).sum().to_numpy()
    by_period = np.sqrt(np.diag(bread @ (sums.T @ sums) @ bread))[:2]
    np.testing.assert_allclose(near, hc0, rtol=1e-8)
    np.testing.assert_allclose(far, by_period, rtol=1e-8)
    assert not np.allclose(near, far, rtol=1e-2)
