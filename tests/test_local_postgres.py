"""The PostgreSQL cluster the tests and `make postgres` start (``dagster_project.local_postgres``):
it serves on loopback with password sign-in, and the command line starts, reuses and stops one."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg2
import pytest

from dagster_project import local_postgres
from ops_support import free_port
from postgres_support import postgres, postgres_db  # noqa: F401


def query(server: local_postgres.Server, sql: str, password: str | None = None):
    con = psycopg2.connect(host=server.host, port=server.port, user=server.user,
                           password=server.password if password is None else password,
                           dbname=server.db)
    try:
        with con, con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else None
    finally:
        con.close()


def test_the_session_server_takes_writes_and_checks_the_password(postgres_db):
    query(postgres_db, "CREATE TABLE t AS SELECT generate_series(1, 3) AS x")
    assert query(postgres_db, "SELECT sum(x) FROM t") == [(6,)]
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        query(postgres_db, "SELECT 1", password="wrong")


def test_the_command_line_starts_reuses_and_stops_a_cluster(postgres):
    data = Path(tempfile.mkdtemp(prefix="pytest-postgres-cli-"))
    server = local_postgres.Server("127.0.0.1", free_port(), "dagster", uuid.uuid4().hex,
                                   "instance")
    env = {**os.environ, **server.env()}
    command = [sys.executable, "-m", "dagster_project.local_postgres"]
    try:
        for _ in range(2):   # the second start finds it running and leaves it
            out = subprocess.run([*command, "start", str(data)], env=env, capture_output=True,
                                 text=True, check=True).stdout
            assert f"PostgreSQL on 127.0.0.1:{server.port}, database instance" in out
        assert query(server, "SELECT current_database()") == [("instance",)]
        subprocess.run([*command, "stop", str(data)], env=env, check=True)
        assert not local_postgres.running(data)
        with pytest.raises(psycopg2.OperationalError):
            query(server, "SELECT 1")
    finally:
        local_postgres.stop(data)
        shutil.rmtree(data, ignore_errors=True)
