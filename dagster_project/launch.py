"""Run one job of the definitions, or a selection of their assets, in this process, recorded in
the Dagster instance of ``$DAGSTER_HOME``: what the refresh, study and replication commands do
once their checks have passed (:func:`launch`), and a command of its own.

    python -m dagster_project.launch --job refresh_all [--config-json JSON] [--tags JSON]
    python -m dagster_project.launch --assets raw/city_yearbook,marts/city_year [...]

The console shows the run's events (Dagster's console log; ``dagster_project`` keeps other
libraries' log set-up off it). The command exits 0 when the run succeeded and 1 when it failed.
It runs the job through Dagster's Python API (``execute_job``), as ``dagster job execute`` and
``dagster asset materialize`` did before Dagster 1.13 superseded them with ``dg launch``; every
step runs in this process (the definitions use the in-process executor), whose id the run's
events record.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository

DEFINITIONS = "dagster_project.definitions"


@dataclass(frozen=True)
class Run:
    """A run to launch: the job ``job``, or the assets with the keys ``assets`` (``a/b``
    strings) and nothing else, with the checks ``checks`` (``a/b:name``; None: every check of
    those assets); with its run config and tags."""
    job: str | None = None
    assets: tuple[str, ...] = ()
    checks: tuple[str, ...] | None = None
    run_config: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Launched:
    """The run a :func:`launch` executed: its id in the instance, and whether it succeeded."""
    run_id: str
    success: bool


def reconstructable(run: Run) -> ReconstructableJob:
    """The job of ``run``, narrowed to its assets and checks, as Dagster reconstructs it."""
    repository = ReconstructableRepository.for_module(DEFINITIONS, "defs")
    if not run.assets:
        return repository.get_reconstructable_job(run.job)
    assets = {dg.AssetKey.from_user_string(key) for key in run.assets}
    checks = None if run.checks is None else \
        {dg.AssetCheckKey.from_user_string(key) for key in run.checks}
    name = repository.get_definition().get_implicit_job_def_for_assets(list(assets)).name
    return repository.get_reconstructable_job(name).get_subset(asset_selection=assets,
                                                                asset_check_selection=checks)


def launch(run: Run) -> Launched:
    """Execute ``run`` in this process."""
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(reconstructable(run), instance, run_config=run.run_config,
                                tags=run.tags)
    return Launched(result.run_id, result.success)


def parse(args: list[str] | None = None) -> Run:
    """The run the command line asks for."""
    parser = argparse.ArgumentParser(prog="python -m dagster_project.launch",
                                     description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--job", help="a job of the definitions, e.g. refresh_all")
    what.add_argument("--assets", help="asset keys, comma-separated, e.g. raw/eps,marts/city_year")
    parser.add_argument("--config-json", default="{}", help="the run config, as JSON")
    parser.add_argument("--tags", default="{}", help="the run's tags, as a JSON object")
    options = parser.parse_args(args)
    return Run(job=options.job,
               assets=tuple(options.assets.split(",")) if options.assets else (),
               run_config=json.loads(options.config_json), tags=json.loads(options.tags))


def main(args: list[str] | None = None) -> None:
    sys.exit(0 if launch(parse(args)).success else 1)


if __name__ == "__main__":
    main()
