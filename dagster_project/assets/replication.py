"""One replication package asset per study, ``replication/<study>``, in the study's asset
group, downstream of its tables, figures and collected coefficients, so the lineage UI shows
the package at the end of the study's graph.

The asset packages what the study's assets last wrote (the warehouse's relations and results,
the published files) with ``models_py.replication.build``, which also runs the package's
``reproduce.py`` and fails when an exhibit does not reproduce. It is built on demand (`make
replication STUDY=...`, or the UI), never by a refresh: the refresh jobs leave it out
(:data:`SELECTION`).
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.assets.studies import figure_key, table_key
from dagster_project.resources import (WAREHOUSE_POOL, PublishFolder, RawFolder,
                                       ReplicationFolder)
from models_py.estimate.specs import load_studies
from models_py.estimate.study import Study
from models_py.replication import build

PREFIX = "replication"
SELECTION = dg.AssetSelection.key_prefixes([PREFIX])


def replication_key(study: Study) -> dg.AssetKey:
    return dg.AssetKey([PREFIX, study.name.lower()])


def replication_asset(study: Study) -> dg.AssetsDefinition:
    deps = [*(table_key(study, t["table"]) for t in study.tables),
            *(figure_key(study, f["figure"]) for f in study.figures),
            table_key(study, "coefficients")]

    @dg.asset(key=replication_key(study), group_name=study.name.lower(), pool=WAREHOUSE_POOL,
              deps=deps, kinds={"python", "parquet"},
              description=f"{study.name}: the replication package (data, code, outputs, "
                          "README, reproduce.py) and its zip, checked by running reproduce.py.")
    def _replication(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                     publish_folder: PublishFolder, raw_folder: RawFolder,
                     replication_folder: ReplicationFolder) -> dg.MaterializeResult:
        with duckdb.get_connection() as con:
            package = build.build(con, study, publish_folder.path, replication_folder.dir(),
                                  raw_folder.dir())
        lines = package.reproduction.lines      # built with check: always measured
        context.log.info(f"{study.name}: package {package.folder} ({package.bytes:,} bytes), "
                         f"{package.zip} ({package.zip_bytes:,} bytes); reproduce.py took "
                         f"{package.reproduction.seconds} s: {lines[-1] if lines else ''}")
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(package.folder)),
            "zip": dg.MetadataValue.path(str(package.zip)),
            "bytes": package.bytes, "zip_bytes": package.zip_bytes, "files": len(package.files),
            "reproduce_seconds": package.reproduction.seconds,
            "reproduction": dg.MetadataValue.md("```\n" + "\n".join(lines) + "\n```"),
            "seconds": package.seconds})
    return _replication


def all_replication_assets() -> list[dg.AssetsDefinition]:
    """The replication package asset of every study file of the study folder."""
    return [replication_asset(study) for study in load_studies()]
