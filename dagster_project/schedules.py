"""The nightly full refresh: the ``refresh_all`` job at 02:00 China Standard Time.

Off until an operator turns it on (UI: Automation, or
``dagster schedule start refresh_all_nightly``); runs need the Dagster daemon.
"""
import dagster as dg

from dagster_project.jobs import refresh_all

refresh_all_nightly = dg.ScheduleDefinition(
    name="refresh_all_nightly", job=refresh_all, cron_schedule="0 2 * * *",
    execution_timezone="Asia/Shanghai", default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Full refresh every night: every raw source, the dbt project, the studies and "
                "the analysts' copy.")
