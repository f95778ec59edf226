"""The analysts' copy of the warehouse, published after everything else a refresh writes."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.resources import WAREHOUSE_POOL
from models_py import snapshot


def snapshot_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(key="analyst_snapshot", deps=upstream, group_name="publish", pool=WAREHOUSE_POOL,
              kinds={"duckdb"},
              description="warehouse_read.duckdb beside the warehouse: a consistent copy that "
                          "analysts open read-only while the next refresh runs, replaced whole "
                          "and atomically. Publishing compacts the warehouse first when it "
                          "carries too much free space.")
    def _snapshot(context: dg.AssetExecutionContext,
                  duckdb: DuckDBResource) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            relations = con.execute("SELECT count(*) FROM information_schema.tables"
                                    ).fetchone()[0]
        context.log.info(f"publishing the analysts' copy of {duckdb.database} ({relations} "
                         "tables and views)")
        done = snapshot.publish(duckdb.database)
        context.log.info(f"published {done.path} ({done.bytes:,} bytes) in {done.seconds} s"
                         + (", after compacting the warehouse" if done.compacted else ""))
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(done.path)),
            "bytes": done.bytes,
            "warehouse_bytes": done.warehouse_bytes,
            "compacted": done.compacted,
            "free_share_before": done.free_share,
            "tables_and_views": relations,
            "seconds": done.seconds})
    return _snapshot

