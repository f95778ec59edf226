"""Reference facts the pipeline ships: rosters, crosswalks, pilot lists and their timing rule,
sectors, FX rates, distance tiers, S003's periods, city size classes, and the indicator lists of
the city and county panels and the indices.

They live as CSV files in ``dbt/seeds/`` (loaded into the ``reference`` schema by ``dbt seed``);
this module reads the same files for Python code, so each fact has one home. The dbt project's
variables (panel year windows, cluster thresholds: the ``vars:`` of ``dbt/dbt_project.yml``)
are read here too, by :func:`dbt_var`, for the generator and the tests.
"""
from __future__ import annotations

import datetime as _dt
import re
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

SEEDS_DIR = Path(__file__).resolve().parents[2] / "dbt" / "seeds"

_ID_COLUMNS = {"city_id", "county_id", "province_id", "sector_code"}


@cache
def table(name: str) -> pd.DataFrame:
    """A reference table by seed name, e.g. ``table("ref_city")``; codes stay strings."""
    path = SEEDS_DIR / f"{name}.csv"
    header = pd.read_csv(path, nrows=0).columns
    dtypes = {c: "string" for c in header if c in _ID_COLUMNS}
    return pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])


@cache
def dbt_vars() -> dict:
    """The ``vars:`` of the dbt project beside the seeds (``dbt_project.yml``): each default
    once, for dbt's models and tests and for Python code alike."""
    project = yaml.safe_load((SEEDS_DIR.parent / "dbt_project.yml").read_text(encoding="utf-8"))
    return dict(project.get("vars") or {})


def dbt_var(name: str):
    """One variable of the dbt project, e.g. ``dbt_var("cluster_min_firms")``."""
    values = dbt_vars()
    if name not in values:
        raise KeyError(f"dbt/dbt_project.yml declares no variable {name!r} under vars: "
                       f"(it declares {', '.join(sorted(values))})")
    return values[name]


def panel_years(panel: str) -> tuple[int, ...]:
    """The years of a panel window, both ends included: ``panel_years("s001")`` reads the dbt
    variables ``s001_first_year`` and ``s001_last_year`` (panels: city_panel, s001, s000,
    county_panel)."""
    return tuple(range(int(dbt_var(f"{panel}_first_year")), int(dbt_var(f"{panel}_last_year")) + 1))


def clear_cache() -> None:
    """Forget what was read, after :data:`SEEDS_DIR` is pointed elsewhere (tests)."""
    table.cache_clear()
    dbt_vars.cache_clear()


def cities() -> pd.DataFrame:
    return table("ref_city")


def counties() -> pd.DataFrame:
    return table("ref_county")


def sectors() -> pd.DataFrame:
    return table("ref_io_sector")


def distance_tiers() -> pd.DataFrame:
    """The distance tiers of seed 003: tier_id, tier (label), lower_km, upper_km."""
    return table("ref_distance_tier")


def s003_periods() -> pd.DataFrame:
    """S003's observation periods in order (``ref_s003_period``): period_id, period (its
    label), first_year and last_year, both included. The periods run between consecutive CEADs
    table years, so those years are :func:`s003_table_years`."""
    return table("ref_s003_period").sort_values("period_id", ignore_index=True)


def s003_table_years() -> tuple[int, ...]:
    """The CEADs table years S003's periods run between (2012, 2015, 2017)."""
    periods = s003_periods()
    return tuple(sorted({*periods["first_year"].astype(int), *periods["last_year"].astype(int)}))


def city_size_classes() -> pd.DataFrame:
    """City size classes (``ref_city_size_class``), largest first: size_class, min_population
    (万人, the class runs to the next larger class's bound), large (1 for the large classes)."""
    return table("ref_city_size_class").sort_values("min_population", ascending=False,
                                                    ignore_index=True)


def large_city_min_population() -> float:
    """The population (万人) from which a city is in a large size class."""
    classes = city_size_classes()
    return float(classes.loc[classes["large"] == 1, "min_population"].min())


def usd_cny() -> dict[int, float]:
    t = table("ref_usd_cny")
    return dict(zip(t["year"].astype(int), t["usd_cny"].astype(float)))


def city_panel_indicators(source: str | None = None) -> pd.DataFrame:
    """The source indicators of the city-year panel in panel order (``ref_city_panel_indicator``):
    position, source (``city_yearbook`` or ``eps``), indicator, and the canonical variable the
    catalog maps it to; only one source's rows when ``source`` is given."""
    out = _with_variables(table("ref_city_panel_indicator").sort_values("position"),
                          "ref_city_panel_indicator")
    if source is not None:
        out = out[out["source"] == source]
    return out.reset_index(drop=True)


def county_panel_indicators() -> pd.DataFrame:
    """The county yearbook indicators of the county-year panel in order
    (``ref_county_panel_indicator``): position, indicator, and its canonical variable."""
    panel = table("ref_county_panel_indicator").sort_values("position")
    return _with_variables(panel, "ref_county_panel_indicator")


def index_indicators(composite_index: str) -> pd.DataFrame:
    """The indicators of an entropy-weighted composite index (``resilience`` or
    ``digital_infrastructure``) in order: dimension, indicator, direction
    (``ref_index_indicator``)."""
    t = table("ref_index_indicator")
    t = t[t["composite_index"] == composite_index].sort_values("position")
    if t.empty:
        raise ValueError(f"ref_index_indicator has no indicators of index {composite_index!r}")
    return t[["dimension", "indicator", "direction"]].reset_index(drop=True)


def _with_variables(panel: pd.DataFrame, seed: str) -> pd.DataFrame:
    """``panel`` with the canonical variable of each of its indicators (ref_variable_catalog)."""
    variables = table("ref_variable_catalog").drop_duplicates("indicator")
    out = panel.merge(variables[["indicator", "variable"]], on="indicator", how="left")
    unknown = out.loc[out["variable"].isna(), "indicator"].tolist()
    if unknown:
        raise ValueError(f"{seed} names indicators that ref_variable_catalog does not know: "
                         f"{unknown}")
    return out


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


# The seeds raw_indicators reads: the variable catalog and the city panel's indicators.
RAW_INDICATOR_SEEDS = ("ref_variable_catalog", "ref_city_panel_indicator")


def raw_indicators(column: str) -> str:
    """The raw indicators behind a mart column, where its name gives away the canonical
    variable of ``ref_variable_catalog`` it is built from: the variable itself, else the
    variables its undecorated name begins (``log_patents_per_10k`` -> ``patents_granted``),
    with each variable's source indicators and, from ``ref_city_panel_indicator``, their
    source; "" when the name says nothing."""
    catalog_seed, panel_seed = RAW_INDICATOR_SEEDS
    catalog = table(catalog_seed).drop_duplicates(["variable", "indicator"])
    variables = list(dict.fromkeys(catalog["variable"]))
    stem = previous = column
    while stem not in variables and (stem := _DECORATION.sub("", stem, count=1)) != previous:
        previous = stem
    found = [stem] if stem in variables else [v for v in variables
                                              if v.startswith(f"{stem}_")]
    sources = dict(zip(table(panel_seed)["indicator"], table(panel_seed)["source"]))
    named = []
    for variable in found:
        indicators = catalog.loc[catalog["variable"] == variable, "indicator"]
        named.append(f"{variable}, raw indicator " + " or ".join(
            f"{i} ({sources[i]})" if i in sources else i for i in indicators))
    return "; ".join(named)
