"""Writers of the yearbook, EPS, policy-text and firm-record files, in the shapes of the
raw-source contract (sections 1, 2, 6 and 7).

Each writer takes a slice of the latent worlds of :mod:`models_py.generate.city_world` and writes
one file. Editions differ the way real deliveries do: CSV (GBK, UTF-8 with or without BOM) or
xlsx, title rows above the header, ``城市`` or ``地区`` as the first header cell, an optional
``行政区划代码`` column, units that change between editions (万元/亿元, 万人/人, 万美元/亿美元),
scope suffixes, historical and short city names, thousands separators and missing-value markers.
Every header ``<指标>(<单位>)`` is a row of ``ref_variable_catalog``; values are converted from the
world's units with the catalog's factors.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import xlsxwriter

from models_py import reference
from models_py.generate.city_world import (INTERNET_YEARS, TELEPHONE_YEAR, TOOL_TYPES,
                                           YEARBOOK_LEVELS, CityWorld, CountyWorld)

STREAM = 42  # random streams of this module: np.random.default_rng([seed, STREAM, k])
WORKBOOK_DATE = dt.datetime(2024, 1, 1)  # fixed workbook metadata, so files are reproducible
MISSING_SHARE = 0.01
NO_ECONOMY_CITIES = ("460300",)  # 三沙市: a prefecture since 2012 with no economy to tabulate

# Yearbook indicators in contract order: (indicator, world variable, unit in the world).
CITY_INDICATORS = (
    ("年末户籍人口", "pop_registered", "万人"),
    ("年末常住人口", "pop_resident", "万人"),
    ("地区生产总值", "gdp", "万元"),
    ("人均地区生产总值", "gdp_per_capita", "元"),
    ("第二产业增加值占GDP比重", "share_secondary", "%"),
    ("第三产业增加值占GDP比重", "share_tertiary", "%"),
    ("地方一般公共预算收入", "fiscal_revenue", "万元"),
    ("地方一般公共预算支出", "fiscal_expenditure", "万元"),
    ("科学技术支出", "science_expenditure", "万元"),
    ("教育支出", "education_expenditure", "万元"),
    ("当年实际使用外资金额", "fdi", "万美元"),
    ("货物进口额", "imports", "万美元"),
    ("货物出口额", "exports", "万美元"),
    ("普通高等学校在校学生数", "college_students", "人"),
    ("城镇单位从业人员期末人数", "employment_urban_units", "万人"),
    ("城镇登记失业人员数", "unemployed_registered", "人"),
    ("失业保险参保人数", "unemployment_insured", "人"),
    ("城乡居民储蓄年末余额", "household_savings", "万元"),
    ("年末金融机构各项贷款余额", "loans", "万元"),
    ("社会消费品零售总额", "retail_sales", "万元"),
    ("医院床位数", "hospital_beds", "张"),
    ("互联网宽带接入用户数", "broadband_subscribers", "万户"),
    ("移动电话年末用户数", "mobile_subscribers", "万户"),
    ("电信业务总量", "telecom_volume", "万元"),
    ("在岗职工平均工资", "avg_wage", "元"),
    ("规模以上工业企业固定资产合计", "industrial_fixed_assets", "万元"),
    ("规模以上工业企业流动资产合计", "industrial_current_assets", "万元"),
    ("专利授权数", "patents_granted", "件"),
    ("城镇人口比重", "urbanization_rate", "%"),
    ("行政区域土地面积", "land_area", "平方公里"),
)
# Indicators written for the urban districts too (``_市辖区``), with their world variable.
URBAN_SCOPE = {"地区生产总值": "gdp_urban", "年末户籍人口": "pop_registered_urban"}
MONEY = ("地区生产总值", "地方一般公共预算收入", "地方一般公共预算支出", "科学技术支出", "教育支出",
         "城乡居民储蓄年末余额", "年末金融机构各项贷款余额", "社会消费品零售总额", "电信业务总量",
         "规模以上工业企业固定资产合计", "规模以上工业企业流动资产合计")
PERSONS = ("年末户籍人口", "年末常住人口", "城镇单位从业人员期末人数")
USD = ("当年实际使用外资金额", "货物进口额", "货物出口额")

COUNTY_INDICATORS = (
    ("地区生产总值", "gdp", "万元"),
    ("年末户籍人口", "pop_registered", "万人"),
    ("城镇居民人均可支配收入", "urban_income", "元"),
    ("农村居民人均纯收入", "rural_income", "元"),
)
DECIMALS = {"亿元": 4, "万元": 0, "元": 0, "万人": 2, "人": 0, "%": 2, "万美元": 0, "亿美元": 4,
            "张": 0, "万户": 2, "户": 0, "件": 0, "平方公里": 0, "个": 0, "部": 3, "指数": 2}


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
# Firm records: CSV (with its encoding) or Parquet by year.
ASIF_FORMATS = {1998: "gbk", 1999: "parquet", 2000: "utf-8", 2001: "parquet", 2002: "utf-8-sig",
                2003: "parquet", 2004: "gbk", 2005: "parquet", 2006: "parquet", 2007: "utf-8"}


def edition(editions: dict[int, Edition], year: int) -> Edition:
    """The edition of ``year``; a year outside the table takes an edition of the table in
    turn, so every year has a shape."""
    if year in editions:
        return editions[year]
    keys = sorted(editions)
    return editions[keys[(year - keys[0]) % len(keys)]]


# --- catalog ---------------------------------------------------------------------------------

@cache
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


# --- generic table writing -------------------------------------------------------------------

@dataclass
class Table:
    """A file's body: text columns and numeric columns (written with ``decimals`` places), and
    for each numeric column the marker that replaces a cell (None: the value is written; '':
    the cell is left empty)."""
    header: list[str]
    columns: list[np.ndarray]
    decimals: list[int | None]  # None for text columns
    markers: list[np.ndarray | None] = field(default_factory=list)


def _with_markers(rng: np.random.Generator, values: np.ndarray, markers: tuple[str, ...],
                  share: float = MISSING_SHARE, force: np.ndarray | None = None
                  ) -> np.ndarray:
    """Missing-value markers for a random ``share`` of the cells, every NaN cell and every cell
    where ``force``; None where the value stands."""
    pick = (rng.random(len(values)) < share) | np.isnan(values)
    if force is not None:
        pick |= force
    out = np.full(len(values), None, dtype=object)
    out[pick] = np.asarray(markers, dtype=object)[rng.integers(0, len(markers), pick.sum())]
    return out


def _format(values: np.ndarray, decimals: int, thousands: bool) -> list[str]:
    spec = f"{{:{',' if thousands else ''}.{decimals}f}}"
    return [spec.format(v) for v in values.tolist()]


def write_csv(path: Path, table: Table, *, encoding: str, titles=(), pad_titles=True,
              thousands=False) -> None:
    """A CSV file: title rows, the header, then the body (numbers formatted, markers kept)."""
    data = {}
    for j, (col, dec) in enumerate(zip(table.columns, table.decimals)):
        if dec is None:
            data[j] = col
            continue
        text = np.array(_format(np.nan_to_num(col), dec, thousands), dtype=object)
        marks = table.markers[j]
        if marks is not None:
            hit = np.array([m is not None for m in marks])
            text[hit] = marks[hit]
        data[j] = text
    frame = pd.DataFrame(data)
    frame.columns = table.header
    width = len(table.header)
    with path.open("w", encoding=encoding, newline="") as f:
        for title in titles:
            f.write(title + ("," * (width - 1) if pad_titles else "") + "\n")
        frame.to_csv(f, index=False, lineterminator="\n")


def write_xlsx(path: Path, sheets: list[tuple[str, Table, tuple[str, ...]]]) -> None:
    """An xlsx workbook, one (name, table, title rows) per sheet; numbers as numbers, missing
    markers as text, empty markers as empty cells."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    wb.set_properties({"created": WORKBOOK_DATE})
    for name, table, titles in sheets:
        ws = wb.add_worksheet(name)
        r = 0
        for title in titles:
            ws.write_string(r, 0, title)
            r += 1
        for j, h in enumerate(table.header):
            ws.write_string(r, j, h)
        r += 1
        cols = []
        for j, (col, dec) in enumerate(zip(table.columns, table.decimals)):
            if dec is None:
                cols.append(("text", col.tolist(), None))
            else:
                marks = table.markers[j]
                cols.append(("num", np.round(col, dec).tolist(),
                             None if marks is None else marks.tolist()))
        for i in range(len(table.columns[0])):
            for j, (kind, values, marks) in enumerate(cols):
                if kind == "text":
                    if values[i] != "":
                        ws.write_string(r + i, j, str(values[i]))
                    continue
                mark = None if marks is None else marks[i]
                if mark is None:
                    ws.write_number(r + i, j, values[i])
                elif mark != "":
                    ws.write_string(r + i, j, mark)
    wb.close()


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
    rng = np.random.default_rng([seed, STREAM, 1, year])
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
    for indicator, variable, unit in CITY_INDICATORS:
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
            markers.append(_with_markers(rng, values, ed.markers, force=no_economy))
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
    rng = np.random.default_rng([seed, STREAM, 2, year])
    panel = county.panel[county.panel["year"] == year]
    roster = reference.counties().set_index("county_id")
    ids = panel["county_id"].to_numpy(object)
    header = [ed.first_cell, "行政区划代码"]
    columns = [roster.loc[ids, "county_name"].to_numpy(object), ids]
    places, markers = [None, None], [None, None]
    for indicator, variable, unit in COUNTY_INDICATORS:
        values = convert(panel[variable].to_numpy(float), indicator, unit, unit)
        header.append(f"{indicator}({unit})")
        columns.append(values)
        places.append(DECIMALS[unit])
        markers.append(_with_markers(rng, values, ed.markers))
    table = Table(header, columns, places, markers)
    return _write_edition(out_dir / "yearbook" / f"county_yearbook_{year}", table, ed, year)


# --- EPS -------------------------------------------------------------------------------------

EPS_LONG_HEADER = ["地区", "地区代码", "年份", "指标", "单位", "数值"]


def _eps_rows(names, codes, years, indicator, unit, values) -> pd.DataFrame:
    return pd.DataFrame({"地区": names, "地区代码": codes, "年份": years, "指标": indicator,
                         "单位": unit, "数值": values})


def _eps_long_table(rows: pd.DataFrame, rng, markers, with_code: bool, *, places=None,
                    missing_share: float = 0.005) -> Table:
    """A long EPS table; values get ``places`` decimals (default: the finest of their units)
    and a small share of missing markers."""
    header = EPS_LONG_HEADER if with_code else [h for h in EPS_LONG_HEADER if h != "地区代码"]
    values = rows["数值"].to_numpy(float)
    if places is None:
        places = max((DECIMALS.get(u, 2) for u in rows["单位"]), default=2)
    cols = {"地区": rows["地区"].to_numpy(object), "地区代码": rows["地区代码"].to_numpy(object),
            "年份": rows["年份"].astype(str).to_numpy(object),
            "指标": rows["指标"].to_numpy(object), "单位": rows["单位"].to_numpy(object)}
    columns = [cols[h] for h in header[:-1]] + [values]
    return Table(header, columns, [None] * (len(header) - 1) + [places],
                 [None] * (len(header) - 1) + [_with_markers(rng, values, markers, missing_share)])


def eps_city_frame(world: CityWorld) -> pd.DataFrame:
    """City-years of the EPS city series: every city of the scale in the years it exists."""
    p = world.panel.merge(world.cities[["city_id", "city_name", "valid_from", "valid_to"]],
                          on="city_id")
    return p[(p["year"] >= p["valid_from"]) & (p["year"] <= p["valid_to"])]


def write_eps_city_long(out_dir: Path, world: CityWorld, seed: int) -> Path:
    """``eps/eps_city_talent_institutions.csv`` (UTF-8 with BOM, long, with 地区代码): IT and
    research employment and the two institutional indices of every city-year."""
    rng = np.random.default_rng([seed, STREAM, 3])
    p = eps_city_frame(world)
    parts = []
    for indicator, variable, unit, places in (
            ("信息传输、计算机服务和软件业从业人员", "employment_it", "万人", 4),
            ("科学研究和技术服务业从业人员", "employment_research", "万人", 4),
            ("知识产权保护指数", "ip_protection_index", "指数", 2),
            ("政策执行能力指数", "policy_capacity_index", "指数", 2)):
        parts.append(_eps_rows(p["city_name"], p["city_id"], p["year"], indicator, unit,
                               np.round(p[variable].to_numpy(float), places)))
    rows = pd.concat(parts, ignore_index=True)
    table = _eps_long_table(rows, rng, ("", "-"), with_code=True, places=4)
    path = out_dir / "eps" / "eps_city_talent_institutions.csv"
    write_csv(path, table, encoding="utf-8-sig")
    return path


def write_eps_city_wide(out_dir: Path, world: CityWorld, seed: int) -> Path:
    """``eps/eps_city_patents_firms_wide.xlsx``: the wide layout, one indicator per sheet (a
    title row ``<指标>(<单位>)``, then ``地区`` and the years across, cities down)."""
    rng = np.random.default_rng([seed, STREAM, 4])
    p = eps_city_frame(world)
    sheets = []
    for sheet, indicator, variable, unit in (
            ("专利申请数", "专利申请数", "patent_applications", "件"),
            ("新注册企业数", "信息传输、软件和信息技术服务业新注册企业数", "new_digital_firms", "个")):
        wide = p.pivot(index="city_id", columns="year", values=variable)
        names = world.cities.set_index("city_id").loc[wide.index, "city_name"]
        years = [int(y) for y in wide.columns]
        header = ["地区"] + [str(y) for y in years]
        columns = [names.to_numpy(object)]
        markers = [None]
        for y in years:
            values = np.round(wide[y].to_numpy(float))
            columns.append(values)
            markers.append(_with_markers(rng, values, ("", "—"), 0.005))
        table = Table(header, columns, [None] + [0] * len(years), markers)
        sheets.append((sheet, table, (f"{indicator}({unit})",)))
    path = out_dir / "eps" / "eps_city_patents_firms_wide.xlsx"
    write_xlsx(path, sheets)
    return path


def write_eps_telephones(out_dir: Path, world: CityWorld, seed: int) -> Path:
    """``eps/eps_city_telephones_1984.csv`` (GBK, long, no 地区代码): fixed telephones per 100
    people in 1984 of the cities that existed then."""
    c = world.cities
    c = c[(c["valid_from"] <= TELEPHONE_YEAR) & (c["valid_to"] >= TELEPHONE_YEAR)
          & c["level"].isin(YEARBOOK_LEVELS)]
    rows = _eps_rows(c["city_name"], "", TELEPHONE_YEAR, "1984年每百人固定电话数", "部",
                     c["telephones_per_100_1984"].to_numpy(float))
    table = _eps_long_table(rows, np.random.default_rng([seed, STREAM, 5]), ("",), False)
    path = out_dir / "eps" / "eps_city_telephones_1984.csv"
    write_csv(path, table, encoding="gbk")
    return path


def write_eps_national(out_dir: Path, world: CityWorld, seed: int) -> Path:
    """``eps/eps_national_internet_users.xlsx``: 全国 互联网上网人数(万人) by year."""
    s = world.internet_users.reindex(INTERNET_YEARS)
    rows = _eps_rows("全国", "", s.index, "互联网上网人数", "万人", s.to_numpy(float))
    table = _eps_long_table(rows, np.random.default_rng([seed, STREAM, 6]), ("",), False,
                            missing_share=0.0)
    path = out_dir / "eps" / "eps_national_internet_users.xlsx"
    write_xlsx(path, [("互联网上网人数", table, ())])
    return path


def write_eps_province_urbanization(out_dir: Path, world: CityWorld, seed: int) -> Path:
    """``eps/eps_province_urbanization.csv`` (GBK, long, 地区代码 = 6-digit province code)."""
    p = world.provinces
    rows = _eps_rows(p["province_name"], p["province_id"], p["year"], "城镇化率", "%",
                     np.round(p["urbanization_rate"].to_numpy(float), 2))
    table = _eps_long_table(rows, np.random.default_rng([seed, STREAM, 7]), ("-",), True)
    path = out_dir / "eps" / "eps_province_urbanization.csv"
    write_csv(path, table, encoding="gbk")
    return path


def write_eps_province_income(out_dir: Path, world: CityWorld, seed: int) -> Path:
    """``eps/eps_province_income.xlsx`` (long, no 地区代码): urban and rural per-capita
    disposable income (元) of every province of the scale."""
    p = world.provinces
    rows = pd.concat([
        _eps_rows(p["province_name"], "", p["year"], "城镇居民人均可支配收入", "元",
                  np.round(p["urban_disposable_income"].to_numpy(float))),
        _eps_rows(p["province_name"], "", p["year"], "农村居民人均可支配收入", "元",
                  np.round(p["rural_disposable_income"].to_numpy(float)))], ignore_index=True)
    table = _eps_long_table(rows, np.random.default_rng([seed, STREAM, 8]), ("",), False)
    path = out_dir / "eps" / "eps_province_income.xlsx"
    write_xlsx(path, [("Sheet1", table, ())])
    return path


EPS_WRITERS = (write_eps_city_long, write_eps_city_wide, write_eps_telephones,
               write_eps_national, write_eps_province_urbanization, write_eps_province_income)


# --- policy texts ----------------------------------------------------------------------------

# Two sentences per keyword of the policy-tool dictionary (dbt/seeds/ref_policy_tool_keyword.csv),
# each containing its keyword exactly once and no other keyword.
POLICY_SENTENCES = {
    "资金支持": ("市财政每年安排专项资金，对综合试验区建设给予资金支持。",
             "对新认定的跨境电商产业园区，按投资额给予一定比例的资金支持。"),
    "人才培养": ("鼓励本地高校开设跨境电商相关专业，加强复合型人才培养。",
             "依托职业院校建设实训基地，完善跨境电商人才培养体系。"),
    "基础设施": ("加快国际物流枢纽、保税仓储等基础设施建设。",
             "推进综合试验区信息网络基础设施升级改造。"),
    "技术支持": ("引导科研院所为中小跨境电商企业提供技术支持。",
             "对企业应用大数据、云计算等新技术给予技术支持。"),
    "公共服务": ("建设跨境电商线上综合平台，提升公共服务能力。",
             "完善企业备案、数据统计等公共服务功能。"),
    "人才引进": ("将跨境电商高层次人才纳入全市人才引进计划。",
             "对符合条件的跨境电商领军人物，按规定落实人才引进待遇。"),
    "税收优惠": ("认真落实出口退税和小微企业税收优惠政策。",
             "符合条件的跨境电商企业按规定享受税收优惠。"),
    "金融支持": ("鼓励金融机构开发适合跨境电商的信贷产品，强化金融支持。",
             "引导保险机构扩大出口信用保险覆盖面，加大金融支持力度。"),
    "法规管制": ("健全跨境电商交易规则，依法加强法规管制。",
             "加强对跨境电商经营主体的法规管制和信用监管。"),
    "目标规划": ("科学制定综合试验区发展的目标规划。",
             "按照全市跨境电商发展目标规划，分年度推进重点任务。"),
    "通关便利": ("推行无纸化申报和分类通关，提高通关便利化水平。",
             "实行“清单核放、汇总申报”模式，促进通关便利。"),
    "知识产权保护": ("加强跨境电商领域知识产权保护，严厉打击侵权假冒行为。",
               "建立境外知识产权保护援助机制。"),
    "政府采购": ("将符合条件的跨境电商综合服务纳入政府采购范围。",
             "在政府采购活动中同等对待本地跨境电商平台企业。"),
    "贸易管制": ("依法落实进出口商品贸易管制措施。",
             "做好跨境电商零售进口商品的贸易管制衔接工作。"),
    "海外机构": ("支持企业在重点市场设立海外机构和营销网络。",
             "鼓励龙头企业建设海外机构，拓展国际营销渠道。"),
    "示范推广": ("开展跨境电商示范企业评选，做好成熟经验的示范推广。",
             "总结综合试验区创新做法，加强复制和示范推广。"),
    "品牌建设": ("支持企业加强自主品牌建设，提升产品附加值。",
             "推动跨境电商出口品牌建设，培育一批知名品牌。"),
    "服务外包": ("鼓励企业通过服务外包方式发展跨境电商运营业务。",
             "支持跨境电商企业承接国际服务外包业务。"),
}


def policy_tools() -> dict[str, list[str]]:
    """The keywords of each policy-tool type (supply, environment, demand), from the seed."""
    t = reference.table("ref_policy_tool_keyword")
    return {tool: list(words) for tool, words in t.groupby("tool_type", sort=False)["keyword"]}


FILLERS = (
    "各有关部门要高度重视，加强组织领导，明确责任分工，确保各项任务落到实处。",
    "建立综合试验区建设工作联席会议制度，定期研究解决重大问题。",
    "加强统计监测和运行分析，定期评估工作推进情况。",
    "积极培育跨境电商市场主体，推动传统外贸和制造企业转型升级。",
    "推动跨境电商与产业集群协同发展，打造特色产业带。",
    "发挥行业协会作用，加强行业自律和交流合作。",
    "加强宣传引导，营造全社会关注跨境电商发展的良好氛围。",
    "坚持问题导向，及时协调解决企业反映的困难。",
)
TOPICS = ("加快中国（{pilot}）跨境电子商务综合试验区建设", "促进跨境电子商务高质量发展",
          "推进跨境电商产业园区建设", "做好跨境电商综合试验区年度重点工作")
KINDS = ("实施意见", "若干措施", "工作方案", "行动计划")
SECTIONS = ("一、总体要求", "二、重点任务", "三、政策措施", "四、保障措施")


def keyword_counts(text: str) -> dict[str, int]:
    """Occurrences of each policy-tool type's keywords in ``text``."""
    return {tool: sum(text.count(k) for k in words) for tool, words in policy_tools().items()}


def policy_documents(world: CityWorld, seed: int, last_year: int) -> pd.DataFrame:
    """Documents of the cross-border e-commerce pilot cities, issued after approval up to the
    end of ``last_year``: index columns, the text, and its keyword counts by tool type.

    Each document carries Poisson(rate_k) keyword sentences of tool type k, where rate_k is the
    city's planted rate (``world.pilots``), spread uniformly over the type's keywords.
    """
    rng = np.random.default_rng([seed, STREAM, 9])
    short = world.cities.set_index("city_id")["short_name"]
    docs = []
    for pilot in world.pilots.itertuples():
        approval = dt.date.fromisoformat(pilot.approval_date)
        first_day = approval + dt.timedelta(days=15)
        seq = 0
        for year in range(first_day.year, last_year + 1):
            start = max(first_day, dt.date(year, 1, 1))
            span = (dt.date(year, 12, 31) - start).days
            if span < 0:
                continue
            n_docs = rng.poisson(1.5) + (1 if year == first_day.year else 0)
            days = np.sort(rng.integers(0, span + 1, n_docs))
            for d in days:
                seq += 1
                date = start + dt.timedelta(days=int(d))
                rates = (pilot.rate_supply, pilot.rate_environment, pilot.rate_demand)
                text, title = _draft(rng, pilot, date, rates)
                docs.append({
                    "文件编号": f"{short[pilot.city_id]}政办发〔{date.year}〕{seq}号",
                    "城市": pilot.city_name, "发布日期": date.isoformat(), "标题": title,
                    "文件名": f"{pilot.city_id}_{date:%Y%m%d}_{seq:02d}.txt",
                    "city_id": pilot.city_id, "text": text, **keyword_counts(text)})
    columns = ["文件编号", "城市", "发布日期", "标题", "文件名", "city_id", "text", *TOOL_TYPES]
    return pd.DataFrame(docs, columns=columns)


def _draft(rng, pilot, date: dt.date, rates) -> tuple[str, str]:
    """The text and title of one document with planted keyword sentences."""
    kind = KINDS[rng.integers(len(KINDS))]
    topic = TOPICS[rng.integers(len(TOPICS))].format(pilot=pilot.pilot_name)
    title = f"{pilot.city_name}人民政府办公室关于{topic}的{kind}"
    sentences = list(rng.choice(FILLERS, rng.integers(3, 7), replace=False))
    for tool, rate in zip(TOOL_TYPES, rates):
        words = policy_tools()[tool]
        for _ in range(rng.poisson(rate)):
            word = words[rng.integers(len(words))]
            sentences.append(POLICY_SENTENCES[word][rng.integers(2)])
    order = rng.permutation(len(sentences))
    body = [sentences[i] for i in order]
    parts = np.array_split(np.arange(len(body)), len(SECTIONS))
    lines = [title, "", "各区、县（市）人民政府，市政府各部门、各直属单位：",
             f"　　为贯彻落实国务院关于同意设立中国（{pilot.pilot_name}）跨境电子商务综合试验区"
             f"的批复精神，结合本市实际，制定本{kind}。"]
    for head, idx in zip(SECTIONS, parts):
        lines.append(head)
        lines.extend("　　" + body[i] for i in idx)
    lines += ["", f"{pilot.city_name}人民政府办公室", f"{date.year}年{date.month}月{date.day}日", ""]
    return "\n".join(lines), title


def write_policy_index(out_dir: Path, docs: pd.DataFrame) -> Path:
    """``policy_texts/index.csv`` (UTF-8 with BOM)."""
    path = out_dir / "policy_texts" / "index.csv"
    docs[["文件编号", "城市", "发布日期", "标题", "文件名"]].to_csv(
        path, index=False, encoding="utf-8-sig", lineterminator="\n")
    return path


def write_policy_text(out_dir: Path, name: str, text: str) -> Path:
    """One UTF-8 policy text."""
    path = out_dir / "policy_texts" / name
    path.write_text(text, encoding="utf-8")
    return path


# --- firm records ----------------------------------------------------------------------------

def write_asif(out_dir: Path, county: CountyWorld, year: int) -> Path:
    """``asif/asif_<year>.csv|.parquet``: the firm records of one year, codes as text."""
    years = county.firms["年份"].to_numpy()
    lo, hi = np.searchsorted(years, [year, year + 1])  # firm records are sorted by year
    firms = county.firms.iloc[lo:hi]
    kind = ASIF_FORMATS.get(year, "parquet" if year % 2 else "utf-8")
    emp = firms["从业人数"].to_numpy(float)
    output = firms["工业总产值(千元)"].to_numpy(float)

    def text(column: str) -> pa.Array:
        return pa.array(firms[column]).dictionary_decode().cast(pa.string())

    table = pa.table({
        "法人代码": text("法人代码"), "行政区划代码": text("行政区划代码"),
        "行业代码": text("行业代码"),
        "年份": pa.array(firms["年份"].to_numpy(), pa.int32()),
        "工业总产值(千元)": (pa.array(output, pa.float64()) if kind == "parquet"
                        else pa.array(output.astype(np.int64), pa.int64())),
        "从业人数": pa.array(np.nan_to_num(emp).astype(np.int64), pa.int64(), mask=np.isnan(emp)),
        "开业年份": pa.array(firms["开业年份"].to_numpy(), pa.int32()),
        "登记注册类型": text("登记注册类型"),
    })
    if kind == "parquet":
        path = out_dir / "asif" / f"asif_{year}.parquet"
        pq.write_table(table, path, compression="zstd")
        return path
    # The body is ASCII (codes and numbers), so only the header depends on the encoding.
    path = out_dir / "asif" / f"asif_{year}.csv"
    with path.open("wb") as f:
        f.write((",".join(table.column_names) + "\n").encode(kind))
        pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False,
                                                     quoting_style="none"))
    return path
