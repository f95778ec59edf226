"""Input-output industrial transfer between cities (Leontief model over the CEADs tables).

The run log shows each table year as it is read and solved; both assets report their row
counts and the step's wall time. A table year that fails its accounting identities fails the
blocking check, which names a sample of the failing rows (region, sector, gross output, the
output the solve gives it, the relative error) in its metadata and the run log."""
import time

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.assets.raw import raw_table_key
from dagster_project.resources import WAREHOUSE_POOL
from models_py import ingest, quality, warehouse
from models_py.io import pipeline

OUTPUT = dg.AssetKey(["io", "output_by_city"])
TRANSFER = dg.AssetKey(["io", "transfer"])
RAW_MRIO = [raw_table_key(t) for t in ingest.SOURCES[pipeline.SOURCE].tables]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(OUTPUT, deps=RAW_MRIO, group_name="io", kinds={"python", "duckdb"},
                     description="Output of each city driven by each city's final demand, in "
                                 "total and per factor-intensity class, per table year (万元)."),
        dg.AssetSpec(TRANSFER, deps=RAW_MRIO, group_name="io", kinds={"python", "duckdb"},
                     description="Industrial transfer from city i to j per period: the change "
                                 "in j's output driven by i's final demand, its signed log (IT) "
                                 "and direction, in total and per class."),
    ],
    check_specs=[dg.AssetCheckSpec("accounting_identities", asset=OUTPUT, blocking=True,
                                   description="Row balance, column sums of A below 1, output "
                                               "identity, no NaN or inf.")],
    pool=WAREHOUSE_POOL,
)
def io_transfer(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    started = time.perf_counter()
    with duckdb.get_connection() as con:
        run = pipeline.run(con, progress=context.log.info)
        nonfinite = {y: v["nonfinite"] for y, v in run.identities.items() if v["nonfinite"]}
        if nonfinite:  # never let NaN or inf reach the warehouse
            raise ValueError(f"non-finite output in table years {nonfinite}")
        context.log.info(f"writing io.output_by_city ({len(run.output_by_city):,} rows) and "
                         f"io.transfer ({len(run.transfer):,} rows)")
        warehouse.replace_tables(con, "io", {"output_by_city": run.output_by_city,
                                             "transfer": run.transfer})
    seconds = round(time.perf_counter() - started, 2)
    if run.seconds:
        context.log.info(f"solved table years {list(run.seconds)} in {run.seconds} s")
    else:
        context.log.info("no CEADs table in raw.ceads_* (the source is absent): the io tables "
                         "are empty")
    yield dg.MaterializeResult(asset_key=OUTPUT, metadata={
        "rows": len(run.output_by_city), "seconds": seconds,
        "seconds_per_year": dg.MetadataValue.json(run.seconds)})
    yield dg.MaterializeResult(asset_key=TRANSFER, metadata={
        "rows": len(run.transfer), "seconds": seconds,
        "share_outflow": float(run.transfer["it_direction"].mean()) if len(run.transfer) else 0.0,
        "preview": dg.MetadataValue.md(run.transfer.head(10).to_markdown(index=False))})
    for year, rows in run.failing_rows.items():
        context.log.error(f"table year {year}: {'; '.join(run.failed[year])}; output identity "
                          f"fails for {rows['count']} rows, e.g. "
                          f"{quality.describe_rows(rows['rows'])}")
    yield dg.AssetCheckResult(
        check_name="accounting_identities", asset_key=OUTPUT, passed=not run.failed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"identities": dg.MetadataValue.json({str(y): v for y, v in run.identities.items()}),
                  "failed": dg.MetadataValue.json({str(y): f for y, f in run.failed.items()}),
                  "failing_rows": dg.MetadataValue.json(
                      {str(y): r for y, r in run.failing_rows.items()}),
                  "tolerance": pipeline.IDENTITY_TOLERANCE})
