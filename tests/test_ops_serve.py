"""`make serve` as an operator runs it: PostgreSQL (a cluster of the tests' own), then the
Dagster webserver and daemon as two processes with the instance in PostgreSQL, on a site whose
warehouse and landing folder are copies of the session's.

One county yearbook file changes, then the raw-file sensor and the nightly schedule, given a near
tick (``NIGHTLY_REFRESH_CRON``: every minute), are turned on together from the UI's API. The
daemon evaluates both: the sensor's run (that year's load and what depends on it) goes through
the queue and finishes; the schedule's tick queues a run of ``refresh_all``, which is cancelled
before it starts. The runs, their events and the sensor's and schedule's ticks are rows of
PostgreSQL. Last, the services stop on Ctrl-C.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
import urllib.request

import dagster as dg
import duckdb
import psycopg2
import pytest

from ops_support import PROJECT, free_port, group_ends
from postgres_support import postgres, postgres_db  # noqa: F401
from support import change_last_digit

START_SECONDS = 300
RUN_SECONDS = 600
LOCATION = "dagster_project.definitions"


class Serve:
    """`make serve` running: its process, its URL, its log and its instance folder."""

    def __init__(self, proc, url, log, home):
        self.proc, self.url, self.log, self.home = proc, url, log, home

    def graphql(self, query: str, **variables) -> dict:
        """A query or mutation of the webserver's GraphQL API, as the UI sends it."""
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(self.url + "/graphql", body,
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        assert "errors" not in answer, answer
        return answer["data"]

    def tail(self) -> str:
        return self.log.read_text()[-4000:]


def selector(kind: str, name: str) -> dict:
    return {"repositoryLocationName": LOCATION, "repositoryName": "__repository__",
            f"{kind}Name": name}


def wait_for(what: str, found, serve: Serve, seconds: float):
    """Poll ``found()`` every second until it returns something; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        assert serve.proc.poll() is None, "make serve exited:\n" + serve.tail()
        value = found()
        if value:
            return value
        assert time.monotonic() < deadline, f"no {what} after {seconds} s:\n" + serve.tail()
        time.sleep(1)


def daemons_up(instance) -> bool:
    beats = instance.get_daemon_heartbeats()
    return {"SENSOR", "SCHEDULER", "QUEUED_RUN_COORDINATOR"} <= set(beats)


def server_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/server_info", timeout=5):
            return True
    except OSError:
        return False


@pytest.fixture
def serve(fresh_site, postgres_db, tmp_path, monkeypatch):
    """`make serve` on the site, the instance in the test's PostgreSQL database."""
    home, port = tmp_path / "serve_home", free_port()
    env = fresh_site.env(**postgres_db.env(), SERVE_HOME=str(home), UI_PORT=str(port),
                         NIGHTLY_REFRESH_CRON="* * * * *")
    for name, value in postgres_db.env().items():  # the instance's settings name them
        monkeypatch.setenv(name, value)
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["make", "-s", "-C", str(PROJECT), "serve"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    serve = Serve(proc, f"http://127.0.0.1:{port}", log, home)
    try:
        wait_for("webserver", lambda: server_answers(serve.url), serve, START_SECONDS)
        yield serve
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def finished(instance, run_filter: dg.RunsFilter):
    records = instance.get_run_records(run_filter, limit=1)
    if records and records[0].dagster_run.is_finished:
        return records[0].dagster_run
    return None


def pg_rows(server, sql: str, *params):
    con = psycopg2.connect(host=server.host, port=server.port, user=server.user,
                           password=server.password, dbname=server.db)
    try:
        with con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        con.close()


def test_the_daemon_runs_the_schedule_and_the_sensor_from_postgres(serve, fresh_site,
                                                                   postgres_db):
    with dg.DagsterInstance.from_config(str(serve.home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        wait_for("daemon heartbeat", lambda: daemons_up(instance), serve, START_SECONDS)

        # One year of the county yearbook changes; the raw-file sensor and the schedule, on a
        # near tick, are turned on together. The sensor's first evaluation queues its run at
        # once; the schedule's next tick (the next minute) queues refresh_all, which the queue
        # lets out only after the run before it.
        changed = sorted(fresh_site.raw_dir.glob("yearbook/county_yearbook_*.csv"))[0]
        change_last_digit(changed)
        started = serve.graphql(
            "mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename } }",
            s=selector("sensor", "raw_files_changed"))
        assert started["startSensor"]["__typename"] == "Sensor"
        started = serve.graphql(
            "mutation($s: ScheduleSelector!) { startSchedule(scheduleSelector: $s) { __typename }"
            " }", s=selector("schedule", "refresh_all_nightly"))
        assert started["startSchedule"]["__typename"] == "ScheduleStateResult"

        # Every scheduled run is cancelled as soon as it appears, queued or just dequeued: a run
        # worker that starts after this finds the run cancelled and executes nothing. The
        # schedule is stopped when its first run appears. The sensor's run goes on through the
        # queue to its end.
        cancelled = {}

        def both_done():
            scheduled = [r.dagster_run for r in instance.get_run_records(
                dg.RunsFilter(tags={"dagster/schedule_name": "refresh_all_nightly"}))]
            if scheduled and not cancelled:
                serve.graphql("mutation($s: ScheduleSelector!) { resetSchedule("
                              "scheduleSelector: $s) { __typename } }",
                              s=selector("schedule", "refresh_all_nightly"))
            for unfinished in [r for r in scheduled if r.run_id not in cancelled]:
                cancelled[unfinished.run_id] = serve.graphql(
                    "mutation($id: String!) { terminateRun(runId: $id, terminatePolicy: "
                    "MARK_AS_CANCELED_IMMEDIATELY) { __typename } }", id=unfinished.run_id)
            if not scheduled or not all(finished(
                    instance, dg.RunsFilter(run_ids=[r.run_id])) for r in scheduled):
                return None
            return finished(instance,
                            dg.RunsFilter(tags={"dagster/sensor_name": "raw_files_changed"}))

        run = wait_for("the scheduled run cancelled and the sensor's run finished", both_done,
                       serve, RUN_SECONDS)
        scheduled = instance.get_run_records(
            dg.RunsFilter(tags={"dagster/schedule_name": "refresh_all_nightly"}))[-1].dagster_run
        assert scheduled.job_name == "refresh_all"
        assert cancelled[scheduled.run_id]["terminateRun"]["__typename"] == \
            "TerminateRunSuccess", cancelled
        assert run.status == dg.DagsterRunStatus.SUCCESS, serve.tail()
        year = changed.stem.rsplit("_", 1)[1]
        assert run.tags["refresh/sources"] == f"county_yearbook {year}"

    # The run went through the daemon's queue, and its events are rows of PostgreSQL.
    stored = dict(pg_rows(postgres_db, "SELECT dagster_event_type, count(*) FROM event_logs "
                          "WHERE run_id = %s GROUP BY 1", run.run_id))
    events = {kind: stored.get(kind.value, 0) for kind in dg.DagsterEventType}  # stored names
    kinds = dg.DagsterEventType
    assert events[kinds.RUN_ENQUEUED] == events[kinds.RUN_STARTING] == 1
    assert events[kinds.RUN_SUCCESS] == 1
    assert events[kinds.ASSET_MATERIALIZATION] >= 3
    assert pg_rows(postgres_db, "SELECT status FROM runs WHERE run_id = %s",
                   scheduled.run_id) == [("CANCELED",)]
    ticks = {kind for (kind,) in pg_rows(postgres_db, "SELECT DISTINCT type FROM job_ticks")}
    assert {"SCHEDULE", "SENSOR"} <= ticks     # the daemon's ticks of both
    # The warehouse holds the changed file: the analysts' copy logs its new checksum.
    with duckdb.connect(str(fresh_site.copy), read_only=True) as con:
        logged = {row[0] for row in con.execute(
            "SELECT sha256 FROM raw._load_log WHERE file = ?",
            [str(changed.relative_to(fresh_site.raw_dir))]).fetchall()}
    assert hashlib.sha256(changed.read_bytes()).hexdigest() in logged

    # Ctrl-C stops make, the launcher, the webserver and the daemon.
    os.killpg(serve.proc.pid, signal.SIGINT)
    serve.proc.wait(timeout=120)
    assert group_ends(serve.proc.pid, 60), serve.tail()
    assert not server_answers(serve.url)
