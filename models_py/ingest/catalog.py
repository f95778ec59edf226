"""The variable catalog: source headers and units -> canonical variables and unit factors.

The catalog is ``dbt/seeds/ref_variable_catalog.csv`` (indicator, unit, variable, canonical_unit,
factor, convert_usd). Users add rows to teach the pipeline a new header or unit; no code changes.
A yearbook header reads ``<指标>(<单位>)`` with an optional scope suffix ``_全市`` (the default)
or ``_市辖区``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from models_py import reference

HEADER = re.compile(r"^(?P<indicator>[^()（）]+?)\s*[(（](?P<unit>[^()（）]*)[)）]"
                    r"(?:_(?P<scope>全市|市辖区))?$")


@dataclass(frozen=True)
class Mapping:
    variable: str
    canonical_unit: str
    factor: float
    convert_usd: bool


def parse_header(header: str) -> tuple[str, str, str] | None:
    """(indicator, unit, scope) of a yearbook header, or None if it is not of that form."""
    m = HEADER.match(header.strip())
    if not m:
        return None
    return m["indicator"].strip(), m["unit"].strip(), m["scope"] or "全市"


class Catalog:
    def __init__(self) -> None:
        t = reference.table("ref_variable_catalog")
        self.units: dict[str, set[str]] = {}
        self.map: dict[tuple[str, str], Mapping] = {}
        for r in t.itertuples():
            unit = "" if r.unit != r.unit else r.unit  # NaN for the blank unit of an index
            self.map[(r.indicator, unit)] = Mapping(r.variable, r.canonical_unit,
                                                    float(r.factor), bool(r.convert_usd))
            self.units.setdefault(r.indicator, set()).add(unit)

    def knows(self, indicator: str) -> bool:
        return indicator in self.units

    def lookup(self, indicator: str, unit: str) -> Mapping | None:
        """The mapping of a known indicator in ``unit``; None if the indicator is not in the
        catalog (the caller keeps and reports it). A known indicator in a unit the catalog has
        no factor for raises KeyError: a value in an unknown unit cannot be converted."""
        if indicator not in self.units:
            return None
        key = (indicator, unit.strip())
        if key not in self.map:
            raise KeyError(f"unit {unit!r} of {indicator} is not in the catalog "
                           f"(known: {', '.join(sorted(self.units[indicator]))})")
        return self.map[key]


@cache
def catalog() -> Catalog:
    return Catalog()
