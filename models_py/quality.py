"""Data-quality suites for the marts, run with Great Expectations.

A suite is a YAML file in ``expectations/`` (one per mart):

    mart: city_year              # table in the marts schema
    key: [city_id, year]         # unique and not null
    no_future_years: year        # column whose values may not pass the current year
    complete_pairs: {i: city_i, j: city_j, per: [period]}  # every ordered pair i != j, per group
    expectations:                # any GX expectation, by its snake_case name, with its kwargs
      - expect_column_values_to_be_between: {column: urbanization_rate, min_value: 0, max_value: 1}

Marts are validated as pandas frames: GX's SQL data source does not work reliably over DuckDB.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

SUITES_DIR = Path(__file__).resolve().parents[1] / "expectations"


@dataclass
class Outcome:
    suite: str
    success: bool
    failures: list[dict]      # one per failed expectation: type, column(s), unexpected count/sample
    evaluated: int


def suite_files() -> list[Path]:
    return sorted(SUITES_DIR.glob("*.yml"))


def read_suite(path: Path) -> dict:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "mart" not in spec:
        raise ValueError(f"{path}: a suite names its mart (`mart: <table>`)")
    return spec


def expectation_configs(spec: dict, frame: pd.DataFrame) -> list[tuple[str, dict]]:
    """(snake_case expectation type, kwargs) for every expectation the suite implies."""
    out: list[tuple[str, dict]] = []
    key = spec.get("key") or []
    if key:
        out.append(("expect_compound_columns_to_be_unique", {"column_list": key}))
        out.extend(("expect_column_values_to_not_be_null", {"column": c}) for c in key)
    if spec.get("no_future_years"):
        out.append(("expect_column_max_to_be_between",
                    {"column": spec["no_future_years"], "max_value": dt.date.today().year}))
    pairs = spec.get("complete_pairs")
    if pairs:
        out.append(("expect_table_row_count_to_equal",
                    {"value": complete_pair_count(frame, pairs["i"], pairs["j"],
                                                  pairs.get("per", []))}))
    for item in spec.get("expectations", []):
        (name, kwargs), = item.items()
        out.append((name, kwargs or {}))
    return out


def complete_pair_count(frame: pd.DataFrame, i: str, j: str, per: list[str]) -> int:
    """Rows a complete ordered-pair panel has: n(n-1) pairs of its n cities in each group."""
    cities = pd.unique(pd.concat([frame[i], frame[j]]))
    groups = len(frame[per].drop_duplicates()) if per else 1
    return len(cities) * (len(cities) - 1) * groups


def validate(spec: dict, frame: pd.DataFrame) -> Outcome:
    """Validate ``frame`` against the suite with an ephemeral GX context.

    An empty mart (the sources it is built from are absent) passes with nothing evaluated:
    there is no row to check, and aggregate expectations (a column's maximum, its set of
    distinct values) have no value to compare.
    """
    if frame.empty:
        return Outcome(spec["mart"], True, [], 0)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_def = (context.data_sources.add_pandas("marts")
                 .add_dataframe_asset(spec["mart"])
                 .add_batch_definition_whole_dataframe("all"))
    suite = gx.ExpectationSuite(name=spec["mart"])
    for name, kwargs in expectation_configs(spec, frame):
        cls = getattr(gxe, "".join(part.title() for part in name.split("_")))
        suite.add_expectation(cls(**kwargs))
    suite = context.suites.add(suite)
    result = batch_def.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    failures = []
    for r in result.results:
        if not r.success:
            cfg = r.expectation_config
            failures.append({
                "expectation": cfg.type,
                "kwargs": {k: v for k, v in cfg.kwargs.items() if k != "batch_id"},
                "observed": r.result.get("observed_value"),
                "unexpected_count": r.result.get("unexpected_count"),
                "sample": r.result.get("partial_unexpected_list", [])[:5],
            })
    return Outcome(spec["mart"], bool(result.success), failures, len(result.results))
