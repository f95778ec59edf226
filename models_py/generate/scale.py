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
# ... and prefecture cities that become neither cross-border e-commerce pilots nor big data
# pilot zones, spread over the provinces. Nearly every city above is a cross-border pilot by
# 2020: without these, a handful of untreated pairs would carry S002's comparison, and dyadic
# errors over so few cities come out too small (a quarter, in the coverage bench). None lies in
# a province-wide big data zone (with four that did, S001's errors on its null variant came out
# a quarter smaller than the estimates' spread over seeds, generator side). They are not
# regions of the small MRIO tables (CEADs covers a list of its own) and have no high-speed
# rail (on a small map their stations would crowd the lines between S003's cities).
SMALL_COMPARISON_CITY_NAMES = [
    "曲靖市", "玉溪市", "四平市", "通化市", "自贡市", "乐山市", "石嘴山市", "淮南市", "阜阳市",
    "长治市", "晋中市", "桂林市", "玉林市", "益阳市", "丹东市", "滁州市", "齐齐哈尔市", "十堰市",
    "荆州市", "常德市", "白银市", "锦州市", "大庆市", "咸阳市",
]
SMALL_SECTORS = ["01", "06", "14", "25", "32", "34"]  # labor, labor, capital, capital, tech, none
# Counties: enough that some 28 counties grow each kind of S004 cluster after the first year (a
# fifth of the counties have a cluster, half of each kind, four in five of those start later).
# Errors clustered by county with only a few treated counties come out too small: with the 6 or
# so of each kind that 80 counties give, a quarter too small in the coverage bench.
SMALL_COUNTY_PROVINCES = ["330000", "410000", "510000"]  # 浙江, 河南, 四川
SMALL_COUNTIES_PER_PROVINCE = 130


@dataclass(frozen=True)
class Scale:
    name: str
    city_ids: tuple[str, ...]        # every city the yearbooks, EPS and Baidu files cover
    ceads_city_ids: tuple[str, ...]  # regions of the MRIO tables, in table order
    sector_codes: tuple[str, ...]    # MRIO sectors
    county_ids: tuple[str, ...]      # counties of the county yearbook and firm records
    firms_per_county: int            # average firms per county-year in the firm records
    hsr_city_ids: tuple[str, ...]    # cities the synthetic high-speed-rail lines run through
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
        return Scale("full", city_ids, ceads, sectors, county_ids, firms_per_county=70,
                     hsr_city_ids=city_ids)
    if name == "small":
        by_name = dict(zip(cities["city_name"], cities["city_id"]))
        main_ids = tuple(by_name[n] for n in SMALL_CITY_NAMES)
        city_ids = main_ids + tuple(by_name[n] for n in SMALL_COMPARISON_CITY_NAMES)
        ceads = tuple(c for c in main_ids
                      if cities.set_index("city_id").loc[c, "in_ceads"] == 1)
        picked = []
        for prov in SMALL_COUNTY_PROVINCES:
            ids = counties.loc[counties["province_id"] == prov, "county_id"]
            picked.extend(ids.iloc[:SMALL_COUNTIES_PER_PROVINCE])
        return Scale("small", city_ids, ceads, SMALL_SECTORS, tuple(picked), firms_per_county=25,
                     hsr_city_ids=main_ids)
    raise ValueError(f"unknown scale {name!r}: expected 'full' or 'small'")
