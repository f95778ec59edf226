"""Shared fixtures: the small embedded default, generated once per session, and one warehouse
fully materialized on it by the real Dagster definitions (raw loads, input-output, dbt, checks,
studies, the analysts' copy), shared by every module that reads the finished pipeline."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from support import digests, executable_assets, failure_message, materialize

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(scope="session")
def small_default(tmp_path_factory) -> tuple[Path, dict]:
    """The small embedded default (raw folder, truth), generated once per test session."""
    from models_py.generate import generate

    base = tmp_path_factory.mktemp("small_default")
    generate(base / "raw", base / "truth.json", scale="small")
    return base / "raw", json.loads((base / "truth.json").read_text(encoding="utf-8"))


@dataclass
class Warehouse:
    """The small default after one full materialization."""
    result: dg.ExecuteInProcessResult
    db: Path                      # the warehouse file
    raw_dir: Path
    publish_dir: Path             # the studies' rendered tables and figures
    truth: dict
    raw_digests: dict[str, str]   # sha256 of every raw file before the run

    def query(self, sql: str, params=None):
        """A query's result as a DataFrame, on a read-only connection."""
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql, params or []).df()


@pytest.fixture(scope="session")
def warehouse(small_default, tmp_path_factory) -> Warehouse:
    """Every asset and check of the definitions materialized on the small default, once."""
    from dagster_project.definitions import defs

    raw_dir, truth = small_default
    base = tmp_path_factory.mktemp("warehouse")
    db, publish = base / "warehouse.duckdb", base / "publish"
    before = digests(raw_dir)
    result = materialize([*executable_assets(defs), *defs.asset_checks], raw_dir, db,
                         publish_dir=publish)
    assert result.success, failure_message(result)
    return Warehouse(result, db, raw_dir, publish, truth, before)


@pytest.fixture(scope="session")
def refresh_site(warehouse, tmp_path_factory):
    """A site for running `make refresh` and `make ui` as an operator does: its own Dagster
    instance, and a warehouse and analysts' copy that start as copies of the session's."""
    from ops_support import make_site

    return make_site(tmp_path_factory.mktemp("site"), warehouse.raw_dir, warehouse.db)
