"""Latent city fundamentals shared by every generated source.

Both the yearbook/EPS writers and the MRIO/Baidu/HSR writers draw on these, so that a city that
is rich in the yearbook is also a large economy in the input-output table and a frequent Baidu
search target. Deterministic for a given seed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from models_py import reference

BASE_YEAR = 2012
WORLD_STREAM = 41    # random streams of the latent worlds: np.random.default_rng([seed, 41, key])
URBAN_SLOPE = 0.7    # logit urbanization per unit of standardized development


def world_rng(seed: int, key: int) -> np.random.Generator:
    """Random stream ``key`` of the latent worlds. Keys in use: 2 the city panel, 3 digital
    infrastructure (S000), 4 and 5 the business cycle and policy tools (S002), 6 the pilot
    exposure (S001), 7 province series, 8 internet users, 20 and 21 counties and firms (S004)."""
    return np.random.default_rng([seed, WORLD_STREAM, key])


def city_latent(city_ids: tuple[str, ...], seed: int) -> pd.DataFrame:
    """One row per city: coordinates, province, region and its latent development path.

    Columns: city_id, province_id, region, longitude, latitude, log_gdppc_2012 (元),
    gdppc_growth (annual log growth), pop_2012 (万人), pop_growth (annual log growth).
    ``gdppc(city, year) = exp(log_gdppc_2012 + gdppc_growth * (year - 2012))`` before any planted
    policy effect.
    """
    rng = np.random.default_rng([seed, 1])
    ref = reference.cities().set_index("city_id").loc[list(city_ids)]
    n = len(ref)
    region_level = ref["region"].map({"east": 11.3, "central": 10.75, "west": 10.6}).to_numpy()
    municipality = (ref["level"] == "municipality").to_numpy()
    capital = np.array([c[2:4] == "01" for c in ref.index])
    log_gdppc = region_level + 0.45 * municipality + 0.3 * capital + rng.normal(0, 0.32, n)
    growth = 0.075 - 0.012 * (log_gdppc - 10.8) + rng.normal(0, 0.012, n)
    log_pop = 5.75 + 0.9 * municipality + 0.5 * capital + rng.normal(0, 0.45, n)
    pop_growth = 0.004 + 0.006 * capital + rng.normal(0, 0.004, n)
    return pd.DataFrame({
        "city_id": ref.index.to_numpy(),
        "province_id": ref["province_id"].to_numpy(),
        "region": ref["region"].to_numpy(),
        "longitude": ref["longitude"].to_numpy(float),
        "latitude": ref["latitude"].to_numpy(float),
        "log_gdppc_2012": log_gdppc,
        "gdppc_growth": growth,
        "pop_2012": np.exp(log_pop).clip(60, 3200),
        "pop_growth": pop_growth,
    })


def gdppc(latent: pd.DataFrame, year: int) -> np.ndarray:
    """Latent GDP per capita (元) of every city in ``latent`` in ``year``."""
    return np.exp(latent["log_gdppc_2012"] + latent["gdppc_growth"] * (year - BASE_YEAR)).to_numpy()


def population(latent: pd.DataFrame, year: int) -> np.ndarray:
    """Latent resident population (万人) of every city in ``latent`` in ``year``."""
    return (latent["pop_2012"] * np.exp(latent["pop_growth"] * (year - BASE_YEAR))).to_numpy()


def development(latent: pd.DataFrame) -> np.ndarray:
    """Standardized 2012 log GDP per capita of each city (persistent development level)."""
    return ((latent["log_gdppc_2012"] - 10.9) / 0.4).to_numpy()
