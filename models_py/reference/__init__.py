"""Reference facts the pipeline ships: rosters, crosswalks, pilot lists, sectors, FX rates.

They live as CSV files in ``dbt/seeds/`` (loaded into the ``reference`` schema by ``dbt seed``);
this module reads the same files for Python code, so each fact has one home.
"""
from __future__ import annotations

import datetime as _dt
from functools import cache
from pathlib import Path

import pandas as pd

SEEDS_DIR = Path(__file__).resolve().parents[2] / "dbt" / "seeds"

_ID_COLUMNS = {"city_id", "county_id", "province_id", "sector_code"}


@cache
def table(name: str) -> pd.DataFrame:
    """A reference table by seed name, e.g. ``table("ref_city")``; codes stay strings."""
    path = SEEDS_DIR / f"{name}.csv"
    header = pd.read_csv(path, nrows=0).columns
    dtypes = {c: "string" for c in header if c in _ID_COLUMNS}
    return pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])


def cities() -> pd.DataFrame:
    return table("ref_city")


def counties() -> pd.DataFrame:
    return table("ref_county")


def sectors() -> pd.DataFrame:
    return table("ref_io_sector")


def distance_tiers() -> pd.DataFrame:
    """The distance tiers of seed 003: tier_id, tier (label), lower_km, upper_km."""
    return table("ref_distance_tier")


def usd_cny() -> dict[int, float]:
    t = table("ref_usd_cny")
    return dict(zip(t["year"].astype(int), t["usd_cny"].astype(float)))


def policy_year(approval: str | _dt.date) -> int:
    """First treated year of a pilot: the approval year if approved in the first half of the
    year, else the next year (a pilot approved in October has no effect on that year's data)."""
    d = _dt.date.fromisoformat(approval) if isinstance(approval, str) else approval
    return d.year if d.month <= 6 else d.year + 1
