"""Publishing after a refresh in which study tables failed.

Dagster skips every asset downstream of a failed step, and the analysts' copy
(``analyst_snapshot``) is downstream of everything, so one failed study table would withhold
the whole refresh from analysts. When the only failed steps of a run are study tables or
figures (the loads, dbt, the input-output step and every blocking check passed), the job
``publish_results`` runs next: it collects each study's results again (a failed table keeps its
earlier rows, flagged stale in ``results._table_status``) and publishes the copy. The refresh
command does this for its own runs; the sensor ``publish_after_failed_studies`` does it for
runs the daemon launched (schedule, raw-file sensor) or the UI.
"""
from __future__ import annotations

import dagster as dg
from dagster._core.events import DagsterEventType

from dagster_project.assets.studies import figure_key, table_key
from models_py.estimate.specs import load_study, study_names

PUBLISH_JOB = "publish_results"
# Runs tagged so publish themselves (the refresh command); the sensor leaves them alone.
PUBLISHES_ITSELF = "refresh/publishes_itself"


def study_steps() -> dict[str, str]:
    """Step key of every study table and figure asset -> its asset key as a string."""
    keys = []
    for name in study_names():
        study = load_study(name)
        keys += [table_key(study, t["table"]) for t in study.tables]
        keys += [figure_key(study, f["figure"]) for f in study.figures]
    return {"__".join(key.path): key.to_user_string() for key in keys}


def failed_steps(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records
    return sorted({r.event_log_entry.step_key for r in records})


def failed_blocking_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Checks of error severity that failed in the run."""
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    out = []
    for r in records:
        evaluation = r.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            out.append(evaluation.asset_check_key.to_user_string())
    return out


def only_study_tables_failed(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The study tables and figures that failed in the run, when they are all that failed (no
    other step, no blocking check); otherwise an empty list: the run is not published."""
    steps, tables = failed_steps(instance, run_id), study_steps()
    if not steps or any(s not in tables for s in steps) or failed_blocking_checks(instance,
                                                                                   run_id):
        return []
    return [tables[s] for s in steps]


def publish_selection() -> dg.AssetSelection:
    """Every study's collected results and the analysts' copy."""
    keys = [table_key(load_study(name), "coefficients") for name in study_names()]
    return dg.AssetSelection.assets(*keys, "analyst_snapshot")


publish_results = dg.define_asset_job(
    PUBLISH_JOB, selection=publish_selection(),
    description="After a refresh whose only failures were study tables: collect every study's "
                "results (failed tables keep their earlier rows, flagged stale in "
                "results._table_status) and publish the analysts' copy.")


@dg.run_failure_sensor(name="publish_after_failed_studies", request_job=publish_results,
                       default_status=dg.DefaultSensorStatus.STOPPED,
                       description="Publishes the analysts' copy after a run in which only "
                                   "study tables failed.")
def publish_after_failed_studies(context: dg.RunFailureSensorContext):
    run = context.dagster_run
    if run.job_name == PUBLISH_JOB or run.tags.get(PUBLISHES_ITSELF):
        return dg.SkipReason(f"run {run.run_id} publishes itself")
    failed = only_study_tables_failed(context.instance, run.run_id)
    if not failed:
        return dg.SkipReason(f"run {run.run_id} failed outside the study tables: not published")
    context.log.info(f"run {run.run_id}: only study tables failed ({', '.join(failed)}); "
                     "publishing the analysts' copy")
    return dg.RunRequest(run_key=run.run_id, tags={"refresh/after_run": run.run_id})
