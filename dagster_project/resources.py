"""Resources: the DuckDB warehouse, the raw landing folder, the publish folder and the dbt
project.

The warehouse path is one setting: the ``duckdb`` resource holds it, and the dbt assets hand it
to dbt (``--vars``), whose ``profiles.yml`` reads it before its WAREHOUSE_PATH fallback.
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

# Every asset that writes the warehouse runs in this pool; DuckDB allows one writer per file.
WAREHOUSE_POOL = "duckdb_warehouse"

dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)
dbt_project.prepare_if_dev()


class Warehouse(DuckDBResource):
    """The DuckDB warehouse. Its connection is closed when the step using it fails as well:
    ``DuckDBResource`` leaves it open then (a load that fails inside its transaction, as a bad
    CEADs table year does), and an open connection keeps the file locked against readers."""

    @contextmanager
    def get_connection(self):
        with super().get_connection() as con:
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


class RawFolder(dg.ConfigurableResource):
    """The landing folder of raw files (RAW_DATA_DIR, default data/raw). Read-only to the
    pipeline: nothing edits, moves or deletes a raw file."""
    path: str

    def dir(self) -> Path:
        return Path(self.path).resolve()


def resources(warehouse_path: Path | None = None, raw_dir: Path | None = None,
              publish_dir: Path | None = None) -> dict:
    """The resources of the definitions; paths default to WAREHOUSE_PATH, RAW_DATA_DIR and
    PUBLISH_DIR."""
    return {
        "duckdb": Warehouse(database=str(warehouse_path or warehouse.warehouse_path()),
                            connection_config=dict(warehouse.DUCKDB_CONFIG)),
        "raw_folder": RawFolder(path=str(raw_dir or warehouse.raw_dir())),
        "publish_folder": PublishFolder(path=str(publish_dir or warehouse.publish_dir())),
        # The dbt installed beside this Python, whether or not the venv is on PATH.
        "dbt": DbtCliResource(project_dir=dbt_project,
                              dbt_executable=str(Path(sys.executable).parent / "dbt")),
    }
