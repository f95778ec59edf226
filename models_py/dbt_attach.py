"""How dbt opens the warehouse: a dbt-duckdb plugin (named in ``dbt/profiles.yml``) that attaches
the warehouse file under the database name of dbt's project, ``warehouse``.

dbt keeps its parse of the project between builds (``partial_parse.msgpack`` in its target
folder) as long as the profile's connection settings and the ``--vars`` stay the same, and
parses the whole project again (about 5 s of CPU) when they differ. A profile naming the file
would differ for every warehouse, so the profile names a constant placeholder,
``warehouse.duckdb`` (dbt's database ``warehouse``), and this plugin makes the connection:
DuckDB in memory, the warehouse file attached as ``warehouse`` and used as the default
database, waiting for other processes' locks as every step does
(``models_py.warehouse.wait_for_lock``). Every warehouse thus has the same parse, and the build
of a new one starts from the project's own (:func:`prepare_target`).

The file is the one named by ``warehouse_path`` in dbt's target folder (``DBT_TARGET_PATH``,
which the Dagster dbt asset sets and fills with :func:`prepare_target`), else WAREHOUSE_PATH,
else ``data/warehouse.duckdb`` (``models_py.warehouse.warehouse_path``): a dbt command run by
hand in ``dbt/`` builds the warehouse WAREHOUSE_PATH names.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from models_py import warehouse

POINTER = "warehouse_path"         # in the target folder: the file that folder's builds write
PARSE = "partial_parse.msgpack"    # dbt's saved parse


def prepare_target(target: Path, warehouse_file: Path, project_target: Path) -> None:
    """Ready dbt's target folder ``target`` for a build of ``warehouse_file``: name the file in
    it, and give it the project's saved parse (``project_target``, where `dbt parse` leaves it)
    when it has none yet, so that its first build parses only what changed since."""
    target.mkdir(parents=True, exist_ok=True)
    (target / POINTER).write_text(str(Path(warehouse_file).resolve()), encoding="utf-8")
    if not (target / PARSE).exists() and (project_target / PARSE).exists():
        shutil.copyfile(project_target / PARSE, target / PARSE)


def warehouse_file() -> Path:
    """The warehouse file of this dbt command (see the module's docstring)."""
    pointer = Path(os.environ.get("DBT_TARGET_PATH", "target")) / POINTER
    if pointer.is_file():
        return Path(pointer.read_text(encoding="utf-8").strip())
    return warehouse.warehouse_path()


class Plugin(BasePlugin):
    """dbt-duckdb's hooks: :meth:`initialize` runs when dbt first opens a connection, after it
    has parsed (and hashed) the profile."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.file = warehouse_file()
        self.database = self.creds.database  # the placeholder's name: "warehouse"
        self.creds.path = ":memory:"    # the file is attached in configure_connection

    def configure_connection(self, conn) -> None:
        options = "" if self.file.exists() else \
            f" (STORAGE_VERSION '{warehouse.STORAGE_VERSION}')"
        path = str(self.file).replace("'", "''")
        warehouse.wait_for_lock(
            lambda: conn.execute(f'ATTACH \'{path}\' AS "{self.database}"{options}'), self.file)
        conn.execute(f'USE "{self.database}"')

    def configure_cursor(self, cursor) -> None:
        cursor.execute(f'USE "{self.database}"')
