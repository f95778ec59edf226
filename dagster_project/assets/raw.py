"""One asset per raw source: validate the landing files and load them into ``raw.*``."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.resources import WAREHOUSE_POOL, RawFolder
from models_py import ingest


def landing_spec(source: str) -> dg.AssetSpec:
    folder = ingest.SOURCES[source][0]
    return dg.AssetSpec(
        key=dg.AssetKey(["landing", source]), group_name="landing", kinds={"file"},
        description=f"Raw {source} files under <raw folder>/{folder}/, as delivered. "
                    "Read-only inputs; not materialized by the pipeline.")


def raw_asset(source: str) -> dg.AssetsDefinition:
    @dg.asset(key=dg.AssetKey(["raw", source]), deps=[landing_spec(source).key],
              group_name="raw", pool=WAREHOUSE_POOL, kinds={"python", "duckdb"},
              description=f"Validated tidy rows of the {source} files, one table per block, "
                          "each row carrying the file and row it came from.")
    def _load(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
              raw_folder: RawFolder) -> dg.MaterializeResult:
        raw_dir = raw_folder.dir()
        result = ingest.load(source, raw_dir)  # raises IngestError before any write
        with duckdb.get_connection() as con:
            ingest.write(con, result, raw_dir)
        context.log.info(f"{source}: {result.row_counts()} from {len(result.files)} files")
        return dg.MaterializeResult(metadata={
            "files": len(result.files),
            **{f"rows_{name}": dg.MetadataValue.int(n) for name, n in result.row_counts().items()},
            "report": dg.MetadataValue.json(_jsonable(result.report)),
        })
    return _load


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


landing_specs = [landing_spec(s) for s in ingest.SOURCES]
raw_assets = [raw_asset(s) for s in ingest.SOURCES]
