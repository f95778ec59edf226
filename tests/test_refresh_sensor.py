"""The raw-file sensor, evaluated with a real Dagster instance against the session's finished
warehouse (its analysts' copy holds raw._load_log) and a copy of its landing folder."""
from __future__ import annotations

import os
import shutil

import dagster as dg
import pytest

from dagster_project.assets.raw import raw_table_key
from dagster_project.assets.replication import SELECTION as REPLICATION
from dagster_project.definitions import defs
from dagster_project.jobs import REFRESH_ALL
from dagster_project.resources import resources
from dagster_project.sensors import SENSOR_NAME
from support import YEARBOOK_2014, change_last_digit


@pytest.fixture
def landing(warehouse, tmp_path):
    """A copy of the session's landing folder, which the tests may change."""
    raw = tmp_path / "raw"
    shutil.copytree(warehouse.raw_dir, raw)
    return raw


def tick(warehouse, raw_dir, instance, cursor=None) -> dg.SensorExecutionData:
    """One evaluation of the sensor, as the daemon runs it."""
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs,
        resources=resources(warehouse.db, raw_dir, warehouse.publish_dir))
    return defs.resolve_sensor_def(SENSOR_NAME).evaluate_tick(context)


def refresh_checks_of(assets: set[dg.AssetKey]) -> set[dg.AssetCheckKey]:
    """The checks of ``assets`` that the refresh_all job runs (no freshness check), checked
    not to be all of their checks."""
    every = {k for k in defs.resolve_asset_graph().asset_check_keys if k.asset_key in assets}
    checks = {k for k in defs.resolve_job_def(REFRESH_ALL).asset_layer.asset_graph
              .asset_check_keys if k.asset_key in assets}
    assert checks and {k.name for k in every - checks} == {"freshness_check"}
    return checks


def downstream_of(*tables: str) -> set[dg.AssetKey]:
    """Every asset downstream of the raw tables but the replication packages (built on
    demand, never by a refresh)."""
    graph = defs.resolve_asset_graph()
    return (dg.AssetSelection.assets(*(raw_table_key(t) for t in tables)).downstream()
            - REPLICATION).resolve(graph)


def test_unchanged_folder_starts_no_run(warehouse, landing):
    with dg.instance_for_test() as instance:
        first = tick(warehouse, landing, instance)
        assert first.run_requests == [] and "no new or changed" in first.skip_message
        # A file rewritten with the same bytes (a new modification time) is not a change.
        path = landing / YEARBOOK_2014
        path.write_bytes(path.read_bytes())
        second = tick(warehouse, landing, instance, first.cursor)
        assert second.run_requests == []


def test_changed_yearbook_file_reloads_its_year_and_what_depends_on_it(warehouse, landing):
    change_last_digit(landing / YEARBOOK_2014)
    with dg.instance_for_test() as instance:
        data = tick(warehouse, landing, instance)
        assert len(data.run_requests) == 1
        request = data.run_requests[0]
        assert request.run_config == {"ops": {"load_city_yearbook": {"config": {"year": 2014}}}}
        selected = set(request.asset_selection)
        assert selected == downstream_of("city_yearbook")
        assert {raw_table_key("city_yearbook"), dg.AssetKey(["marts", "city_year"]),
                dg.AssetKey("analyst_snapshot")} <= selected
        # nothing upstream or beside it: no other raw table, no seed, not the input-output
        others = {raw_table_key(t) for t in ("county_yearbook", "baidu_index", "eps",
                                             "ceads_intermediate", "asif_firm_year")}
        assert not selected & others
        assert not {k for k in selected if k.path[0] in ("reference", "landing", "io")}
        assert dg.AssetKey(["staging", "stg_baidu_index"]) not in selected
        # the run the daemon would start: the sensor's job, narrowed to the selection, accepts
        # the run config
        sensor = defs.resolve_sensor_def(SENSOR_NAME)
        job = defs.resolve_job_def(sensor.job_name).get_subset(asset_selection=selected)
        dg.validate_run_config(job, request.run_config)
        # the checks of the selection, as a refresh runs them: the freshness checks are left
        # to their own sensor
        assert set(request.asset_check_keys) == refresh_checks_of(selected)
        assert dg.AssetCheckKey(dg.AssetKey(["marts", "city_year"]), "integrity_city_year") \
            in request.asset_check_keys

        # The same change seen again gives the same run key: the daemon starts it once.
        again = tick(warehouse, landing, instance, data.cursor)
        assert [r.run_key for r in again.run_requests] == [request.run_key]
        # Changed once more, it is a new change with a new key.
        change_last_digit(landing / YEARBOOK_2014)
        os.utime(landing / YEARBOOK_2014, ns=(1, 1))   # size and time say nothing: checksum
        third = tick(warehouse, landing, instance, again.cursor)
        assert third.run_requests[0].run_key != request.run_key


def test_files_of_two_years_reload_the_whole_source(warehouse, landing):
    change_last_digit(landing / YEARBOOK_2014)
    shutil.copyfile(landing / YEARBOOK_2014, landing / "yearbook" / "city_yearbook_2024.csv")
    with dg.instance_for_test() as instance:
        (request,) = tick(warehouse, landing, instance).run_requests
    assert request.run_config == {}
    assert request.tags["refresh/sources"] == "city_yearbook"
    assert set(request.asset_selection) == downstream_of("city_yearbook")


def test_a_note_in_a_yearly_folder_is_not_a_change(warehouse, landing):
    (landing / "baidu_index" / "README.txt").write_text("where these files came from")
    (landing / "yearbook" / "~$city_yearbook_2015.xlsx").write_bytes(b"lock")
    with dg.instance_for_test() as instance:
        assert tick(warehouse, landing, instance).run_requests == []


def test_refresh_of_what_changed(warehouse, landing):
    """`make refresh CHANGED=1`: the sensor's run, from the command line."""
    from dagster_project.launch import reconstructable
    from dagster_project.refresh import TAGS, changed_command

    assert changed_command(warehouse.db, landing) is None
    change_last_digit(landing / YEARBOOK_2014)
    run = changed_command(warehouse.db, landing)
    assert {dg.AssetKey.from_user_string(k) for k in run.assets} == downstream_of("city_yearbook")
    assert run.run_config == {"ops": {"load_city_yearbook": {"config": {"year": 2014}}}}
    assert run.job is None and run.tags == TAGS
    checks = refresh_checks_of(downstream_of("city_yearbook"))
    assert {dg.AssetCheckKey.from_user_string(k) for k in run.checks} == checks
    job = reconstructable(run).get_definition()         # the job `launch` executes
    assert job.asset_selection == downstream_of("city_yearbook")
    assert job.asset_check_selection == checks
