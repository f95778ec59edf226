"""A real PostgreSQL server for the tests that need one: a cluster of the tests' own, in a
temporary folder, on loopback at a free port (``dagster_project.local_postgres``), started
once per pytest process and stopped at its end.

A test module uses it with ``from postgres_support import postgres  # noqa: F401`` and asks
for the ``postgres`` fixture: a ``Server`` (host, port, user, password, db; ``.url``,
``.env()`` for the ``DAGSTER_PG_*`` variables), each test module its own database
(``postgres_db``). PostgreSQL's programs come from Debian's ``postgresql`` package (`.ci/run`
installs it); without them the tests skip, saying so.
"""
from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from dagster_project import local_postgres
from ops_support import free_port


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of this pytest process: a ``local_postgres.Server``."""
    if local_postgres.bin_dir() is None:
        pytest.skip("PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or on "
                    "PATH): apt-get install postgresql; .ci/run does")
    # Not under pytest's temporary folder: as root the cluster runs as the user postgres,
    # who cannot enter that folder.
    data = Path(tempfile.mkdtemp(prefix="pytest-postgres-"))
    server = local_postgres.Server("127.0.0.1", free_port(), "dagster", uuid.uuid4().hex,
                                   "dagster")
    try:
        local_postgres.start(data, server, durable=False)
        yield server
    finally:
        local_postgres.stop(data)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_db(postgres, request):
    """A database of the test module's own on the session's server."""
    name = "test_" + request.module.__name__.rsplit(".", 1)[-1].lower()
    server = replace(postgres, db=name)
    local_postgres.create_database(server)
    yield server
    local_postgres.drop_database(server)
