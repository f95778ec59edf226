"""`make refresh` on one machine and in team mode, one after the other on the same raw files.

Each refresh starts from nothing (a new warehouse, analysts' copy and Dagster instance) and
runs `make refresh` (the preflight, then the refresh, in one command). The team-mode refresh
also publishes every table into a new DuckLake whose catalog is in a PostgreSQL cluster this
script starts in its work folder (``dagster_project.local_postgres``, on loopback) and whose
data is a folder beside it. It prints one Markdown row per mode: wall time, and for team
mode the size of the lake's data.

    .venv/bin/python bench/bench_team_mode.py [--scale small|full] [--raw DIR] [--work DIR]

Without ``--raw`` the embedded default of ``--scale`` is generated into the work folder first
(not timed).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from dagster_project import local_postgres  # noqa: E402


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refresh(site: Path, raw: Path, extra: dict[str, str]) -> float:
    """`make refresh` on a new site: its wall seconds."""
    home = site / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(DAGSTER_HOME=str(home), WAREHOUSE_PATH=str(site / "warehouse.duckdb"),
               RAW_DATA_DIR=str(raw), PUBLISH_DIR=str(site / "publish"),
               GX_ANALYTICS_ENABLED="False", TQDM_DISABLE="1", **extra)
    start = time.monotonic()
    done = subprocess.run(["make", "-s", "-C", str(PROJECT), "refresh"], env=env,
                          capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"the refresh in {site} failed:\n{done.stdout[-3000:]}"
                         f"{done.stderr[-3000:]}")
    return wall


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1024 ** 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="small", choices=["small", "full"])
    parser.add_argument("--raw", type=Path, help="a landing folder (default: generate one)")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    options = parser.parse_args()
    work = options.work or Path(tempfile.mkdtemp(prefix="bench-team-"))
    work.mkdir(parents=True, exist_ok=True)
    raw = options.raw
    if raw is None:
        from models_py.generate import generate

        raw = work / "raw"
        if not raw.exists():
            generate(raw, work / "truth.json", scale=options.scale)

    # As root the cluster runs as the system user postgres, who needs a folder it can enter.
    pg_data = Path(tempfile.mkdtemp(prefix="bench-team-postgres-"))
    server = local_postgres.Server("127.0.0.1", free_port(), "dagster", uuid.uuid4().hex,
                                   "lake")
    local_postgres.start(pg_data, server)
    try:
        rows = []
        rows.append(("single machine", refresh(work / "single", raw, {}), ""))
        lake_data = work / "lake_data"
        lake_data.mkdir()
        catalog = (f"host={server.host} port={server.port} user={server.user} "
                   f"password={server.password} dbname={server.db}")
        wall = refresh(work / "team", raw, {"WAREHOUSE_LAKE_CATALOG": catalog,
                                            "WAREHOUSE_LAKE_DATA_PATH": str(lake_data)})
        rows.append(("team mode (DuckLake, catalog in PostgreSQL)", wall,
                     f"lake data {folder_mb(lake_data):.0f} MB"))
    finally:
        local_postgres.stop(pg_data)
        shutil.rmtree(pg_data, ignore_errors=True)

    load = os.getloadavg()
    print(f"\n`make refresh`, {options.scale} default, from nothing; load average at the end "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")
    print("| mode | wall | |")
    print("|---|---|---|")
    for mode, wall, note in rows:
        minutes, seconds = divmod(round(wall), 60)
        print(f"| {mode} | {minutes} min {seconds} s | {note} |")


if __name__ == "__main__":
    main()
