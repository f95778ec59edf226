"""Blocking data-quality checks: each Great Expectations suite in expectations/ guards its mart.

A mart that fails its suite stops the run before any estimation reads it.
"""
import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.resources import WAREHOUSE_POOL
from models_py import quality


def suite_check(path) -> dg.AssetChecksDefinition:
    spec = quality.read_suite(path)
    mart = spec["mart"]

    @dg.asset_check(asset=dg.AssetKey(["marts", mart]), name=f"gx_{mart}", blocking=True,
                    pool=WAREHOUSE_POOL,
                    description=f"Great Expectations suite expectations/{path.name}")
    def _check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            frame = con.execute(f'SELECT * FROM marts."{mart}"').df()
        outcome = quality.validate(spec, frame)
        return dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows": len(frame), "expectations": outcome.evaluated,
                      "failed": len(outcome.failures),
                      "failures": dg.MetadataValue.json(outcome.failures)})
    return _check


def suite_checks() -> list[dg.AssetChecksDefinition]:
    return [suite_check(p) for p in quality.suite_files()]
