"""The analysts' read copy of the warehouse, replaced atomically after a refresh."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.resources import WAREHOUSE_POOL
from models_py import warehouse


def snapshot_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(key="analyst_snapshot", deps=upstream, group_name="publish", pool=WAREHOUSE_POOL,
              kinds={"duckdb"},
              description="warehouse_read.duckdb beside the warehouse: a consistent copy that "
                          "analysts open read-only while the next refresh runs.")
    def _snapshot(duckdb: DuckDBResource) -> dg.MaterializeResult:
        target = warehouse.publish_snapshot(duckdb.database)
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(target)),
                                              "bytes": target.stat().st_size})
    return _snapshot
