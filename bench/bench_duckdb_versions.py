"""The whole refresh on two DuckDB versions, side by side: each virtual environment runs `make
refresh`'s command (the preflight, then the refresh) on the same raw folder into a new warehouse and
Dagster instance of its own, rounds alternating so that both see the same machine load.

    sed 's/^duckdb==1.5.5$/duckdb==2.0.0/' requirements.lock > /tmp/v2.lock
    python3.11 -m venv /tmp/v2 && /tmp/v2/bin/pip install -r /tmp/v2.lock \\
        && /tmp/v2/bin/pip install --no-deps -e .
    .venv/bin/python bench/bench_duckdb_versions.py --raw data/raw --work /tmp/versions \\
        --venv 1.5.5=.venv --venv 2.0.0=/tmp/v2 [--rounds 2]

For each run: wall time and peak memory of the refresh (``/usr/bin/time -v``), the seconds of
its steps by kind (raw loads, input-output, dbt build, checks, studies, publishing), the size of
the warehouse and its storage version, and the S003 coefficients' largest difference between
the versions.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

# Step seconds by kind, read from a run's Dagster instance by the environment that ran it.
STEPS = r"""
import json, sys, dagster as dg, duckdb
from dagster._core.events import DagsterEventType as T
instance = dg.DagsterInstance.get()
run_id = instance.get_run_records(limit=1)[0].dagster_run.run_id
times = {}
for kind in (T.STEP_START, T.STEP_SUCCESS, T.STEP_FAILURE):
    for r in instance.get_records_for_run(run_id, of_type=kind, limit=100000).records:
        times.setdefault(r.event_log_entry.step_key, {})[kind.value] = r.event_log_entry.timestamp
con = duckdb.connect(sys.argv[1], read_only=True)
version = con.execute("SELECT tags['storage_version'] FROM duckdb_databases() "
                      "WHERE database_name = current_database()").fetchone()[0]
coefficients = con.execute("SELECT \"table\" || '/' || \"column\" || '/' || outcome || '/' || "
                           "term, estimate FROM results.s003_coefficients").fetchall()
print(json.dumps({"duckdb": duckdb.__version__, "storage": version, "steps": {
    key: t.get("STEP_SUCCESS", t.get("STEP_FAILURE", 0)) - t["STEP_START"]
    for key, t in times.items() if "STEP_START" in t},
    "failed": sorted(k for k, t in times.items() if "STEP_FAILURE" in t),
    "coefficients": dict(coefficients)}))
"""

KINDS = (("raw loads", lambda k: k.startswith("load_") or k.startswith("raw")),
         ("input-output", lambda k: k.startswith("io") or "transfer" in k or "output_by" in k),
         ("dbt build", lambda k: "dbt" in k),
         ("studies", lambda k: re.search(r"__s\d{3}_", k) is not None),
         ("publishing", lambda k: k == "analyst_snapshot"),
         ("checks and the rest", lambda k: True))


def kind_of(step: str) -> str:
    return next(name for name, matches in KINDS if matches(step))


def refresh(python: Path, raw: Path, work: Path) -> dict:
    """`make refresh`'s commands with ``python``'s environment, into ``work``."""
    work.mkdir(parents=True)
    (work / "dagster_home").mkdir()
    (work / "dagster_home" / "dagster.yaml").write_bytes((PROJECT / "dagster.yaml").read_bytes())
    db = work / "warehouse.duckdb"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(WAREHOUSE_PATH=str(db), RAW_DATA_DIR=str(raw), PUBLISH_DIR=str(work / "publish"),
               DAGSTER_HOME=str(work / "dagster_home"), GX_ANALYTICS_ENABLED="False",
               TQDM_DISABLE="1", PATH=f"{python.parent}:{os.environ['PATH']}")
    log = work / "refresh.log"
    with open(log, "w") as out:
        subprocess.run(["/usr/bin/time", "-v", str(python), "-m", "dagster_project.refresh"],
                       env=env, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT)
    text = log.read_text(errors="replace")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    found = json.loads(subprocess.run([str(python), "-c", STEPS, str(db)], env=env, cwd=PROJECT,
                                      check=True, capture_output=True, text=True).stdout)
    by_kind: dict[str, float] = {}
    for step, s in found["steps"].items():
        by_kind[kind_of(step)] = by_kind.get(kind_of(step), 0.0) + s
    return {"wall": seconds, "peak_gb": int(peak.group(1)) / 1e6, "kinds": by_kind,
            "bytes": db.stat().st_size, **{k: found[k] for k in ("duckdb", "storage", "failed",
                                                                 "coefficients")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True, help="a generated raw folder")
    parser.add_argument("--work", type=Path, required=True, help="an empty folder")
    parser.add_argument("--venv", action="append", required=True,
                        help="LABEL=PATH of a virtual environment with the project installed")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    venvs = dict(v.split("=", 1) for v in args.venv)
    results: dict[str, list[dict]] = {label: [] for label in venvs}
    for round_ in range(args.rounds):
        for label, venv in venvs.items():
            done = refresh(Path(venv).resolve() / "bin" / "python", args.raw.resolve(),
                           args.work.resolve() / f"{label}_{round_}")
            results[label].append(done)
            print(label, round_, json.dumps({k: v for k, v in done.items()
                                             if k != "coefficients"}), flush=True)
    labels = list(venvs)
    print("\n| step | " + " | ".join(f"duckdb {results[l][0]['duckdb']}" for l in labels) + " |")
    print("|---|" + "---|" * len(labels))
    rows = [("whole refresh, wall s", lambda r: r["wall"]),
            *[(f"{name}, s (sum of steps)", lambda r, n=name: r["kinds"].get(n, 0.0))
              for name, _ in KINDS],
            ("peak memory GB", lambda r: r["peak_gb"]),
            ("warehouse MB", lambda r: r["bytes"] / 1e6)]
    for name, value in rows:
        cells = [" / ".join(f"{value(r):.1f}" for r in results[l]) for l in labels]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("| storage version | " + " | ".join(results[l][0]["storage"] for l in labels) + " |")
    first, second = (results[l][0]["coefficients"] for l in labels[:2])
    shared = first.keys() & second.keys()
    worst = max((abs(first[k] - second[k]) for k in shared
                 if first[k] is not None and second[k] is not None), default=float("nan"))
    print(f"\nS003 coefficients: {len(shared)} in both, largest difference {worst:.2e}; "
          f"failed steps: {({l: results[l][0]['failed'] for l in labels})}")


if __name__ == "__main__":
    sys.exit(main())
