"""Helpers for the study tests: one coefficient row or statistic of a study's stored results,
its Rambachan-Roth sets, and every asset upstream of a study asset in the lineage graph."""
from __future__ import annotations

import dagster as dg
import pandas as pd

from models_py.estimate.estimators.event_study import RESTRICTIONS


def coef(rows: pd.DataFrame, table: str, column: int, term: str) -> pd.Series:
    """The coefficient row of ``term`` in ``column`` of ``table`` (exactly one)."""
    r = rows[(rows["table"] == table) & (rows["column"] == column) & (rows["term"] == term)]
    assert len(r) == 1, (table, column, term, len(r))
    return r.iloc[0]


def stat(stats: pd.DataFrame, table: str, column: int, name: str) -> float:
    """The statistic ``name`` of ``column`` of ``table`` (exactly one)."""
    r = stats[(stats["table"] == table) & (stats["column"] == column)
              & (stats["statistic"] == name)]
    assert len(r) == 1, (table, column, name)
    return float(r["value"].iloc[0])


def covers(r: pd.Series, target: float, where: str) -> None:
    """The 95% CI of a coefficient row holds ``target``."""
    assert r["ci_low"] < target < r["ci_high"], \
        f"{where}: planted {target:.6g} outside [{r['ci_low']:.6g}, {r['ci_high']:.6g}]"


def widening_rm_sets(sensitivity: pd.DataFrame, column: int, values: list[float]
                     ) -> pd.DataFrame:
    """The relative-magnitude sets of ``column`` of a sensitivity frame, by Mbar: at
    ``values``, each wider than the one before."""
    sets = sensitivity[(sensitivity["column"] == column)
                       & (sensitivity["restriction"] == RESTRICTIONS["rm"])].sort_values("value")
    assert list(sets["value"]) == values, (column, list(sets["value"]))
    assert (sets["upper"] - sets["lower"]).is_monotonic_increasing, column
    return sets


def upstream(key: list[str]) -> set[dg.AssetKey]:
    """Every asset upstream of ``key`` in the project's definitions."""
    from dagster_project.definitions import defs

    graph = defs.resolve_asset_graph()
    seen, todo = set(), list(graph.get(dg.AssetKey(key)).parent_keys)
    while todo:
        k = todo.pop()
        if k not in seen:
            seen.add(k)
            todo.extend(graph.get(k).parent_keys)
    return seen
