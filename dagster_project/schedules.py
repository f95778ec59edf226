"""The nightly full refresh: the ``refresh_all`` job at 02:00 China Standard Time, or at the
cron schedule ``NIGHTLY_REFRESH_CRON`` (in that time zone) when it is set.

Off until an operator turns it on (UI: Automation, or
``dagster schedule start refresh_all_nightly``); runs need the Dagster daemon.
"""
import os

import dagster as dg
from dagster._utils.schedules import is_valid_cron_string

from dagster_project.jobs import REFRESH_ALL

CRON_VARIABLE = "NIGHTLY_REFRESH_CRON"


def nightly_cron() -> str:
    """The schedule's cron string: ``NIGHTLY_REFRESH_CRON``, checked, or 02:00 every day."""
    cron = os.environ.get(CRON_VARIABLE, "0 2 * * *")
    if not is_valid_cron_string(cron):
        raise ValueError(f"{CRON_VARIABLE}={cron!r} is not a cron schedule: five fields, "
                         "minute hour day month weekday, e.g. '0 2 * * *' for 02:00 every day")
    return cron


refresh_all_nightly = dg.ScheduleDefinition(
    name="refresh_all_nightly", job_name=REFRESH_ALL, cron_schedule=nightly_cron(),
    execution_timezone="Asia/Shanghai", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Full refresh every night: every raw source, the dbt project, the studies and "
                "the analysts' copy.")
