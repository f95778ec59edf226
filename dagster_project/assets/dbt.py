"""The dbt project as Dagster assets: seeds (reference tables), staging models and marts.

dbt tests become asset checks of the models they test. Models keep their dbt names; sources
carry ``meta.dagster.asset_key`` so the raw loaders appear upstream in the lineage graph. Once
dbt has finished, the row counts of the tables it built and the failing rows of failed
integrity tests are reported too (``dagster_project.dbt_report``).
"""

import json
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_duckdb import DuckDBResource

from dagster_project import dbt_report
from dagster_project.resources import WAREHOUSE_POOL, dbt_project

MANIFEST = json.loads(Path(dbt_project.manifest_path).read_text(encoding="utf-8"))


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, pool=WAREHOUSE_POOL)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource):
    # dbt writes the file the duckdb resource names (profiles.yml reads var warehouse_path)
    target = json.dumps({"warehouse_path": duckdb.database})
    yield from dbt_report.report(dbt.cli(["build", "--vars", target], context=context).stream(),
                                 context, duckdb, MANIFEST)
