"""Resources: the DuckDB warehouse, the raw landing folder, and the dbt project."""
from __future__ import annotations

import sys
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


class RawFolder(dg.ConfigurableResource):
    """The landing folder of raw files (RAW_DATA_DIR, default data/raw). Read-only to the
    pipeline: nothing edits, moves or deletes a raw file."""
    path: str

    def dir(self) -> Path:
        return Path(self.path).resolve()


def resources(warehouse_path: Path | None = None, raw_dir: Path | None = None) -> dict:
    """The resources of the definitions; paths default to WAREHOUSE_PATH and RAW_DATA_DIR."""
    return {
        "duckdb": DuckDBResource(database=str(warehouse_path or warehouse.warehouse_path())),
        "raw_folder": RawFolder(path=str(raw_dir or warehouse.raw_dir())),
        # The dbt installed beside this Python, whether or not the venv is on PATH.
        "dbt": DbtCliResource(project_dir=dbt_project,
                              dbt_executable=str(Path(sys.executable).parent / "dbt")),
    }
