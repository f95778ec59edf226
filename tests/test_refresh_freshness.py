"""Freshness checks on the marts and the studies' tables, evaluated in a real run against a
real instance."""
from __future__ import annotations

import dagster as dg

from dagster_project.definitions import defs
from dagster_project.freshness import MAX_AGE, is_freshness_check

CITY_YEAR = dg.AssetKey(["marts", "city_year"])
S003_BASELINE = dg.AssetKey(["results", "s003_baseline"])


def freshness_checks() -> list[dg.AssetChecksDefinition]:
    return [c for c in defs.asset_checks if is_freshness_check(c)]


def test_every_mart_and_study_table_has_one():
    checked = {k.asset_key for c in freshness_checks() for k in c.check_keys}
    graph = defs.resolve_asset_graph()
    marts_and_results = {k for k in graph.get_all_asset_keys()
                         if k.path[0] in ("marts", "results")}
    assert checked == marts_and_results
    assert CITY_YEAR in checked and S003_BASELINE in checked


def test_checks_evaluate():
    """A mart materialized just now is fresh; a table never materialized is not, and the
    check warns rather than blocks."""
    keys = [dg.AssetCheckKey(CITY_YEAR, "freshness_check"),
            dg.AssetCheckKey(S003_BASELINE, "freshness_check")]
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization(CITY_YEAR))
        result = dg.materialize(freshness_checks(), instance=instance,
                                selection=dg.AssetSelection.checks(*keys))
        assert result.success
        evaluations = {e.asset_key: e for e in result.get_asset_check_evaluations()}
    assert evaluations[CITY_YEAR].passed
    assert not evaluations[S003_BASELINE].passed
    assert evaluations[S003_BASELINE].severity == dg.AssetCheckSeverity.WARN
    params = evaluations[CITY_YEAR].metadata["dagster/freshness_params"].value
    assert params["lower_bound_delta_seconds"] == MAX_AGE.total_seconds()


def test_refresh_jobs_leave_them_to_their_sensor():
    for name in ("refresh_all", "refresh_city_yearbook"):
        checks = defs.resolve_job_def(name).asset_layer.asset_graph.asset_check_keys
        assert checks and not any(k.name == "freshness_check" for k in checks), name
    sensor = defs.resolve_sensor_def("freshness_checks")
    assert {k for c in freshness_checks() for k in c.check_keys} <= set(
        sensor.asset_selection.resolve_checks(defs.resolve_asset_graph()))
