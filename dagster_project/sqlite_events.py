"""Dagster's SQLite event log, with each database file's connections kept open.

The single-machine instance (`make refresh`, `make ui`, the tests) stores its runs' events in
SQLite files. Dagster 1.13's ``SqliteEventLogStorage`` builds a new SQLAlchemy engine for every
event it stores and disposes of it afterwards (``NullPool``), so each event pays for opening
the file and for SQLAlchemy's first-connection set-up, two or three times over for an asset or
check event (the run's file and the index). A refresh of the small default stores about 1,900
events; with a new engine for each, it took 107 s, with one engine per file 89 s (the same run,
one after the other, on the idle 2-core machine).

:func:`install` replaces the storage's ``_connect`` with one that keeps an engine, and its
connection pool, per database file (the index and the most recent runs), for the life of the
storage. Everything else is Dagster's own: the same statements in the same transactions, under
the storage's own lock. It is installed for the Dagster release it was written against
(``POOLED_FOR``); any other release keeps Dagster's own ``_connect``. The PostgreSQL instance of
`make serve` pools its connections already and is not touched.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version

import sqlalchemy as sa
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

POOLED_FOR = "1.13.27"
# Engines kept open per storage: the index file and the last few runs' files.
KEPT_ENGINES = 4

_dagster_connect = SqliteEventLogStorage._connect
_dagster_dispose = SqliteEventLogStorage.dispose


@contextmanager
def _pooled_connect(self: SqliteEventLogStorage, shard: str) -> Iterator[sa.Connection]:
    """Dagster's ``_connect`` (a transaction on the shard's file, under the storage's lock),
    on a kept engine."""
    with self._db_lock:
        engines: OrderedDict[str, sa.Engine] = self.__dict__.setdefault("_pooled_engines",
                                                                        OrderedDict())
        engine = engines.get(shard)
        if engine is None:
            engine = sa.create_engine(self.conn_string_for_shard(shard),
                                      connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            engines[shard] = engine
            while len(engines) > KEPT_ENGINES:
                engines.popitem(last=False)[1].dispose()
        engines.move_to_end(shard)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        with engine.connect() as conn, conn.begin():
            yield conn


def _dispose(self: SqliteEventLogStorage) -> None:
    _dagster_dispose(self)
    with self._db_lock:
        for engine in self.__dict__.pop("_pooled_engines", {}).values():
            engine.dispose()


def installed() -> bool:
    return SqliteEventLogStorage._connect is _pooled_connect


def install() -> None:
    """Keep the SQLite event log's engines, for the Dagster release ``POOLED_FOR``."""
    if version("dagster") == POOLED_FOR:
        SqliteEventLogStorage._connect = _pooled_connect
        SqliteEventLogStorage.dispose = _dispose


def uninstall() -> None:
    """Dagster's own ``_connect`` again (the test compares the two)."""
    SqliteEventLogStorage._connect = _dagster_connect
    SqliteEventLogStorage.dispose = _dagster_dispose
