"""City and county yearbook files (raw-source contract, section 1) written from the latent worlds.

Editions differ the way real deliveries do: CSV (GBK, UTF-8 with or without BOM) or xlsx, title
rows above the header, ``城市`` or ``地区`` as the first header cell, an optional ``行政区划代码``
column, units that change between editions (万元/亿元, 万人/人, 万美元/亿美元), scope suffixes,
historical and short city names, thousands separators and missing-value markers. The city
yearbook's indicators are the city-yearbook rows of ``ref_city_panel_indicator``, in its order;
every header ``<指标>(<单位>)`` is a row of ``ref_variable_catalog``, and values are converted from
the world's units with the catalog's factors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models_py import reference
from models_py.generate.city_world import NO_ECONOMY_CITIES, YEARBOOK_LEVELS, CityWorld
from models_py.generate.county_world import CountyWorld
from models_py.generate.table_files import (DECIMALS, Table, files_rng, with_markers, write_csv,
                                            write_xlsx)

# Indicators written for the urban districts too (``_市辖区``), with their world variable.
URBAN_SCOPE = {"地区生产总值": "gdp_urban", "年末户籍人口": "pop_registered_urban"}
MONEY = ("地区生产总值", "地方一般公共预算收入", "地方一般公共预算支出", "科学技术支出", "教育支出",
         "城乡居民储蓄年末余额", "年末金融机构各项贷款余额", "社会消费品零售总额", "电信业务总量",
         "规模以上工业企业固定资产合计", "规模以上工业企业流动资产合计")
PERSONS = ("年末户籍人口", "年末常住人口", "城镇单位从业人员期末人数")
USD = ("当年实际使用外资金额", "货物进口额", "货物出口额")

# The county world's column of each canonical variable whose name differs from it.
COUNTY_WORLD_COLUMN = {"urban_disposable_income": "urban_income",
                       "rural_net_income": "rural_income"}


def _units(unit: str, indicators) -> dict[str, str]:
    return {ind: unit for ind in indicators}


@dataclass(frozen=True)
class Edition:
    """How one yearbook file is laid out.

    ``titles`` are the rows above the header ({year} and {next} are filled in); ``pad_titles``
    pads them with empty cells to the header's width in CSV files. ``units`` overrides the unit
    of some indicators. ``scope``: "whole" writes no suffix; "both" writes ``_全市`` and
    ``_市辖区`` for the indicators of URBAN_SCOPE; "plain_urban" writes them without suffix and
    with ``_市辖区``. ``short_names``: some cities appear by their short form.
    """
    fmt: str
    encoding: str | None
    titles: tuple[str, ...]
    first_cell: str
    code_column: bool
    units: dict[str, str] = field(default_factory=dict)
    scope: str = "whole"
    thousands: bool = False
    short_names: bool = False
    markers: tuple[str, ...] = ("",)
    pad_titles: bool = True


CITY_EDITIONS = {
    2010: Edition("csv", "gbk", ("{year}年中国城市统计年鉴主要指标", "单位：见各列"), "城市", False,
                  markers=("-", "")),
    2011: Edition("xlsx", None, ("中国城市统计年鉴{next}",), "地区", True, scope="both"),
    2012: Edition("csv", "utf-8-sig", (), "城市", True, _units("亿元", MONEY),
                  scope="plain_urban", thousands=True, markers=("—", "--")),
    2013: Edition("xlsx", None, ("中国城市统计年鉴{next}", "（{year}年数据）", "单位：见各列"), "城市",
                  False, {**_units("人", PERSONS), "普通高等学校在校学生数": "万人"},
                  short_names=True, markers=("…", "")),
    2014: Edition("csv", "gbk", ("中国城市统计年鉴{next}",), "地区", True, scope="both",
                  thousands=True, markers=("-", "NA")),
    2015: Edition("xlsx", None, ("单位：见各列",), "城市", True, markers=("N/A",)),
    2016: Edition("csv", "utf-8-sig", ("中国城市统计年鉴{next}", "单位：见各列"), "城市", False,
                  _units("亿元", MONEY), scope="plain_urban", short_names=True, markers=("—",)),
    2017: Edition("xlsx", None, (), "地区", True, {"互联网宽带接入用户数": "户"}, scope="both",
                  markers=("-",)),
    2018: Edition("csv", "gbk", ("{year}年城市统计数据",), "城市", True, _units("人", PERSONS),
                  thousands=True, short_names=True, markers=("--", ""), pad_titles=False),
    2019: Edition("xlsx", None, ("中国城市统计年鉴{next}", "单位：见各列"), "城市", True,
                  {**_units("亿美元", USD), "人均地区生产总值": "万元"}, scope="plain_urban",
                  markers=("…",)),
    2020: Edition("csv", "utf-8-sig", (), "地区", False, {"普通高等学校在校学生数": "万人"},
                  thousands=True, markers=("NA", "-")),
    2021: Edition("xlsx", None, ("中国城市统计年鉴{next}",), "城市", True, _units("亿元", MONEY),
                  scope="both", markers=("",)),
    2022: Edition("csv", "gbk", ("中国城市统计年鉴{next}", "（{year}年数据）", "单位：见各列"), "地区",
                  True, short_names=True, markers=("—", "N/A")),
    2023: Edition("csv", "utf-8", ("{year}年中国城市主要统计指标",), "城市", True,
                  scope="plain_urban", thousands=True, markers=("-",)),
}
COUNTY_EDITIONS = {
    1998: Edition("xlsx", None, ("中国县（市）社会经济统计年鉴{next}",), "县", True),
    1999: Edition("csv", "gbk", (), "地区", True, markers=("-", "")),
    2000: Edition("csv", "utf-8-sig", ("单位：见各列",), "县", True, thousands=True,
                  markers=("—",)),
    2001: Edition("xlsx", None, (), "地区", True, markers=("…",)),
    2002: Edition("csv", "gbk", ("{year}年县域主要经济指标", "单位：见各列"), "县", True,
                  markers=("NA",)),
    2003: Edition("xlsx", None, ("中国县（市）社会经济统计年鉴{next}",), "地区", True),
    2004: Edition("csv", "utf-8-sig", (), "县", True, thousands=True, markers=("--",)),
    2005: Edition("xlsx", None, ("单位：见各列",), "县", True, markers=("-",)),
    2006: Edition("csv", "gbk", ("{year}年县域主要经济指标",), "地区", True, markers=("N/A", "")),
    2007: Edition("csv", "utf-8", (), "县", True, thousands=True, markers=("-",)),
}


def edition(editions: dict[int, Edition], year: int) -> Edition:
    """The edition of ``year``; a year outside the table takes an edition of the table in
    turn, so every year has a shape."""
    if year in editions:
        return editions[year]
    keys = sorted(editions)
    return editions[keys[(year - keys[0]) % len(keys)]]


# --- catalog ---------------------------------------------------------------------------------

def _catalog() -> dict[tuple[str, str], float]:
    t = reference.table("ref_variable_catalog")
    units = t["unit"].fillna("")
    return {(i, u): float(f) for i, u, f in zip(t["indicator"], units, t["factor"])}


def decimals(indicator: str, from_unit: str, to_unit: str) -> int:
    """Decimals that keep the precision of ``from_unit`` when written in ``to_unit``."""
    cat = _catalog()
    step = int(round(np.log10(cat[(indicator, to_unit)] / cat[(indicator, from_unit)])))
    return max(DECIMALS[to_unit], DECIMALS[from_unit] + step)


def convert(values: np.ndarray, indicator: str, from_unit: str, to_unit: str) -> np.ndarray:
    """Values of ``indicator`` in ``from_unit`` expressed in ``to_unit``; both units must be
    catalog rows of the indicator (so every header written is one the loaders know)."""
    cat = _catalog()
    for unit in (from_unit, to_unit):
        if (indicator, unit) not in cat:
            raise KeyError(f"{indicator}({unit}) is not in ref_variable_catalog")
    return values * cat[(indicator, from_unit)] / cat[(indicator, to_unit)]


def city_indicators() -> list[tuple[str, str, str]]:
    """The city yearbook's indicators in contract order: (indicator, world variable, the unit the
    world holds it in, which is the first catalog unit of the indicator)."""
    rows = reference.city_panel_indicators("city_yearbook")
    first_unit = _first_catalog_units()
    return [(i, v, first_unit[i]) for i, v in zip(rows["indicator"], rows["variable"])]


def county_indicators() -> list[tuple[str, str, str]]:
    """The county yearbook's indicators in order (``ref_county_panel_indicator``): (indicator,
    column of the county world, the unit the world holds it in: the first catalog unit)."""
    rows = reference.county_panel_indicators()
    first_unit = _first_catalog_units()
    return [(i, COUNTY_WORLD_COLUMN.get(v, v), first_unit[i])
            for i, v in zip(rows["indicator"], rows["variable"])]


def _first_catalog_units() -> dict[str, str]:
    catalog = reference.table("ref_variable_catalog").drop_duplicates("indicator")
    return dict(zip(catalog["indicator"], catalog["unit"].fillna("")))


def _write_edition(path_stem: Path, table: Table, ed: Edition, year: int) -> Path:
    titles = tuple(t.format(year=year, next=year + 1) for t in ed.titles)
    if ed.fmt == "xlsx":
        path = path_stem.with_suffix(".xlsx")
        write_xlsx(path, [(f"{year}", table, titles)])
    else:
        path = path_stem.with_suffix(".csv")
        write_csv(path, table, encoding=ed.encoding, titles=titles, pad_titles=ed.pad_titles,
                  thousands=ed.thousands)
    return path


# --- city yearbook ---------------------------------------------------------------------------

def historical_names(year: int) -> dict[str, str]:
    """City id -> the name it bore in ``year`` where that differs from the roster name."""
    h = reference.table("ref_city_name_history")
    roster = dict(zip(reference.cities()["city_id"], reference.cities()["city_name"]))
    live = h[(h["valid_from"] <= year) & (h["valid_to"] >= year)]
    return {c: n for c, n in zip(live["city_id"], live["historical_name"]) if roster.get(c) != n}


def yearbook_cities(world: CityWorld, year: int) -> pd.DataFrame:
    """Cities of the yearbook in ``year``: municipalities and prefecture-level 市 that exist."""
    c = world.cities
    keep = c["level"].isin(YEARBOOK_LEVELS) & (c["valid_from"] <= year) & (c["valid_to"] >= year)
    return c[keep].sort_values("city_id").reset_index(drop=True)


def city_yearbook_table(world: CityWorld, year: int, seed: int) -> tuple[Table, Edition]:
    """The body of the city yearbook of ``year`` in its edition's layout and units."""
    ed = edition(CITY_EDITIONS, year)
    rng = files_rng(seed, 1, year)
    cities = yearbook_cities(world, year)
    panel = world.panel[world.panel["year"] == year].set_index("city_id").loc[cities["city_id"]]
    names = cities["city_name"].to_numpy(object).copy()
    old = historical_names(year)
    renamed = np.array([c in old for c in cities["city_id"]])
    names[renamed] = [old[c] for c in cities["city_id"][renamed]]
    if ed.short_names:
        short = (rng.random(len(names)) < 0.1) & ~renamed
        names[short] = cities["short_name"].to_numpy(object)[short]
    header, columns, places, markers = [ed.first_cell], [names], [None], [None]
    if ed.code_column:
        header.append("行政区划代码")
        columns.append(cities["city_id"].to_numpy(object))
        places.append(None)
        markers.append(None)
    no_economy = cities["city_id"].isin(NO_ECONOMY_CITIES).to_numpy()
    for indicator, variable, unit in city_indicators():
        scoped = [(variable, "")]
        if indicator in URBAN_SCOPE and ed.scope != "whole":
            whole = "_全市" if ed.scope == "both" else ""
            scoped = [(variable, whole), (URBAN_SCOPE[indicator], "_市辖区")]
        out_unit = ed.units.get(indicator, unit)
        for var, suffix in scoped:
            values = convert(panel[var].to_numpy(float), indicator, unit, out_unit)
            header.append(f"{indicator}({out_unit}){suffix}")
            columns.append(values)
            places.append(decimals(indicator, unit, out_unit))
            markers.append(with_markers(rng, values, ed.markers, force=no_economy))
    return Table(header, columns, places, markers), ed


def write_city_yearbook(out_dir: Path, world: CityWorld, year: int, seed: int) -> Path:
    """``yearbook/city_yearbook_<year>.xlsx|.csv``."""
    table, ed = city_yearbook_table(world, year, seed)
    return _write_edition(out_dir / "yearbook" / f"city_yearbook_{year}", table, ed, year)


# --- county yearbook -------------------------------------------------------------------------

def write_county_yearbook(out_dir: Path, county: CountyWorld, year: int, seed: int) -> Path:
    """``yearbook/county_yearbook_<year>.xlsx|.csv``: every county of the scale with its
    行政区划代码 (county names repeat across provinces)."""
    ed = edition(COUNTY_EDITIONS, year)
    rng = files_rng(seed, 2, year)
    panel = county.panel[county.panel["year"] == year]
    roster = reference.counties().set_index("county_id")
    ids = panel["county_id"].to_numpy(object)
    header = [ed.first_cell, "行政区划代码"]
    columns = [roster.loc[ids, "county_name"].to_numpy(object), ids]
    places, markers = [None, None], [None, None]
    for indicator, variable, unit in county_indicators():
        values = convert(panel[variable].to_numpy(float), indicator, unit, unit)
        header.append(f"{indicator}({unit})")
        columns.append(values)
        places.append(DECIMALS[unit])
        markers.append(with_markers(rng, values, ed.markers))
    table = Table(header, columns, places, markers)
    return _write_edition(out_dir / "yearbook" / f"county_yearbook_{year}", table, ed, year)
