"""Reference facts the pipeline ships: rosters, crosswalks, pilot lists and their timing rule,
sectors, FX rates, distance tiers, and the indicator lists of the city panel and the indices.

They live as CSV files in ``dbt/seeds/`` (loaded into the ``reference`` schema by ``dbt seed``);
this module reads the same files for Python code, so each fact has one home.
"""
from __future__ import annotations

import datetime as _dt
import re
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


def city_panel_indicators(source: str | None = None) -> pd.DataFrame:
    """The source indicators of the city-year panel in panel order (``ref_city_panel_indicator``):
    position, source (``city_yearbook`` or ``eps``), indicator, and the canonical variable the
    catalog maps it to; only one source's rows when ``source`` is given."""
    panel = table("ref_city_panel_indicator").sort_values("position")
    variables = table("ref_variable_catalog").drop_duplicates("indicator")
    out = panel.merge(variables[["indicator", "variable"]], on="indicator", how="left")
    unknown = out.loc[out["variable"].isna(), "indicator"].tolist()
    if unknown:
        raise ValueError(f"ref_city_panel_indicator names indicators that ref_variable_catalog "
                         f"does not know: {unknown}")
    if source is not None:
        out = out[out["source"] == source]
    return out.reset_index(drop=True)


def index_indicators(composite_index: str) -> pd.DataFrame:
    """The indicators of an entropy-weighted composite index (``resilience`` or
    ``digital_infrastructure``) in order: dimension, indicator, direction
    (``ref_index_indicator``)."""
    t = table("ref_index_indicator")
    t = t[t["composite_index"] == composite_index].sort_values("position")
    if t.empty:
        raise ValueError(f"ref_index_indicator has no indicators of index {composite_index!r}")
    return t[["dimension", "indicator", "direction"]].reset_index(drop=True)


def policy_year(approval: str | _dt.date) -> int:
    """First treated year of a pilot approved on ``approval``: the approval year plus the offset
    of its month in ``ref_pilot_timing`` (January-June count from that year, later approvals
    from the next: a pilot approved in October has no effect on that year's data)."""
    d = _dt.date.fromisoformat(approval) if isinstance(approval, str) else approval
    t = table("ref_pilot_timing")
    offsets = dict(zip(t["approval_month"].astype(int), t["first_treated_year_offset"].astype(int)))
    return d.year + offsets[d.month]


def first_policy_years(pilot_table: str, city_ids) -> dict[str, int]:
    """First treated year of each city of a pilot table (``ref_big_data_pilot``,
    ``ref_cbec_pilot``) among ``city_ids``: :func:`policy_year` of its earliest approval."""
    t = table(pilot_table).sort_values("approval_date").drop_duplicates("city_id")
    t = t[t["city_id"].isin(set(city_ids))]
    return {c: policy_year(d) for c, d in zip(t["city_id"], t["approval_date"])}


# What a mart column's name puts around the canonical variable it is built from
# (``log_patents_per_10k``, ``high_ip_protection``, ``urbanization_rate_2013``).
_DECORATION = re.compile(r"^(log|high|low)_|_(per_[a-z0-9]+|\d{4}|lag\d+|pre)$")


def raw_indicators(column: str) -> str:
    """The raw indicators behind a mart column, where its name gives away the canonical
    variable of ``ref_variable_catalog`` it is built from: the variable itself, else the
    variables its undecorated name begins (``log_patents_per_10k`` -> ``patents_granted``),
    with each variable's source indicators and, from ``ref_city_panel_indicator``, their
    source; "" when the name says nothing."""
    catalog = table("ref_variable_catalog").drop_duplicates(["variable", "indicator"])
    variables = list(dict.fromkeys(catalog["variable"]))
    stem = previous = column
    while stem not in variables and (stem := _DECORATION.sub("", stem, count=1)) != previous:
        previous = stem
    found = [stem] if stem in variables else [v for v in variables
                                              if v.startswith(f"{stem}_")]
    sources = dict(zip(table("ref_city_panel_indicator")["indicator"],
                       table("ref_city_panel_indicator")["source"]))
    named = []
    for variable in found:
        indicators = catalog.loc[catalog["variable"] == variable, "indicator"]
        named.append(f"{variable}, raw indicator " + " or ".join(
            f"{i} ({sources[i]})" if i in sources else i for i in indicators))
    return "; ".join(named)
