"""Sizes of the embedded default: ``full`` (the real rosters) and ``small`` (for tests)."""
from __future__ import annotations

from dataclasses import dataclass, field

from models_py import reference

# Small scale: a few dozen cities that still carry every feature the loaders must handle:
# pilots of both programmes in different batches, renamed cities (襄阳 was 襄樊 until 2010,
# 普洱), a city merged away (莱芜 until 2018), an autonomous prefecture in the MRIO.
SMALL_CITY_NAMES = [
    "北京市", "天津市", "上海市", "重庆市", "石家庄市", "保定市", "唐山市", "郑州市", "洛阳市",
    "南阳市", "贵阳市", "遵义市", "广州市", "深圳市", "佛山市", "沈阳市", "呼和浩特市", "杭州市",
    "宁波市", "温州市", "南京市", "苏州市", "无锡市", "合肥市", "芜湖市", "武汉市", "襄阳市",
    "长沙市", "成都市", "绵阳市", "西安市", "宝鸡市", "兰州市", "昆明市", "普洱市", "南宁市",
    "济南市", "青岛市", "莱芜市", "太原市", "哈尔滨市", "长春市", "福州市", "南昌市", "乌鲁木齐市",
    "延边朝鲜族自治州",
]
SMALL_SECTORS = ["01", "06", "14", "25", "32", "34"]  # labor, labor, capital, capital, tech, none
SMALL_COUNTY_PROVINCES = ["330000", "410000"]  # 浙江, 河南
SMALL_COUNTIES_PER_PROVINCE = 40


@dataclass(frozen=True)
class Scale:
    name: str
    city_ids: tuple[str, ...]        # every city the yearbooks, EPS and Baidu files cover
    ceads_city_ids: tuple[str, ...]  # regions of the MRIO tables, in table order
    sector_codes: tuple[str, ...]    # MRIO sectors
    county_ids: tuple[str, ...]      # counties of the county yearbook and firm records
    firms_per_county: int            # average firms per county-year in the firm records
    city_years: tuple[int, ...] = field(                 # the dbt panel windows
        default_factory=lambda: reference.panel_years("city_panel"))
    county_years: tuple[int, ...] = field(
        default_factory=lambda: reference.panel_years("county_panel"))
    mrio_years: tuple[int, ...] = field(                 # the years S003's periods run between
        default_factory=reference.s003_table_years)
    baidu_years: tuple[int, ...] = field(                # every year of S003's periods
        default_factory=lambda: tuple(range(min(reference.s003_table_years()),
                                            max(reference.s003_table_years()) + 1)))


def get_scale(name: str) -> Scale:
    cities = reference.cities()
    counties = reference.counties()
    sectors = tuple(reference.sectors()["sector_code"])
    if name == "full":
        city_ids = tuple(cities["city_id"])
        ceads = tuple(cities.loc[cities["in_ceads"] == 1, "city_id"])
        county_ids = tuple(counties["county_id"])
        return Scale("full", city_ids, ceads, sectors, county_ids, firms_per_county=70)
    if name == "small":
        by_name = dict(zip(cities["city_name"], cities["city_id"]))
        city_ids = tuple(by_name[n] for n in SMALL_CITY_NAMES)
        ceads = tuple(c for c in city_ids
                      if cities.set_index("city_id").loc[c, "in_ceads"] == 1)
        picked = []
        for prov in SMALL_COUNTY_PROVINCES:
            ids = counties.loc[counties["province_id"] == prov, "county_id"]
            picked.extend(ids.iloc[:SMALL_COUNTIES_PER_PROVINCE])
        return Scale("small", city_ids, ceads, SMALL_SECTORS, tuple(picked), firms_per_county=25)
    raise ValueError(f"unknown scale {name!r}: expected 'full' or 'small'")
