"""Rebuild the city and county rosters (dbt/seeds/ref_city.csv, ref_county.csv) from `cpca`.

The rosters are committed reference data; this script documents where they came from and
regenerates them: ``python -m models_py.reference.build_roster``.

City universe: the four municipalities and every prefecture-level unit of the 31 mainland
provinces in cpca's adcode table, plus 巢湖市 (a prefecture until 2011). Each city carries:
- ``valid_from``/``valid_to``: the years it exists as a prefecture-level unit under this id;
- ``in_s001``: the 283-city study sample (prefecture-level 市 with stable boundaries over
  2012-2023: no Tibetan cities, no units created, abolished or merged in the window);
- ``in_ceads``: the 309 cities of the CEADs 2012/2015/2017 city MRIO tables.
"""
from __future__ import annotations

import csv
import importlib.resources
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[2] / "dbt" / "seeds"

# National Bureau of Statistics three-region division by province code.
EAST = {"11", "12", "13", "21", "31", "32", "33", "35", "37", "44", "46"}
CENTRAL = {"14", "22", "23", "34", "36", "41", "42", "43"}
MUNICIPALITIES = {"11": "北京市", "12": "天津市", "31": "上海市", "50": "重庆市"}

# Prefecture-level changes inside 2012-2023 (id -> (valid_from, valid_to)).
VALIDITY = {
    "341400": (1999, 2010),  # 巢湖市 abolished 2011
    "460300": (2012, 9999),  # 三沙市 from 2012
    "460400": (2015, 9999),  # 儋州市 prefecture from 2015
    "371200": (1992, 2018),  # 莱芜市 merged into 济南市 2019
}
# Not in the 283-city sample: administrative changes in 2012-2023, or Tibetan / newly
# upgraded cities without yearbook coverage.
NOT_IN_S001 = {"460300", "460400", "371200", "630200", "520500", "520600", "650400", "650500",
               "540100", "540200", "540300", "540400", "540500",
               "621200"}  # 陇南市: its yearbook series are too incomplete for the panel
# Autonomous prefectures covered by the CEADs city MRIO besides the prefecture-level 市.
CEADS_PREFECTURES = {"222400", "422800", "433100", "513400", "532900", "532500", "532300",
                     "522600", "522700", "522300", "532600", "654000", "652300", "652800"}
# 三沙市 has no economy to tabulate; 儋州市 became a prefecture only in 2015, after the 2012 table.
CEADS_EXCLUDED_CITIES = {"460300", "460400"}


ETHNIC = ("蒙古", "藏族", "朝鲜族", "土家族", "苗族", "彝族", "布依族", "哈尼族", "壮族", "傣族",
          "白族", "景颇族", "傈僳族", "回族", "哈萨克", "柯尔克孜", "侗族", "羌族")


def _short(name: str) -> str:
    for suffix in ("市", "地区", "盟"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    if name.endswith("自治州"):
        # 延边朝鲜族自治州 -> 延边: the short form is the place name before the ethnic names.
        cut = min((name.find(e) for e in ETHNIC if e in name), default=len(name) - 3)
        return name[:cut]
    return name


def _region(province_code: str) -> str:
    if province_code in EAST:
        return "east"
    if province_code in CENTRAL:
        return "central"
    return "west"


def main() -> None:
    path = importlib.resources.files("cpca") / "resources" / "adcodes.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    mainland = [r for r in rows if r["adcode"][:2] not in {"71", "81", "82"}]
    provinces = {r["adcode"][:2]: r["name"] for r in mainland if r["adcode"][2:] == "0" * 10}
    by_code = {r["adcode"][:6]: r for r in mainland}

    cities = []
    for code, name in MUNICIPALITIES.items():
        r = by_code[code + "0000"]
        cities.append((code + "0000", name, r))
    for r in mainland:
        code = r["adcode"][:6]
        if code[4:] == "00" and code[2:4] != "00" and code[:2] not in MUNICIPALITIES:
            if r["name"] in {"市辖区", "县"} or "直辖县级" in r["name"]:
                continue
            cities.append((code, r["name"], r))
    chaohu = by_code["340181"]  # the county-level 巢湖市 sits where the prefecture seat was
    cities.append(("341400", "巢湖市", chaohu))

    with (SEEDS / "ref_city.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["city_id", "city_name", "short_name", "province_id", "province_name",
                    "region", "level", "longitude", "latitude", "valid_from", "valid_to",
                    "in_s001", "in_ceads"])
        for code, name, r in sorted(cities):
            prov = code[:2]
            level = "municipality" if prov in MUNICIPALITIES else (
                "prefecture_city" if name.endswith("市") else "prefecture_other")
            valid_from, valid_to = VALIDITY.get(code, (1949, 9999))
            is_city = name.endswith("市")
            in_s001 = is_city and code not in NOT_IN_S001 and code not in VALIDITY
            in_ceads = (is_city and code not in CEADS_EXCLUDED_CITIES and valid_to >= 2017
                        and code != "341400") or code in CEADS_PREFECTURES
            w.writerow([code, name, _short(name), prov + "0000", provinces[prov], _region(prov),
                        level, f"{float(r['longitude']):.6f}", f"{float(r['latitude']):.6f}",
                        valid_from, valid_to, int(in_s001), int(in_ceads)])

    city_ids = {c[0] for c in cities}
    with (SEEDS / "ref_county.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["county_id", "county_name", "city_id", "province_id", "region",
                    "longitude", "latitude"])
        for r in sorted(mainland, key=lambda r: r["adcode"]):
            code = r["adcode"][:6]
            if code[4:] == "00" or r["adcode"][6:] != "0" * 6:
                continue
            prov = code[:2]
            parent = prov + "0000" if prov in MUNICIPALITIES else code[:4] + "00"
            if parent not in city_ids:
                parent = ""  # counties administered directly by a province
            # Urban districts of municipalities and provincial capitals are not in the county
            # yearbook; every other county-level unit is.
            capital = parent and parent[2:4] == "01"
            if r["name"].endswith("区") and (prov in MUNICIPALITIES or capital):
                continue
            # A few county records carry no coordinates: they take their city's.
            located = r if r["longitude"] else by_code.get(parent, by_code[prov + "0000"])
            w.writerow([code, r["name"], parent, prov + "0000", _region(prov),
                        f"{float(located['longitude']):.6f}", f"{float(located['latitude']):.6f}"])


if __name__ == "__main__":
    main()
