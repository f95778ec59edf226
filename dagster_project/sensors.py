"""The raw-file sensor: a new or changed file in the landing folder starts a run that reloads
its source (only the file's year, when one year of a yearly source changed) and rebuilds only
what depends on it.

Each evaluation compares the landing folder's files, by sha256, with ``raw._load_log`` in the
analysts' copy (``warehouse_read.duckdb``): the copy holds the last finished refresh and no
refresh ever locks it, so the sensor never stands in a refresh's way, and a refresh that failed
leaves its files still counted as changed. The run key is derived from the changed files and
their checksums, so one change starts one run, however often the sensor sees it; a file
changed again is a new change. Checksums are remembered in the sensor's cursor by file size and
modification time, so an unchanged folder is not re-read.

The sensor is off until an operator turns it on (UI: Automation, or
``dagster sensor start raw_files_changed``) and needs the Dagster daemon (``make ui`` runs one).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg

from dagster_project.jobs import source_selection
from dagster_project.resources import RawFolder, Warehouse
from models_py import warehouse
from models_py.ingest.changes import Checksums, changed_files, loaded_checksums, refresh_plan

SENSOR_NAME = "raw_files_changed"


def loaded_files(warehouse_file: Path) -> dict[tuple[str, str], str]:
    """(source, file) -> checksum as last loaded, from the analysts' copy of ``warehouse_file``
    (nothing, when no refresh has finished yet)."""
    copy = warehouse.snapshot_path(warehouse_file)
    if not copy.exists():
        return {}
    with warehouse.connect(copy, read_only=True) as con:
        return loaded_checksums(con)


def run_request(changes, asset_graph, leave_out: dg.AssetSelection) -> dg.RunRequest:
    """One run for ``changes``: each changed source's loader (with ``year`` where one year of
    a yearly source changed) and everything downstream of its raw tables, with their checks
    but ``leave_out`` (the freshness checks, which their own sensor evaluates), as the refresh
    jobs. ``asset_graph`` is the definitions'."""
    plan = refresh_plan(changes)
    selection = dg.AssetSelection.assets()
    for source in plan:
        selection = selection | source_selection(source)
    selection = selection - leave_out
    keys = sorted(selection.resolve(asset_graph), key=lambda k: k.to_user_string())
    checks = sorted(selection.resolve_checks(asset_graph), key=lambda k: k.to_user_string())
    config = {f"load_{source}": {"config": {"year": year}}
              for source, year in plan.items() if year is not None}
    run_key = hashlib.sha256("\n".join(
        f"{c.source}\t{c.file}\t{c.sha256}" for c in changes).encode()).hexdigest()[:32]
    scope = ", ".join(s if y is None else f"{s} {y}" for s, y in plan.items())
    return dg.RunRequest(run_key=run_key, asset_selection=keys, asset_check_keys=checks,
                         run_config={"ops": config} if config else {},
                         tags={"refresh/sources": scope,
                               "refresh/files": str(len(changes))})


def raw_files_sensor(leave_out: dg.AssetSelection) -> dg.SensorDefinition:
    """The sensor over the landing folder; its runs leave out the checks ``leave_out``."""

    @dg.sensor(name=SENSOR_NAME, minimum_interval_seconds=60,
               target=dg.AssetSelection.all(),
               default_status=dg.DefaultSensorStatus.STOPPED,
               description="Reloads a source when a file of it in the landing folder is new or "
                           "changed (by sha256 against raw._load_log), and rebuilds only what "
                           "depends on it.")
    def raw_files_changed(context: dg.SensorEvaluationContext, raw_folder: RawFolder,
                          duckdb: Warehouse):
        checksums = Checksums.from_json(context.cursor)
        try:
            loaded = loaded_files(Path(duckdb.database))
        except warehouse.WarehouseLockedError as exc:   # a copy being replaced; next tick
            return dg.SkipReason(str(exc))
        changes = changed_files(raw_folder.dir(), loaded, checksums)
        context.update_cursor(checksums.to_json())
        if not changes:
            return dg.SkipReason("no new or changed raw file")
        context.log.info("new or changed: " + ", ".join(
            f"{c.file} ({'new' if c.new else 'changed'})" for c in changes))
        return run_request(changes, context.repository_def.asset_graph, leave_out)

    return raw_files_changed
