"""What a dbt build reports once dbt has released the warehouse.

dbt holds the DuckDB file for the whole ``dbt build``, so nothing can read the warehouse while
its events stream. :func:`report` passes the events on as they come (each model's
materialization with its ``Execution Duration``, each test's check result) and, when dbt has
finished, reads what they could not carry:

- the rows of every table the build created, as an observation of its asset
  (``dagster/row_count``; views are not counted, since counting runs their query);
- the failing rows of every failed integrity test (which blocks everything downstream), a
  sample by the tested model's key, logged at error level, also when the failure ends the
  build (the ``dbt_plausibility`` checks name the rows of plausibility tests).

It also drops the failing-rows views of tests the project no longer has
(``quality.drop_stale_failure_views``), so that the warehouse and its copies show only the
current tests' views.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import dagster as dg
from dagster_duckdb import DuckDBResource

from models_py import quality


def report(events: Iterable, context: dg.AssetExecutionContext, duckdb: DuckDBResource,
           manifest: dict) -> Iterator:
    """Yield ``events`` (a dbt CLI event stream), then an observation with the row count of each
    table built; log the failing rows of failed integrity tests, also when the stream raises."""
    built: dict[str, dg.AssetKey] = {}    # model or seed unique_id -> asset key
    failed: list[str] = []                # unique_ids of failed integrity tests
    try:
        for event in events:
            unique_id = getattr(event, "metadata", {}).get("unique_id")
            unique_id = getattr(unique_id, "value", unique_id)
            if isinstance(event, dg.Output) and unique_id:
                built[unique_id] = context.asset_key_for_output(event.output_name)
            elif isinstance(event, (dg.AssetCheckResult, dg.AssetCheckEvaluation)) \
                    and not event.passed and unique_id and _blocking(manifest, unique_id):
                failed.append(unique_id)
            yield event
    except Exception:
        with contextlib.suppress(Exception):   # the build's own error is the one to raise
            with duckdb.get_connection() as con:
                _log_failing_rows(con, context, manifest, failed)
        raise
    with duckdb.get_connection() as con:
        _log_failing_rows(con, context, manifest, failed)
        counts = _row_counts(con, manifest, built)
        stale = quality.drop_stale_failure_views(con, manifest)
    if stale:
        context.log.info(f"dropped {len(stale)} views of tests the dbt project no longer has: "
                         f"{', '.join(stale[:5])}{', ...' if len(stale) > 5 else ''}")
    for unique_id, rows in counts.items():
        yield dg.AssetObservation(asset_key=built[unique_id],
                                  metadata={"dagster/row_count": dg.MetadataValue.int(rows)})


def _blocking(manifest: dict, test_id: str) -> bool:
    """An integrity test (severity error); plausibility tests warn, and the
    ``dbt_plausibility`` checks name their rows."""
    node = manifest["nodes"].get(test_id, {})
    return node.get("resource_type") == "test" and \
        node["config"].get("severity", "").lower() != "warn"


def _log_failing_rows(con, context, manifest: dict, tests: list[str]) -> None:
    for test_id in tests:
        found = quality.dbt_test_failures(con, manifest, test_id)
        if found["failing_rows"]:
            node = manifest["nodes"][test_id]
            context.log.error(
                f"{found['model']}: dbt test {found['test']} fails for {found['failing_rows']} "
                f"rows, e.g. {quality.describe_rows(found['rows'])} (all of them in "
                f"{node['schema']}.{node['alias']})")


def _row_counts(con, manifest: dict, built: dict[str, dg.AssetKey]) -> dict[str, int]:
    """Rows of each built model that is a table (schema and name from the manifest)."""
    tables = {(s, n) for s, n in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE'").fetchall()}
    counts = {}
    for unique_id in built:
        node = manifest["nodes"][unique_id]
        name = (node["schema"], node.get("alias") or node["name"])
        if name in tables:
            counts[unique_id] = con.execute(
                f'SELECT count(*) FROM "{name[0]}"."{name[1]}"').fetchone()[0]
    return counts
