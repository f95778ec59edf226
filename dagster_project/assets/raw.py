"""One asset per raw source: validate the landing files and load them into ``raw.*``.

The loader of a yearly source (``ingest.SOURCES[...].yearly``) takes the run config ``year``:
set, the run reads only that year's file and replaces only that year's rows
(``make refresh SOURCE=city_yearbook YEAR=2015``); unset, it loads every year.

A source whose files the landing folder does not hold still materializes: its tables are
emptied, the run log says once that it is absent, and its metadata says ``status: absent`` with
``absent: no files: <what was looked for>``.
"""

import time

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from dagster_project.resources import WAREHOUSE_POOL, RawFolder
from models_py import ingest


def landing_spec(source: str) -> dg.AssetSpec:
    folder = ingest.SOURCES[source].folder
    return dg.AssetSpec(
        key=dg.AssetKey(["landing", source]), group_name="landing", kinds={"file"},
        description=f"Raw {source} files under <raw folder>/{folder}/, as delivered. "
                    "Read-only inputs; not materialized by the pipeline.")


def raw_table_key(table: str) -> dg.AssetKey:
    """Key of a raw table: dbt's source raw.<table> maps to the same key by default."""
    return dg.AssetKey(["raw", table])


class YearConfig(dg.Config):
    """Run config of a yearly source's loader."""
    year: int | None = Field(default=None, description="Load only this year's file and replace "
                             "only this year's rows; empty loads every year.")


def raw_asset(source: str) -> dg.AssetsDefinition:
    """The loader of one source: one asset per raw table it replaces, all in one transaction."""
    if ingest.SOURCES[source].yearly:
        def load(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                 raw_folder: RawFolder, config: YearConfig):
            yield from _materialize(context, source, duckdb, raw_folder, config.year)
    else:
        def load(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                 raw_folder: RawFolder):
            yield from _materialize(context, source, duckdb, raw_folder, None)
    tables = ingest.SOURCES[source].tables
    specs = [dg.AssetSpec(raw_table_key(t), deps=[landing_spec(source).key], group_name="raw",
                          kinds={"python", "duckdb"},
                          description=f"raw.{t}: validated tidy rows of the {source} files, each "
                                      "carrying the file and row it came from.")
             for t in tables]

    return dg.multi_asset(name=f"load_{source}", specs=specs, pool=WAREHOUSE_POOL)(load)


def _materialize(context: dg.AssetExecutionContext, source: str, duckdb: DuckDBResource,
                 raw_folder: RawFolder, year: int | None):
    """Load ``source`` (every year, or only ``year``) and report each of its tables."""
    start = time.perf_counter()
    raw_dir = raw_folder.dir()
    result = ingest.load(source, raw_dir, year)  # raises IngestError before any write
    with duckdb.get_connection() as con:
        held = ingest.write(con, result, raw_dir, year)
    seconds = round(time.perf_counter() - start, 3)
    counts = result.row_counts()
    scope = "" if year is None else f" (year {year} only; other years kept)"
    if result.absent:
        context.log.warning(f"{source}: absent, no files ({result.absent}); its raw tables "
                            "are now empty")
    else:
        context.log.info(f"{source}{scope}: {counts} from {len(result.files)} files in "
                         f"{seconds} s")
    for table in ingest.SOURCES[source].tables:
        # rows and files: what the table holds now, as raw._source_status counts them
        metadata = {"status": result.status, "rows": dg.MetadataValue.int(held.rows[table]),
                    "files": held.files, "seconds": dg.MetadataValue.float(seconds),
                    "report": dg.MetadataValue.json(_jsonable(result.report))}
        if year is not None:   # and what this load read: the year's file and rows
            metadata.update(year=dg.MetadataValue.int(year),
                            year_rows=dg.MetadataValue.int(counts[table]),
                            year_files=len(result.files))
        if result.absent:
            metadata["absent"] = f"no files: {result.absent}"
        yield dg.MaterializeResult(asset_key=raw_table_key(table), metadata=metadata)


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
