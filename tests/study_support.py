"""Helpers for the study tests: one coefficient row or statistic of a study's stored results,
its Rambachan-Roth sets, every asset upstream of a study asset in the lineage graph, and the
checks of the heterogeneity-robust event studies and the Goodman-Bacon table that S001 and
S002 share."""
from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

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


def bacon_equals_twfe(mart: pd.DataFrame, study, comparisons: pd.DataFrame) -> float:
    """Check a study's stored Goodman-Bacon decomposition: the 2x2 weights sum to one and the
    weighted sum is pyfixest's TWFE coefficient of the study's own treatment indicator on the
    decomposed panel (units observed in every period, none treated in the first). Returns it."""
    import pyfixest as pf

    from models_py.estimate import estimators

    spec = study.table_specs("bacon")[0]
    opt = spec.options
    data = estimators.sample_frame(mart, spec)
    first, periods = data[opt.time].min(), data[opt.time].nunique()
    complete = data.groupby(opt.unit)[opt.time].transform("nunique") == periods
    kept = data[complete & ~(data[opt.cohort] <= first)]
    twfe = pf.feols(f"{spec.outcome} ~ {opt.treatment} | {opt.unit} + {opt.time}", kept,
                    fixef_tol=1e-14).coef()[opt.treatment]
    assert comparisons["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    assert (comparisons["estimate"] * comparisons["weight"]).sum() == pytest.approx(twfe,
                                                                                    abs=1e-8)
    return float(twfe)


def robust_event_studies(rows: pd.DataFrame, stats: pd.DataFrame, target: float,
                         lags_positive: bool = True) -> None:
    """The Callaway–Sant'Anna (column 3) and Sun–Abraham (column 4) columns of a study's event
    study: the planted effect inside the 95% CI of Callaway–Sant'Anna's simple ATT (the same
    estimand as the imputation ATT: every treated unit-period weighted alike), the leads
    jointly insignificant (nothing was planted before adoption: each of the two pre-trend tests
    at 2.5%, so that together they fail at most 5% of the time) and, with ``lags_positive``
    (a planted effect large against its standard errors), every post-adoption effect of both
    positive."""
    att, se = stat(stats, "event_study", 3, "att"), stat(stats, "event_study", 3, "att_se")
    assert abs(att - target) < 1.96 * se, (att, se, target)
    for column in (3, 4):
        events = rows[(rows["table"] == "event_study") & (rows["column"] == column)]
        assert sorted(events["event_time"]) == [-4, -3, -2, 0, 1, 2, 3, 4, 5]
        lags = events[events["event_time"] >= 0]
        assert not lags_positive or (lags["estimate"] > 0).all(), lags[["event_time",
                                                                        "estimate"]]
        assert stat(stats, "event_study", column, "pretrend_p") > 0.05 / 2, column
    # the uniform band is wider than the pointwise one
    assert stat(stats, "event_study", 3, "uniform_critical_value") > 1.96
