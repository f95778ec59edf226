"""Dagster definitions: raw loaders, dbt models, the studies, the analysts' snapshot, and jobs.

``dagster dev -m dagster_project.definitions`` (or ``make ui``) opens the lineage UI.
"""
from __future__ import annotations

import dagster as dg

from dagster_project.assets.dbt import dbt_models
from dagster_project.assets.io import io_transfer
from dagster_project.assets.raw import landing_specs, raw_assets
from dagster_project.assets.snapshot import snapshot_asset
from dagster_project.assets.studies import all_study_assets
from dagster_project.checks import quality_checks
from dagster_project.jobs import generate_embedded_default, refresh_all
from dagster_project.resources import resources

_loaded = [*raw_assets, io_transfer, dbt_models, *all_study_assets()]
_upstream = [key for a in _loaded for key in a.keys]

defs = dg.Definitions(
    assets=[*landing_specs, *_loaded, snapshot_asset(_upstream)],
    asset_checks=quality_checks(),
    jobs=[generate_embedded_default, refresh_all],
    resources=resources(),
    # One process, one step at a time: DuckDB takes one writer, and every step here writes.
    executor=dg.in_process_executor,
)
