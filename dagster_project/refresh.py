"""The refresh command: everything, one source, one year of a yearly source, or what changed.

    python -m dagster_project.refresh                                   # refresh_all
    python -m dagster_project.refresh --source city_yearbook            # refresh_city_yearbook
    python -m dagster_project.refresh --source city_yearbook --year 2015
    python -m dagster_project.refresh --changed     # what the raw-file sensor would run, now

``make refresh [SOURCE=...] [YEAR=...] [CHANGED=1]`` runs it. The preflight comes first
(``dagster_project.preflight``), then the arguments are checked, then the job runs
(``dagster_project.launch``; a year goes in as the run config of the source's loader) or, for
``--changed``, the sensor's selection of assets does. All of it happens in this one process, so
the run is recorded in the Dagster instance like any other, its steps record this process's id
(which the next preflight reads), and it stops with the command. With ``--changed`` and nothing
new or changed in the landing folder, nothing runs.

When the run's only failures are study tables, the job ``publish_results`` runs next and
publishes the analysts' copy (``dagster_project.publish``). The command ends with a summary
per study (tables published, not estimable with the reasons, failed) from
``results._table_status``, and exits 0 when nothing failed, 1 naming what failed otherwise.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dagster_project.launch import Run
from models_py import ingest

# Marks the command's runs: it publishes after them itself (dagster_project.publish).
TAGS = {"refresh/publishes_itself": "make refresh"}


def command(source: str | None, year: int | None) -> Run:
    """The run of the refresh of everything, one source or one year of it."""
    if year is not None and source is None:
        raise SystemExit("YEAR needs SOURCE: which source's year to reload "
                         f"({', '.join(s for s, v in ingest.SOURCES.items() if v.yearly)})")
    if source is not None and source not in ingest.SOURCES:
        raise SystemExit(f"unknown source {source!r}; the sources are "
                         f"{', '.join(ingest.SOURCES)}")
    if year is not None and not ingest.SOURCES[source].yearly:
        raise SystemExit(f"{source} has no yearly files; reload it whole (no YEAR). The yearly "
                         f"sources are {', '.join(s for s, v in ingest.SOURCES.items() if v.yearly)}")
    job = "refresh_all" if source is None else f"refresh_{source}"
    config = {} if year is None else {"ops": {f"load_{source}": {"config": {"year": year}}}}
    return Run(job=job, run_config=config, tags=TAGS)


def changed_command(warehouse_file: Path, raw_dir: Path) -> Run | None:
    """The run the raw-file sensor would request for the landing folder's new and changed
    files (the checks of the refresh jobs: no freshness check); None when there are none."""
    from dagster_project.definitions import LEFT_TO_THEIR_SENSOR, defs   # loads the dbt manifest
    from dagster_project.sensors import loaded_files, run_request
    from models_py.ingest.changes import changed_files

    changes = changed_files(raw_dir, loaded_files(warehouse_file))
    if not changes:
        return None
    for change in changes:
        print(f"{'new' if change.new else 'changed'}: {change.file}", flush=True)
    request = run_request(changes, defs.resolve_asset_graph(), LEFT_TO_THEIR_SENSOR)
    return Run(assets=tuple(key.to_user_string() for key in request.asset_selection),
               checks=tuple(key.to_user_string() for key in request.asset_check_keys),
               run_config=request.run_config, tags=TAGS)


def main(args: list[str] | None = None) -> None:
    from models_py import warehouse

    parser = argparse.ArgumentParser(prog="python -m dagster_project.refresh",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", help="one source: " + ", ".join(ingest.SOURCES))
    parser.add_argument("--year", type=int, help="one year of a yearly source")
    parser.add_argument("--changed", action="store_true",
                        help="reload only the sources with new or changed files (by checksum "
                             "against raw._load_log) and rebuild what depends on them")
    options = parser.parse_args(args)
    if options.changed and (options.source or options.year is not None):
        raise SystemExit("CHANGED=1 finds the sources itself: give it without SOURCE and YEAR")
    from dagster_project import preflight     # loads the study files: not for --help
    preflight.run_or_exit()
    if options.changed:
        run = changed_command(warehouse.warehouse_path(), warehouse.raw_dir())
        if run is None:
            print("nothing new or changed in the landing folder since the last refresh")
            return
        print(f"a run of {len(run.assets)} assets", flush=True)
    else:
        run = command(options.source or None, options.year)
        print(f"a run of {run.job}" + ("" if options.year is None else f", year {options.year}"),
              flush=True)
    sys.exit(run_and_publish(run))


def run_and_publish(refresh: Run) -> int:
    """Run the refresh; publish the analysts' copy when only study tables failed; print the
    summary. Returns the exit status: 0 when nothing failed."""
    import dagster as dg

    from dagster_project import publish
    from dagster_project.launch import launch
    from models_py import warehouse
    from models_py.estimate import run

    started = warehouse.now()
    launched = launch(refresh)
    with dg.DagsterInstance.get() as instance:
        failed = publish.failed_steps(instance, launched.run_id)
        tables = publish.only_study_tables_failed(instance, launched.run_id)
    if tables:
        print(f"study tables failed: {', '.join(tables)}; publishing the analysts' copy with "
              "everything else", flush=True)
        if not launch(Run(job=publish.PUBLISH_JOB, tags=TAGS)).success:
            raise SystemExit(f"{publish.PUBLISH_JOB} failed: see the log above")
    if warehouse.warehouse_path().exists():
        with warehouse.connect(read_only=True) as con:
            summary = run.status_summary(run.table_status(con, since=started))
        if summary:
            print("\nStudies:\n" + summary, flush=True)
    if launched.success:
        return 0
    print("\nrefresh failed: " + (", ".join(tables or failed) or "see the log above")
          + ("" if tables else " (the analysts' copy was not replaced)"), flush=True)
    return 1


if __name__ == "__main__":
    main()
