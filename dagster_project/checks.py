"""Data-quality checks of the marts beyond the dbt tests (which dagster-dbt turns into checks of
their models by itself).

- Each Great Expectations suite in expectations/ becomes two checks of its mart: the integrity
  suite is blocking (a mart that fails it stops the run before any estimation reads it), the
  plausibility suite warns, naming the failing rows in the run log and the check's metadata.
- Each dbt model with plausibility tests (``plausible``, severity warn) gets a check that names
  the rows those tests found, read from the views dbt keeps in the test_failures schema.

Every check reports the rows it read or the tests it ran, and its wall time (``seconds``); a
failed check logs its failing rows (a sample, by the mart's key) at error level when it blocks.

models_py/quality.py says which test is which kind.
"""
import time

import dagster as dg
from dagster_dbt import get_asset_key_for_model
from dagster_duckdb import DuckDBResource

from dagster_project.assets.dbt import MANIFEST, dbt_models
from dagster_project.resources import WAREHOUSE_POOL
from models_py import quality


def suite_check(path, kind: str) -> dg.AssetChecksDefinition:
    spec = quality.read_suite(path)
    mart = spec["mart"]
    blocking = kind == "integrity"

    @dg.asset_check(asset=dg.AssetKey(["marts", mart]), name=f"gx_{mart}_{kind}",
                    blocking=blocking, pool=WAREHOUSE_POOL,
                    description=f"Great Expectations {kind} suite of expectations/{path.name}"
                                + (" (blocking)" if blocking else " (warns)"))
    def _check(context: dg.AssetCheckExecutionContext,
               duckdb: DuckDBResource) -> dg.AssetCheckResult:
        started = time.perf_counter()
        with duckdb.get_connection() as con:
            frame = con.execute(f'SELECT * FROM marts."{mart}"').df()
        outcome = quality.validate(spec, frame, kind)
        if not outcome.success:
            log = context.log.error if blocking else context.log.warning
            log(outcome.summary())
        return dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
            metadata={"rows": len(frame), "expectations": outcome.evaluated,
                      "failed": len(outcome.failures),
                      "failures": dg.MetadataValue.json(outcome.failures),
                      "seconds": round(time.perf_counter() - started, 2)})
    return _check


def dbt_plausibility_check(model: str, manifest: dict,
                           tests: list[str]) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=get_asset_key_for_model([dbt_models], model), name="dbt_plausibility",
                    blocking=False, pool=WAREHOUSE_POOL,
                    description=f"The rows that fail the {len(tests)} dbt plausibility tests of "
                                f"{model} (warns)")
    def _check(context: dg.AssetCheckExecutionContext,
               duckdb: DuckDBResource) -> dg.AssetCheckResult:
        started = time.perf_counter()
        with duckdb.get_connection() as con:
            reports = [quality.dbt_test_failures(con, manifest, t) for t in tests]
        failed = [r for r in reports if r["failing_rows"]]
        for r in failed:
            context.log.warning(f"{model}: {r['condition']} fails for {r['failing_rows']} rows, "
                                f"e.g. {quality.describe_rows(r['rows'])}")
        return dg.AssetCheckResult(
            passed=not failed, severity=dg.AssetCheckSeverity.WARN,
            metadata={"tests": len(tests), "failed": len(failed),
                      "failures": dg.MetadataValue.json(failed),
                      "seconds": round(time.perf_counter() - started, 2)})
    return _check


def quality_checks() -> list[dg.AssetChecksDefinition]:
    """The Great Expectations checks of every mart and the dbt plausibility checks."""
    checks = [suite_check(path, kind) for path in quality.suite_files() for kind in quality.KINDS]
    for model_id, tests in quality.plausibility_tests(MANIFEST).items():
        checks.append(dbt_plausibility_check(MANIFEST["nodes"][model_id]["name"], MANIFEST, tests))
    return checks
