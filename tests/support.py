"""Helpers for tests: real Dagster materializations into a temporary DuckDB file, and what
to read back from them."""
from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import duckdb


def materialize(assets, raw_dir: Path, db_path: Path, selection=None) -> dg.ExecuteInProcessResult:
    """Materialize real assets against ``raw_dir`` and the DuckDB file ``db_path``."""
    from dagster_project.resources import resources

    os.environ["WAREHOUSE_PATH"] = str(db_path)  # dbt's profiles.yml reads it
    os.environ.setdefault("PUBLISH_DIR", str(Path(db_path).parent / "publish"))  # not data/
    return dg.materialize(assets, selection=selection, raise_on_error=False,
                          resources=resources(db_path, raw_dir))


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The error text of the first failed step."""
    for event in result.all_events:
        if event.is_step_failure:
            err = event.step_failure_data.error
            while err.cause is not None and "IngestError" not in err.cls_name:
                err = err.cause
            return err.message
    raise AssertionError("no step failed")


def warehouse_state(db_path: Path) -> dict:
    """Every table of the warehouse with its row count and a hash of its contents."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                             "ORDER BY 1, 2").fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*), sum(hash(t)) FROM {s}."{t}" t').fetchone()
                for s, t in tables}
