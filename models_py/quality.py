"""Data quality of the marts: Great Expectations suites in two kinds, and the rows a failed dbt
test found.

Every test is one of two kinds:

- *integrity*: keys, uniqueness, relationships, balanced panels, complete pair panels and the
  invariants the models guarantee when their inputs are sound. A failure is an error and blocks:
  no estimation runs on a mart that failed an integrity test.
- *plausibility*: ranges and shares of measured values. Real sources break them now and then
  (EPS sector employment and yearbook urban employment have different scopes, so a talent share
  above 1 happens), so a failure warns, names the offending rows in the run log and the check's
  metadata, and lets the run go on.

A suite is a YAML file in ``expectations/`` (one per mart):

    mart: city_year              # table in the marts schema
    key: [city_id, year]         # integrity: unique and not null; names the rows in reports
    no_future_years: year        # integrity: no value past the current year
    complete_pairs: {i: city_i, j: city_j, per: [period]}  # integrity: every ordered pair i != j
    integrity:                   # more integrity expectations over the whole mart: any GX
      - expect_column_values_to_be_unique: {column: pair_id}   # expectation by its name
    plausibility:                # warning expectations
      - expect_column_values_to_be_between: {column: talent_share, min_value: 0, max_value: 1}

Each check has one owner, so each bound is written once:

- dbt tests every model's columns as the model builds them (``dbt/models/**/_*.yml``): one
  ``integrity`` test per model (``dbt/macros/test_integrity.sql``) for its keys, not-null
  columns, accepted values, the year windows (dbt variables) and the bounds and invariants the
  model guarantees (an entropy index within [0, 1 + shift]), a failing row saying which rule it
  breaks; relationships to the reference seeds, weights summing to 1 and balanced panels have
  tests of their own. These are integrity tests.
- A suite owns its mart as the studies read it: the key (unique, not null), no year past this
  one, for a pair panel every ordered pair present, the values its study cannot do without
  (integrity), and the plausible ranges of its measured values (plausibility). dbt's ``plausible`` test serves the models without a
  suite (a weights mart's left-out indicators, the Baidu index of the pair model).

Marts are validated as pandas frames: GX's SQL data source does not work reliably over DuckDB.
dbt tests carry their kind in their severity (``plausible`` tests and the not-null test of the
pair mart's industrial transfer warn, every other test is an error); each keeps its failing
rows as a view in the ``test_failures`` schema, which :func:`dbt_test_failures` reads.
"""
from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from models_py import warehouse

SUITES_DIR = Path(__file__).resolve().parents[1] / "expectations"
KINDS = ("integrity", "plausibility")
SAMPLE_ROWS = 20  # failing rows kept per failed test or expectation
FAILURE = "failure"  # the column in which a failing row of an integrity test names its rule


@dataclass
class Outcome:
    suite: str                # "<mart> <kind>"
    kind: str                 # integrity or plausibility
    success: bool
    failures: list[dict]      # one per failed expectation: type, kwargs, observed, count, rows
    evaluated: int

    def summary(self) -> str:
        """One line per failed expectation, naming its first failing rows."""
        lines = []
        for f in self.failures:
            what = f"{f['expectation']} {f['kwargs']}"
            if f["rows"]:
                lines.append(f"{self.suite}: {what} fails for {f['unexpected_count']} rows, "
                             f"e.g. {describe_rows(f['rows'])}")
            else:
                lines.append(f"{self.suite}: {what} fails (observed {f['observed']})")
        return "\n".join(lines)


def suite_files() -> list[Path]:
    return sorted(SUITES_DIR.glob("*.yml"))


def read_suite(path: Path) -> dict:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "mart" not in spec:
        raise ValueError(f"{path}: a suite names its mart (`mart: <table>`)")
    unknown = set(spec) - {"mart", "key", "no_future_years", "complete_pairs", *KINDS}
    if unknown:
        raise ValueError(f"{path}: unknown suite keys {sorted(unknown)}; expectations go under "
                         "`integrity:` (blocking) or `plausibility:` (warning)")
    return spec


def expectation_configs(spec: dict, frame: pd.DataFrame, kind: str) -> list[tuple[str, dict]]:
    """(snake_case expectation type, kwargs) for every expectation of one kind of the suite."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of suite {kind!r}: expected one of {KINDS}")
    out: list[tuple[str, dict]] = []
    if kind == "integrity":
        key = spec.get("key") or []
        if len(key) > 1:
            out.append(("expect_compound_columns_to_be_unique", {"column_list": key}))
        elif key:
            out.append(("expect_column_values_to_be_unique", {"column": key[0]}))
        out.extend(("expect_column_values_to_not_be_null", {"column": c}) for c in key)
        if spec.get("no_future_years"):
            out.append(("expect_column_max_to_be_between",
                        {"column": spec["no_future_years"], "max_value": dt.date.today().year}))
        pairs = spec.get("complete_pairs")
        if pairs:
            out.append(("expect_table_row_count_to_equal",
                        {"value": complete_pair_count(frame, pairs["i"], pairs["j"],
                                                      pairs.get("per", []))}))
    for item in spec.get(kind) or []:
        (name, kwargs), = item.items()
        out.append((name, kwargs or {}))
    return out


def complete_pair_count(frame: pd.DataFrame, i: str, j: str, per: list[str]) -> int:
    """Rows a complete ordered-pair panel has: n(n-1) pairs of its n cities in each group."""
    cities = pd.unique(pd.concat([frame[i], frame[j]]))
    groups = len(frame[per].drop_duplicates()) if per else 1
    return len(cities) * (len(cities) - 1) * groups


def validate(spec: dict, frame: pd.DataFrame, kind: str) -> Outcome:
    """Validate ``frame`` against one kind of the suite with an ephemeral GX context; failing
    rows are sampled by the suite's key, the first ones in key order (whatever order the mart's
    rows were stored in).

    An empty mart (the sources it is built from are absent) passes with nothing evaluated:
    there is no row to check, and aggregate expectations (a column's maximum, its set of
    distinct values) have no value to compare.
    """
    name = f"{spec['mart']} {kind}"
    configs = expectation_configs(spec, frame, kind)
    if frame.empty or not configs:
        return Outcome(name, kind, True, [], 0)
    if spec.get("key"):
        frame = frame.sort_values(list(spec["key"]), ignore_index=True)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_def = (context.data_sources.add_pandas("marts")
                 .add_dataframe_asset(spec["mart"])
                 .add_batch_definition_whole_dataframe("all"))
    suite = gx.ExpectationSuite(name=name)
    for expectation, kwargs in configs:
        cls = getattr(gxe, "".join(part.title() for part in expectation.split("_")))
        suite.add_expectation(cls(**kwargs))
    suite = context.suites.add(suite)
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_ROWS,
                     "unexpected_index_column_names": list(spec.get("key") or [])}
    result = batch_def.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, result_format=result_format)
    failures = []
    for r in result.results:
        if not r.success:
            cfg = r.expectation_config
            failures.append({
                "expectation": cfg.type,
                "kwargs": _plain({k: v for k, v in cfg.kwargs.items() if k != "batch_id"}),
                "observed": _plain(r.result.get("observed_value")),
                "unexpected_count": _plain(r.result.get("unexpected_count")),
                "rows": _plain(r.result.get("partial_unexpected_index_list") or []),
            })
    return Outcome(name, kind, bool(result.success), failures, len(result.results))


def dbt_test_failures(con, manifest: dict, test_id: str, limit: int = SAMPLE_ROWS) -> dict:
    """The rows a failed dbt test found, read from the view in which the test keeps them.

    Returns the test's name, model, condition (for a ``plausible`` test), the number of failing
    rows and up to ``limit`` of them. A row shows the rule it breaks (``failure``, for an
    ``integrity`` test), the tested model's key (the first column set of its ``integrity``
    test's ``unique``) and the tested column when the failing
    rows carry them, else every column of the failing rows.
    """
    test = manifest["nodes"][test_id]
    model_id = test.get("attached_node") or next(iter(test["depends_on"]["nodes"]), None)
    condition = (test.get("test_metadata") or {}).get("kwargs", {}).get("condition")
    out = {"test": test["name"], "model": (manifest["nodes"].get(model_id) or {}).get("name"),
           "condition": condition, "failing_rows": None, "rows": []}
    # schema and name only: the database part of dbt's relation name is the file's name when
    # the project was parsed, which a copied warehouse does not keep
    exists = warehouse.has_table(con, test["schema"], test["alias"])
    if not test["config"].get("store_failures") or not exists:
        return out  # the test keeps no failing rows, or has not run on this warehouse
    relation = f'"{test["schema"]}"."{test["alias"]}"'
    columns = [d[0] for d in con.execute(f"SELECT * FROM {relation} LIMIT 0").description]
    shown = list(dict.fromkeys(c for c in [FAILURE, *_model_key(manifest, model_id),
                                           test.get("column_name")]
                               if c and c in columns))
    if len(shown) < 2:  # not the model's rows (e.g. a uniqueness test's counts): show them all
        shown = columns
    select = ", ".join(f'"{c}"' for c in shown)
    out["failing_rows"] = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    frame = con.execute(f"SELECT {select} FROM {relation} ORDER BY ALL LIMIT {int(limit)}").df()
    out["rows"] = _plain(frame.to_dict("records"))
    return out


def drop_stale_failure_views(con, manifest: dict) -> list[str]:
    """Drop the views of the test-failures schema that no test of the dbt project keeps (the
    views of tests since removed or renamed, which dbt leaves behind); returns their names."""
    kept = {(node["schema"], node["alias"]) for node in manifest["nodes"].values()
            if node.get("resource_type") == "test"}
    stale = [(schema, name) for schema in sorted({schema for schema, _ in kept})
             for name in warehouse.table_names(con, schema) if (schema, name) not in kept]
    for schema, name in stale:
        con.execute(f'DROP VIEW IF EXISTS "{schema}"."{name}"')
    return [f"{schema}.{name}" for schema, name in stale]


def plausibility_tests(manifest: dict) -> dict[str, list[str]]:
    """The dbt plausibility tests (severity warn) of each model: model id -> test ids."""
    out: dict[str, list[str]] = {}
    for test_id, node in sorted(manifest["nodes"].items()):
        if node.get("resource_type") == "test" and node.get("attached_node") \
                and node["config"].get("severity", "").lower() == "warn":
            out.setdefault(node["attached_node"], []).append(test_id)
    return out


def _model_key(manifest: dict, model_id: str | None) -> list[str]:
    """The columns of a model's key: its suite's ``key`` for a mart with a suite (the suite owns
    a mart's key), else the first column set its integrity test declares unique ([] if it
    declares none)."""
    suite = SUITES_DIR / f"{(manifest['nodes'].get(model_id) or {}).get('name')}.yml"
    if suite.is_file():
        return list(read_suite(suite).get("key") or [])
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        if node.get("attached_node") == model_id and meta.get("name") == "integrity" \
                and meta["kwargs"].get("unique"):
            return list(meta["kwargs"]["unique"][0])
    return []


def describe_rows(rows: list[dict], most: int = 5) -> str:
    """Rows as ``col=value, ...`` separated by semicolons, at most ``most`` of them."""
    text = "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in rows[:most])
    return text + (f"; ... ({len(rows)} shown in the metadata)" if len(rows) > most else "")


def _plain(value):
    """JSON-serialisable copy of a GX or DuckDB result value (numpy scalars, NaN, dates)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
