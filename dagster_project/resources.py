"""Resources: the DuckDB warehouse, the raw landing folder, the publish folder, the folder of
replication packages and the dbt project.

The warehouse path is one setting: the ``duckdb`` resource holds it, and the dbt assets hand it
to dbt in its target folder (``models_py.dbt_attach``), before dbt's WAREHOUSE_PATH fallback.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject
from dagster_duckdb import DuckDBResource

from models_py import warehouse

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt"
# The dbt installed beside this Python, whether or not its folder is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

# Every asset that writes the warehouse runs in this pool; DuckDB allows one writer per file.
WAREHOUSE_POOL = "duckdb_warehouse"

dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)


class Warehouse(DuckDBResource):
    """The DuckDB warehouse file. When another process has it open, a connection waits up to
    ``models_py.warehouse.LOCK_WAIT_SECONDS`` for it to close the file (a query session between
    two steps), then fails naming that process (``models_py.warehouse.connect``), where
    dagster-duckdb's own resource retries for about 100 s; a missing folder is created."""

    @contextmanager
    def get_connection(self):
        con = warehouse.connect(Path(self.database))
        try:
            yield con
        finally:
            con.close()


class PublishFolder(dg.ConfigurableResource):
    """Where the studies' rendered tables and figures go (PUBLISH_DIR, default data/publish),
    one sub-folder per study."""
    path: str

    def study_dir(self, study: str) -> Path:
        out = Path(self.path).resolve() / study.lower()
        out.mkdir(parents=True, exist_ok=True)
        return out


class ReplicationFolder(dg.ConfigurableResource):
    """Where the studies' replication packages go (REPLICATION_DIR, default
    data/replication): one sub-folder and one zip per study."""
    path: str

    def dir(self) -> Path:
        return Path(self.path).resolve()


class RawFolder(dg.ConfigurableResource):
    """The landing folder of raw files (RAW_DATA_DIR, default data/raw). Read-only to the
    pipeline: nothing edits, moves or deletes a raw file."""
    path: str

    def dir(self) -> Path:
        return Path(self.path).resolve()


def resources(warehouse_path: Path | None = None, raw_dir: Path | None = None,
              publish_dir: Path | None = None, replication_dir: Path | None = None) -> dict:
    """The resources of the definitions; paths default to WAREHOUSE_PATH, RAW_DATA_DIR,
    PUBLISH_DIR and REPLICATION_DIR."""
    return {
        "duckdb": Warehouse(database=str(warehouse_path or warehouse.warehouse_path())),
        "raw_folder": RawFolder(path=str(raw_dir or warehouse.raw_dir())),
        "publish_folder": PublishFolder(path=str(publish_dir or warehouse.publish_dir())),
        "replication_folder": ReplicationFolder(
            path=str(replication_dir or warehouse.replication_dir())),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    }
