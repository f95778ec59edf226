"""Dagster definitions: raw loaders, dbt models, the studies and their replication packages,
the analysts' snapshot, jobs, the raw-file sensor, the nightly schedule, freshness checks, and
the publishing of the analysts' copy after a run whose only failures were study tables.

``make ui`` (or ``make serve``) opens the lineage UI on them (``dagster_project.services``).
"""
from __future__ import annotations

import dagster as dg

from dagster_project.assets.dbt import dbt_models
from dagster_project.assets.io import io_transfer
from dagster_project.assets.raw import landing_specs, raw_assets
from dagster_project.assets.replication import all_replication_assets
from dagster_project.assets.snapshot import snapshot_asset
from dagster_project.assets.studies import all_study_assets
from dagster_project.checks import quality_checks
from dagster_project.freshness import freshness_checks, freshness_sensor
from dagster_project.jobs import generate_embedded_default, refresh_jobs
from dagster_project.publish import publish_after_failed_studies, publish_results
from dagster_project.resources import resources
from dagster_project.schedules import refresh_all_nightly
from dagster_project.sensors import raw_files_sensor

_loaded = [*raw_assets, io_transfer, dbt_models, *all_study_assets()]
_upstream = [key for a in _loaded for key in a.keys]
_assets = [*_loaded, snapshot_asset(_upstream)]
_freshness = freshness_checks(_assets)
# The freshness checks run on their own (their sensor, the UI), never in a refresh.
LEFT_TO_THEIR_SENSOR = dg.AssetSelection.checks(*_freshness)

defs = dg.Definitions(
    assets=[*landing_specs, *_assets, *all_replication_assets()],
    asset_checks=[*quality_checks(), *_freshness],
    jobs=[generate_embedded_default, publish_results,
          *refresh_jobs(leave_out=LEFT_TO_THEIR_SENSOR)],
    schedules=[refresh_all_nightly],
    sensors=[raw_files_sensor(leave_out=LEFT_TO_THEIR_SENSOR), freshness_sensor(_freshness),
             publish_after_failed_studies],
    resources=resources(),
    # One process, one step at a time: DuckDB takes one writer, and every step here writes.
    executor=dg.in_process_executor,
)
