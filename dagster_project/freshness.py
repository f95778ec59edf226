"""Freshness checks on the marts and the studies' tables: each warns when its asset has not
been materialized within ``MAX_AGE``.

``MAX_AGE`` is the nightly refresh's day plus two hours for the refresh to finish: with the
schedule on, a mart older than that means a refresh failed or has not run. The checks read the
instance's materialization records, not the warehouse, so they run on their own:
``freshness_checks`` (a sensor, off until an operator turns it on) evaluates them every 10
minutes, and the UI runs them on demand; the refresh jobs leave them out. (Dagster 1.13 also
offers ``FreshnessPolicy`` on the assets, evaluated by its daemon alone; checks are kept because
they run and report like every other check of the project, in a run, the UI and the tests.
Dagster's notice that the checks' builders are superseded is silenced for that reason.)
"""

import datetime as dt
import warnings

import dagster as dg

MAX_AGE = dt.timedelta(hours=26)
CHECKED_PREFIXES = ("marts", "results")
CHECK_NAME = "freshness_check"     # the name Dagster's builder gives each check


def is_freshness_check(checks: dg.AssetChecksDefinition) -> bool:
    return any(key.name == CHECK_NAME for key in checks.check_keys)


def freshness_checks(assets) -> list[dg.AssetChecksDefinition]:
    """One last-update freshness check per mart and per study table among ``assets``."""
    keys = sorted(dg.AssetSelection.key_prefixes(*([p] for p in CHECKED_PREFIXES)).resolve(assets),
                  key=lambda k: k.to_user_string())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return list(dg.build_last_update_freshness_checks(assets=keys,
                                                          lower_bound_delta=MAX_AGE))


def freshness_sensor(checks) -> dg.SensorDefinition:
    """The sensor that evaluates ``checks`` every 10 minutes (off until turned on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks, minimum_interval_seconds=600, name="freshness_checks",
            default_status=dg.DefaultSensorStatus.STOPPED)
