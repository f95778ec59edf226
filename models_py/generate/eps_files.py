"""EPS export files (raw-source contract, section 2) written from the latent city world: long
tables (``地区, 地区代码, 年份, 指标, 单位, 数值``) and the wide layout (one indicator per sheet),
for city, province and national series, in CSV (GBK, UTF-8 with BOM) and xlsx.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from models_py.generate.city_world import INTERNET_YEARS, TELEPHONE_YEAR, YEARBOOK_LEVELS, CityWorld
from models_py.generate.table_files import (DECIMALS, Table, files_rng, with_markers, write_csv,
                                            write_xlsx)

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
                 [None] * (len(header) - 1) + [with_markers(rng, values, markers, missing_share)])


def eps_city_frame(world: CityWorld) -> pd.DataFrame:
    """City-years of the EPS city series: every city of the scale in the years it exists."""
    p = world.panel.merge(world.cities[["city_id", "city_name", "valid_from", "valid_to"]],
                          on="city_id")
    return p[(p["year"] >= p["valid_from"]) & (p["year"] <= p["valid_to"])]


def write_eps_city_long(out_dir: Path, world: CityWorld, seed: int) -> Path:
    """``eps/eps_city_talent_institutions.csv`` (UTF-8 with BOM, long, with 地区代码): IT and
    research employment and the two institutional indices of every city-year."""
    rng = files_rng(seed, 3)
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
    rng = files_rng(seed, 4)
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
            markers.append(with_markers(rng, values, ("", "—"), 0.005))
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
    table = _eps_long_table(rows, files_rng(seed, 5), ("",), False)
    path = out_dir / "eps" / "eps_city_telephones_1984.csv"
    write_csv(path, table, encoding="gbk")
    return path


def write_eps_national(out_dir: Path, world: CityWorld, seed: int) -> Path:
    """``eps/eps_national_internet_users.xlsx``: 全国 互联网上网人数(万人) by year."""
    s = world.internet_users.reindex(INTERNET_YEARS)
    rows = _eps_rows("全国", "", s.index, "互联网上网人数", "万人", s.to_numpy(float))
    table = _eps_long_table(rows, files_rng(seed, 6), ("",), False,
                            missing_share=0.0)
    path = out_dir / "eps" / "eps_national_internet_users.xlsx"
    write_xlsx(path, [("互联网上网人数", table, ())])
    return path


def write_eps_province_urbanization(out_dir: Path, world: CityWorld, seed: int) -> Path:
    """``eps/eps_province_urbanization.csv`` (GBK, long, 地区代码 = 6-digit province code)."""
    p = world.provinces
    rows = _eps_rows(p["province_name"], p["province_id"], p["year"], "城镇化率", "%",
                     np.round(p["urbanization_rate"].to_numpy(float), 2))
    table = _eps_long_table(rows, files_rng(seed, 7), ("-",), True)
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
    table = _eps_long_table(rows, files_rng(seed, 8), ("",), False)
    path = out_dir / "eps" / "eps_province_income.xlsx"
    write_xlsx(path, [("Sheet1", table, ())])
    return path


EPS_WRITERS = (write_eps_city_long, write_eps_city_wide, write_eps_telephones,
               write_eps_national, write_eps_province_urbanization, write_eps_province_income)
