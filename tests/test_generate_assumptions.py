"""The embedded world satisfies the identifying assumptions of the designs that study it, so that
an estimate differs from what the truth file says it targets by noise only:

- S001's instrument (1984 telephones x internet users) depends on pilot status and noise, not
  on the development level whose trends the outcome follows (the exclusion restriction);
- S001's resilience components, without the pilot zones, rise by the same amount in every city,
  not in proportion to the city's level (parallel trends of the DID designs and of the IV), and
  the urbanization rate by the same number of points;
  GDP per capita, whose within-province paths S000 plants in logs, converges across provinces
  enough that the pilot cities' levels do not rise faster than the others', and the reference
  index of the null variant shows no effect of the zones;
- S000's within-province dispersion of GDP per capita moves only with the planted convergence:
  the world the truth compares with keeps every city's base-year deviation.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models_py import reference
from models_py.generate import city_world, digital_infrastructure, resilience_index
from models_py.generate import latent as latent_mod
from models_py.generate.estimands import codes, fe_ols
from models_py.generate.latent import city_latent, development
from models_py.generate.scale import get_scale

SEED = 20240601


def slope_t(y: np.ndarray, x: np.ndarray, controls: np.ndarray) -> tuple[float, float]:
    """OLS slope of y on x (with an intercept and ``controls``) and its t statistic."""
    X = np.column_stack([np.ones(len(y)), x, controls])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    cov = resid @ resid / (len(y) - X.shape[1]) * np.linalg.inv(X.T @ X)
    return float(beta[1]), float(beta[1] / np.sqrt(cov[1, 1]))


def test_1984_telephones_do_not_follow_development():
    sc = get_scale("full")
    lat = city_latent(sc.city_ids, SEED)
    roster = reference.cities().set_index("city_id").loc[list(sc.city_ids)]
    z = development(lat)[:, None]
    s001 = city_world._s001_exposure(SEED, lat, roster, np.asarray(sc.city_years), z)
    beta, t = slope_t(np.log(s001["telephones"]), z[:, 0], s001["pilot"].astype(float))
    assert abs(t) < 3, f"log telephones load on development: {beta:.3f} (t = {t:.1f})"
    pilot, _ = slope_t(np.log(s001["telephones"]), s001["pilot"].astype(float), z[:, 0])
    assert pilot > 0.4     # the first stage stays


@pytest.fixture(scope="module")
def null_world() -> city_world.CityWorld:
    sc = get_scale("small")
    return city_world.build_city_world(sc, city_latent(sc.city_ids, SEED), SEED, s001_null=True)


def sample_components(world: city_world.CityWorld) -> pd.DataFrame:
    """The resilience components of the S001 sample cities, every year of the world."""
    sample = world.cities.loc[world.cities["in_s001"] == 1, "city_id"]
    return resilience_index.resilience_components(world.panel[world.panel["city_id"].isin(sample)])


@pytest.fixture(scope="module")
def null_components(null_world) -> pd.DataFrame:
    return sample_components(null_world).set_index(["city_id", "year"])


# patents and the tertiary / secondary ratio rise with S000's digital infrastructure by the
# same amount in every city of a province; amounts per resident follow the national mean
@pytest.mark.parametrize("name", [
    "students_per_10k", "beds_per_10k", "loans_to_gdp", "ui_coverage", "savings_per_capita",
    "retail_per_capita", "tertiary_to_secondary", "patents_per_10k"])
def test_resilience_components_rise_alike_in_every_city_without_the_pilot_zones(
        null_components, name):
    beta = rise_on_level(null_components, name)
    # growth in proportion to the level would give exp(growth * years) - 1, 0.3 to 1.6 here;
    # a common national rise gives about 0
    assert abs(beta) < 0.2, f"{name}: the rise grows with the level ({beta:.2f})"


def rise_on_level(components: pd.DataFrame, name: str) -> float:
    """Slope of a component's rise over the S001 years on its first-year level, across cities."""
    first, last = city_world.s001_years()
    wide = components[name].unstack("year")
    level, rise = wide[first], wide[last] - wide[first]
    return slope_t(rise.to_numpy(), level.to_numpy(), np.empty((len(level), 0)))[0]


def test_urbanization_rises_by_the_same_points_in_every_city(null_components):
    # a logistic rise, slowest in the most urban cities, gives -0.12 to -0.19 here; the same
    # points a year everywhere give about 0 (less only where a city reaches its ceiling)
    beta = rise_on_level(null_components, "urbanization_rate")
    assert abs(beta) < 0.05, f"the rise falls with the level ({beta:.3f})"


def null_did(world, frame: pd.DataFrame) -> np.ndarray:
    treated = world.truth["S001"]["treated_cities"]
    return np.array([float(c in treated and y >= treated[c])
                     for c, y in zip(frame["city_id"], frame["year"])])


def two_way_slope(frame: pd.DataFrame, y: str, d: str) -> float:
    """TWFE slope of y on d (city and year fixed effects)."""
    fe = [codes(frame["city_id"]), codes(frame["year"])]
    return float(fe_ols(frame[y].to_numpy(float), frame[d].to_numpy(float), fe)[0])


NULL_SEEDS = range(1, 11)


@pytest.fixture(scope="module")
def null_slopes() -> pd.DataFrame:
    """On the null variant of seeds 1-10 (small): the TWFE slopes on DID of the reference
    resilience index and of GDP per capita (元), S001 sample and years."""
    sc = get_scale("small")
    first, last = city_world.s001_years()
    out = []
    for seed in NULL_SEEDS:
        world = city_world.build_city_world(sc, city_latent(sc.city_ids, seed), seed,
                                            s001_null=True)
        comp = sample_components(world)
        comp = comp[comp["year"].between(first, last)].reset_index(drop=True)
        frame = comp[["city_id", "year", "gdp_per_capita"]].assign(
            index=resilience_index.entropy_fit(comp).score(comp).to_numpy(),
            did=null_did(world, comp))
        out.append({"index": two_way_slope(frame, "index", "did"),
                    "gdp_per_capita": two_way_slope(frame, "gdp_per_capita", "did")})
    return pd.DataFrame(out)


@pytest.mark.parametrize("outcome", ["index", "gdp_per_capita"])
def test_without_the_zones_pilot_cities_do_not_rise_faster(null_slopes, outcome):
    """The null variant's TWFE slope averages zero over seeds: no trend that comes with pilot
    status (the pilot cities are the richer ones, so a level that grew by the same log rate
    everywhere, as GDP per capita would without the convergence across provinces, leans)."""
    slopes = null_slopes[outcome]
    t = slopes.mean() / (slopes.std() / np.sqrt(len(slopes)))
    assert abs(t) < 3, f"{outcome} leans with pilot status: mean slope {slopes.mean():+.4g} " \
                       f"over {len(slopes)} seeds (t = {t:.1f})"


def test_within_province_deviations_move_only_with_the_convergence():
    sc = get_scale("small")
    lat = city_latent(sc.city_ids, SEED).set_index("city_id").loc[list(sc.city_ids)] \
        .reset_index()
    roster = reference.cities().set_index("city_id").loc[list(sc.city_ids)]
    years = np.asarray(sc.city_years)
    base_lg = np.log(np.column_stack([latent_mod.gdppc(lat, y) for y in years]))
    pop = np.column_stack([latent_mod.population(lat, y) for y in years])
    in_yearbook = roster["level"].isin(city_world.YEARBOOK_LEVELS).to_numpy()
    digital = digital_infrastructure.plant(SEED, lat, roster, years, pop, base_lg, in_yearbook)
    provinces = digital["truth"]["provinces"]
    rows = lat["province_id"].isin(provinces).to_numpy()
    assert rows.sum() >= 10
    without, data = digital["unconverged_lg"][rows], digital["converged_lg"][rows]
    province = lat.loc[rows, "province_id"].to_numpy()
    deviation = without - pd.DataFrame(without).groupby(province).transform("mean").to_numpy()
    # without the convergence each city keeps its deviation from its province's mean path ...
    assert np.abs(deviation - deviation[:, :1]).max() < 1e-9
    # ... and with it the deviations scale with digital infrastructure, from the base year
    base = list(years).index(digital_infrastructure.s000_years()[0])
    assert np.abs(data[:, base] - without[:, base]).max() < 1e-12
    assert np.abs(data[:, -1] - without[:, -1]).max() > 0.01
