"""The analysts' copy of the warehouse, published after everything else a refresh writes; in
team mode also the team's DuckLake (``models_py.lake``)."""
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.resources import WAREHOUSE_POOL
from models_py import lake, snapshot


def snapshot_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(key="analyst_snapshot", deps=upstream, group_name="publish", pool=WAREHOUSE_POOL,
              kinds={"duckdb"},
              description="warehouse_read.duckdb beside the warehouse: a consistent copy that "
                          "analysts open read-only while the next refresh runs, replaced whole "
                          "and atomically. Publishing compacts the warehouse first when it "
                          "carries too much free space. In team mode (WAREHOUSE_LAKE_CATALOG "
                          "and WAREHOUSE_LAKE_DATA_PATH set) every table also goes into the "
                          "team's DuckLake, as one snapshot.")
    def _snapshot(context: dg.AssetExecutionContext,
                  duckdb: DuckDBResource) -> dg.MaterializeResult:
        team = lake.settings()
        with duckdb.get_connection() as con:
            relations = con.execute("SELECT count(*) FROM information_schema.tables"
                                    ).fetchone()[0]
        context.log.info(f"publishing the analysts' copy of {duckdb.database} ({relations} "
                         "tables and views)")
        done = snapshot.publish(duckdb.database)
        context.log.info(f"published {done.path} ({done.bytes:,} bytes) in {done.seconds} s"
                         + (", after compacting the warehouse" if done.compacted else ""))
        metadata = {
            "path": dg.MetadataValue.path(str(done.path)),
            "bytes": done.bytes,
            "warehouse_bytes": done.warehouse_bytes,
            "compacted": done.compacted,
            "free_share_before": done.free_share,
            "tables_and_views": relations,
            "seconds": done.seconds}
        if team is not None:
            metadata.update(_publish_to_lake(context, Path(duckdb.database), team))
        return dg.MaterializeResult(metadata=metadata)
    return _snapshot


def _publish_to_lake(context: dg.AssetExecutionContext, warehouse_file: Path,
                     team: lake.LakeSettings) -> dict:
    """Publish the warehouse into the team's DuckLake; the metadata saying what was done."""
    context.log.info(f"publishing into the team's DuckLake ({team.data_path})")
    done = lake.publish(warehouse_file, team, refresh=context.run_id)
    context.log.info(f"published {done.tables} tables as snapshot {done.snapshot} of the "
                     f"DuckLake in {done.seconds} s; {done.expired} older snapshot(s) expired")
    return {"lake_data_path": dg.MetadataValue.path(str(team.data_path)),
            "lake_snapshot": done.snapshot, "lake_tables": done.tables,
            "lake_tables_dropped": ", ".join(done.dropped), "lake_expired": done.expired,
            "lake_seconds": done.seconds}
