"""Resolve place names in raw files to stable ids through the roster and the name crosswalk.

A city is known by its full name (石家庄市), its short form (石家庄) and its historical names
(襄樊市 and 襄樊 for 襄阳市, 毕节地区 for 毕节市, ...). A name that matches nothing, or a city
that was not a prefecture-level unit in the data year (巢湖市 after 2010, 莱芜市 after 2018), is
an error naming the file, the row and the name; nothing is dropped silently.
"""
from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from models_py import reference
from models_py.ingest.errors import IngestError

PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


def clean(name: object) -> str:
    return "" if name is None else str(name).strip().replace(" ", "").replace("\u3000", "")


class CityResolver:
    def __init__(self) -> None:
        cities = reference.cities()
        self.roster = cities.set_index("city_id")
        self.by_name: dict[str, str] = {}
        for cid, full, short in zip(cities["city_id"], cities["city_name"], cities["short_name"]):
            self.by_name[full] = cid
            self.by_name.setdefault(short, cid)
        history = reference.table("ref_city_name_history")
        for old, cid in zip(history["historical_name"], history["city_id"]):
            self.by_name.setdefault(old, cid)
            for suffix in ("市", "地区"):
                if old.endswith(suffix):
                    self.by_name.setdefault(old[: -len(suffix)], cid)

    def resolve(self, name: object, year: int | None, where) -> str:
        """City id of ``name`` in ``year``; ``where(message, value)`` builds the error."""
        key = clean(name)
        cid = self.by_name.get(key)
        if cid is None:
            raise where("city name not found in the roster or the historical-name crosswalk", name)
        if year is not None:
            row = self.roster.loc[cid]
            if not row["valid_from"] <= year <= row["valid_to"]:
                raise where(f"{row['city_name']} ({cid}) is not a prefecture-level city in {year} "
                            f"(valid {row['valid_from']}-{row['valid_to']})", name)
        return cid


class ProvinceResolver:
    def __init__(self) -> None:
        cities = reference.cities()
        self.by_name: dict[str, str] = {}
        for pid, full in set(zip(cities["province_id"], cities["province_name"])):
            self.by_name[full] = pid
            for suffix in PROVINCE_SUFFIXES:
                if full.endswith(suffix) and len(full) > len(suffix) + 1:
                    self.by_name.setdefault(full[: -len(suffix)], pid)
                    break

    def get(self, name: object) -> str | None:
        return self.by_name.get(clean(name))


class CountyResolver:
    """Counties resolve by 行政区划代码 when the file has it (names repeat across provinces),
    else by a name that is unique in the roster."""

    def __init__(self) -> None:
        counties = reference.counties()
        self.ids = set(counties["county_id"])
        groups = counties.groupby("county_name")["county_id"].apply(list)
        self.by_name = groups.to_dict()

    def resolve(self, name: object, code: object, where) -> str:
        code_text = clean(code)
        if code_text:
            if code_text not in self.ids:
                raise where("行政区划代码 not in the county roster", code)
            return code_text
        matches = self.by_name.get(clean(name), [])
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise where("county name not found in the county roster", name)
        raise where(f"county name is ambiguous ({', '.join(matches)}); give 行政区划代码", name)


@cache
def cities() -> CityResolver:
    return CityResolver()


@cache
def provinces() -> ProvinceResolver:
    return ProvinceResolver()


@cache
def counties() -> CountyResolver:
    return CountyResolver()


def resolve_cells(cells: pd.Series, resolve, *, file, column: str,
                  rows: pd.Series | np.ndarray, sheet: str | None = None) -> np.ndarray:
    """Ids of a column of names, resolving each distinct name once (vectorised for files that
    repeat names many times). ``resolve(name, where)`` returns an id or raises
    ``where(message, value)``; the error names the first row where that name stands."""
    text = cells.fillna("").astype(str)
    codes, distinct = pd.factorize(text)
    _, first = np.unique(codes, return_index=True)
    rows = np.asarray(rows)
    ids = []
    for name, at in zip(distinct, first):
        def where(message, value, row=int(rows[at])):
            return IngestError(file, message, sheet=sheet, row=row, column=column, value=value)
        ids.append(resolve(name, where))
    return np.asarray(ids, dtype=object)[codes] if ids else np.array([], dtype=object)
