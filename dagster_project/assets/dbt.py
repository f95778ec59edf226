"""The dbt project as Dagster assets: seeds (reference tables), staging models and marts.

Each asset sits in the group of its dbt layer (``reference`` for the seeds, ``staging``,
``intermediate``, ``marts``: the model's folder under ``dbt/models``), so the lineage UI shows
the layers between the raw loaders and the studies.

dbt tests become asset checks of the models they test. Models keep their dbt names; sources
carry ``meta.dagster.asset_key`` so the raw loaders appear upstream in the lineage graph. Once
dbt has finished, the row counts of the tables it built and the failing rows of failed
integrity tests are reported too (``dagster_project.dbt_report``).
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from dagster_duckdb import DuckDBResource

from dagster_project import dbt_report
from dagster_project.resources import WAREHOUSE_POOL, dbt_project
from models_py import dbt_attach

MANIFEST = json.loads(Path(dbt_project.manifest_path).read_text(encoding="utf-8"))
MODEL_LAYERS = ("staging", "intermediate", "marts")   # the folders of dbt/models
SEED_GROUP = "reference"


class LayerGroups(DagsterDbtTranslator):
    """Puts each dbt asset in the group of its layer: seeds in ``reference``, a model in the
    group named after its folder (``staging``, ``intermediate``, ``marts``)."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return SEED_GROUP
        if dbt_resource_props["resource_type"] != "model":
            return super().get_group_name(dbt_resource_props)
        folder = dbt_resource_props["fqn"][1]
        if folder not in MODEL_LAYERS:
            raise ValueError(f"dbt model {dbt_resource_props['name']} is not in a layer folder "
                             f"of dbt/models ({', '.join(MODEL_LAYERS)}): {folder}")
        return folder


def target_dir(warehouse_file: str) -> Path:
    """dbt's target folder for the builds of one warehouse file, beside it (``warehouse.dbt``
    for ``warehouse.duckdb``): it names the file dbt writes, and each build overwrites the last
    one's artifacts and reuses the parse it saved there (``models_py.dbt_attach``)."""
    return Path(warehouse_file).with_suffix(".dbt")


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, pool=WAREHOUSE_POOL,
            dagster_dbt_translator=LayerGroups())
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource):
    # dbt writes the file the duckdb resource names
    target = target_dir(duckdb.database)
    dbt_attach.prepare_target(target, Path(duckdb.database),
                              Path(dbt_project.manifest_path).parent)
    build = dbt.cli(["build"], context=context, target_path=target)
    yield from dbt_report.report(build.stream(), context, duckdb, MANIFEST)
