"""The SQLite event log with kept connections (dagster_project.sqlite_events) stores what
Dagster's own stores: the same events of the same runs, the same asset and check records."""
from __future__ import annotations

from importlib.metadata import version

import dagster as dg

from dagster_project import sqlite_events


@dg.asset
def upstream() -> int:
    return 1


@dg.asset
def downstream(upstream: int) -> int:
    return upstream + 1


@dg.asset_check(asset=downstream)
def downstream_is_two() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, metadata={"value": 2})


def run_twice(home) -> dict:
    """Two runs of the assets and their check on the SQLite instance in ``home``; what the
    instance then holds."""
    home.mkdir()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_ids = [dg.materialize([upstream, downstream, downstream_is_two],
                                  instance=instance).run_id for _ in range(2)]
        engines = len(instance.event_log_storage.__dict__.get("_pooled_engines", {}))
        check = dg.AssetCheckKey(downstream.key, "downstream_is_two")
        return {
            "events": [[(e.dagster_event.event_type_value, e.dagster_event.step_key,
                         e.dagster_event.asset_key) for e in instance.all_logs(r)
                        if e.is_dagster_event] for r in run_ids],
            "latest": {k.to_user_string(): instance.get_latest_materialization_event(k).run_id
                       == run_ids[1] for k in (upstream.key, downstream.key)},
            "check": instance.event_log_storage.get_latest_asset_check_execution_by_key(
                [check])[check].status,
            "engines": engines,
        }


def test_kept_connections_store_what_dagster_s_own_store(tmp_path):
    assert version("dagster") == sqlite_events.POOLED_FOR and sqlite_events.installed()
    kept = run_twice(tmp_path / "kept")
    sqlite_events.uninstall()
    try:
        own = run_twice(tmp_path / "own")
    finally:
        sqlite_events.install()
    assert kept["engines"] > 0 and own["engines"] == 0
    assert {k: v for k, v in kept.items() if k != "engines"} \
        == {k: v for k, v in own.items() if k != "engines"}
    assert all(kept["latest"].values()) and len(kept["events"][1]) > 10


def test_kept_engines_are_bounded(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for _ in range(sqlite_events.KEPT_ENGINES + 2):
            dg.materialize([upstream], instance=instance)
        assert len(instance.event_log_storage._pooled_engines) == sqlite_events.KEPT_ENGINES
    assert "_pooled_engines" not in instance.event_log_storage.__dict__   # disposed on close
