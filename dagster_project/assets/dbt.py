"""The dbt project as Dagster assets: seeds (reference tables), staging models and marts.

dbt tests become asset checks of the models they test. Models keep their dbt names; sources
carry ``meta.dagster.asset_key`` so the raw loaders appear upstream in the lineage graph.
"""

import json

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_duckdb import DuckDBResource

from dagster_project.resources import WAREHOUSE_POOL, dbt_project


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, pool=WAREHOUSE_POOL)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource):
    # dbt writes the file the duckdb resource names (profiles.yml reads var warehouse_path)
    target = json.dumps({"warehouse_path": duckdb.database})
    yield from dbt.cli(["build", "--vars", target], context=context).stream()
