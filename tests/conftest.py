"""Shared fixtures: the small embedded default, generated once per test run, and one warehouse
fully materialized on it by the real Dagster definitions (raw loads, input-output, dbt, checks,
studies, the analysts' copy), shared by every module that reads the finished pipeline.

`make test` runs the suite on two pytest-xdist workers (``-n 2 --dist loadfile``). What is
expensive to build is built once per run, not once per worker: ``built_once`` lets the first
worker that asks build it into the run's common temporary folder while holding a file lock;
the other worker waits for the lock and then reads what was built. Tests that change such a
thing work on a copy (a file copy takes seconds).
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import dagster as dg
import duckdb
import pytest
from filelock import FileLock

from support import digests, executable_assets, failure_message, materialize, refresh_checks

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")

PROJECT = Path(__file__).resolve().parents[1]


# The longest test modules, longest first (`pytest --durations`, summed by module). The workers
# take the modules in collection order, so these start first and the short modules fill in
# beside them. The first builds the shared warehouse; the second, and the first fixtures of the
# third, need none, so the other workers run them meanwhile.
LONGEST_FIRST = ("test_ops_refresh", "test_s001_null", "test_partial_sources",
                 "test_partial_results", "test_ops_serve", "test_data_quality",
                 "test_replication", "test_team_mode", "test_refresh_year", "test_ui_browser",
                 "test_ops_study", "test_ops_locks", "test_observability", "test_dbt_city_marts",
                 "test_reference_seeds", "test_dbt_pair_marts", "test_study_schema",
                 "test_pipeline")


def pytest_collection_modifyitems(items):
    """The longest modules first (each module is one pytest-xdist work unit: ``--dist
    loadfile``, so its module-scoped fixtures are built by one worker)."""
    rank = {name: k for k, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``name``, filled by ``build(folder)`` once per test run and shared by every
    pytest-xdist worker of the run (each worker's temporary folder sits in the run's). A build
    that failed part-way leaves no marker, so the next worker to ask builds it again."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder, done = root / name, root / f"{name}.built"
    with FileLock(root / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def small_default(tmp_path_factory) -> tuple[Path, dict]:
    """The small embedded default (raw folder, truth), generated once per test run."""
    from models_py.generate import generate

    base = built_once(tmp_path_factory, "small_default",
                      lambda out: generate(out / "raw", out / "truth.json", scale="small"))
    return base / "raw", json.loads((base / "truth.json").read_text(encoding="utf-8"))


def new_dagster_home(home: Path) -> Path:
    """A Dagster instance folder with the project's instance settings (``dagster.yaml``), as
    `make refresh` and `make ui` set one up."""
    home.mkdir(parents=True)
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    return home


@dataclass
class Warehouse:
    """The small default after one full materialization, recorded in its own Dagster instance
    (``home``) as `make refresh` records a run."""
    events: list[dg.DagsterEvent]   # every Dagster event of the run
    home: Path                    # the Dagster instance holding the run
    db: Path                      # the warehouse file
    raw_dir: Path
    publish_dir: Path             # the studies' rendered tables and figures
    truth: dict
    raw_digests: dict[str, str]   # sha256 of every raw file before the run

    def materializations(self) -> list[dg.DagsterEvent]:
        return [e for e in self.events if e.is_step_materialization]

    def check_evaluations(self) -> list[dg.AssetCheckEvaluation]:
        return [e.event_specific_data for e in self.events
                if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]

    def query(self, sql: str, params=None):
        """A query's result as a DataFrame, on a read-only connection."""
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql, params or []).df()


@pytest.fixture(scope="session")
def warehouse(small_default, tmp_path_factory) -> Warehouse:
    """Every asset and check of the definitions materialized on the small default, once per
    test run, into a Dagster instance on disk."""
    raw_dir, truth = small_default

    def build(base: Path) -> None:
        from dagster_project.definitions import defs

        (base / "raw_digests.json").write_text(json.dumps(digests(raw_dir)))
        with dg.DagsterInstance.from_config(str(new_dagster_home(base / "dagster_home"))) \
                as instance:
            result = materialize([*executable_assets(defs), *refresh_checks(defs)], raw_dir,
                                 base / "warehouse.duckdb", publish_dir=base / "publish",
                                 instance=instance)
        assert result.success, failure_message(result)
        (base / "run_id").write_text(result.run_id)

    base = built_once(tmp_path_factory, "warehouse", build)
    home = base / "dagster_home"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        events = [entry.dagster_event for entry in
                  instance.all_logs((base / "run_id").read_text()) if entry.is_dagster_event]
    return Warehouse(events, home, base / "warehouse.duckdb", raw_dir, base / "publish", truth,
                     json.loads((base / "raw_digests.json").read_text()))


@pytest.fixture(scope="session")
def refresh_site(warehouse, tmp_path_factory):
    """A site for running `make refresh` and `make ui` as an operator does: a warehouse, an
    analysts' copy and a Dagster instance that start as copies of the session's (so the
    instance already holds one finished run of every asset)."""
    from ops_support import make_site

    return make_site(tmp_path_factory.mktemp("site"), warehouse.raw_dir, warehouse.db,
                     warehouse.home)


@pytest.fixture
def fresh_site(warehouse, tmp_path):
    """A site of one test's own for `make refresh`: copies of the session's landing folder,
    warehouse and analysts' copy, which the test may change, and a new Dagster instance."""
    from ops_support import make_site

    raw = tmp_path / "raw"
    shutil.copytree(warehouse.raw_dir, raw)
    return make_site(tmp_path / "site", raw, warehouse.db)
