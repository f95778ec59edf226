"""Benchmark of the input-output engine and the CEADs workbook reader at full size (309
cities x 42 sectors), and of the whole refresh on a landing folder whose CEADs tables are xlsx.

    .venv/bin/python bench/bench_io.py --raw data/raw [--work /tmp/bench_io]

Uses the three CEADs tables under ``<raw>/ceads`` when they are full size; otherwise builds
three random tables of the full-size structure in memory (309 x 42, zero-output sectors,
negative inventory changes, non-zero errors; values with two decimals, as a CEADs table in 万元
has). The workbooks (the generator's streaming xlsx writer, from the raw tables' own cells) are
written into ``--work`` once and kept.

Contenders, each step in a subprocess of its own so that its peak memory (ru_maxrss) is its
own; wall and CPU seconds are both reported, with the load average around each step, because
the CPU time of a step barely moves when other work shares the machine and the wall time does:

- engine: ``models_py.io.leontief`` on each table (I - A in place, one LU per table, every
  consuming city's final demand as right-hand sides, identities, city sums), then the output
  and transfer tables;
- bare scipy: ``lu_factor`` + ``lu_solve`` of the same systems (I - A built untimed); engine
  and bare steps alternate table by table;
- pymrio ``calc_all`` on one table (explicit Leontief inverse);
- reading one full-size workbook: ``models_py.ingest.ceads.read_mrio`` (the streaming reader,
  every check) against fastexcel (``load_sheet`` into Arrow: the cells only, no checks) and
  openpyxl read-only mode (timed on the first rows and extrapolated, as the table says);
- refresh: ``python -m dagster_project.launch --job refresh_all`` under ``/usr/bin/time -v``
  on a landing folder holding ``<raw>``'s sources with the CEADs tables as those workbooks, into a fresh
  warehouse in ``--work`` (wall time, and the peak resident set of the largest process).

Targets: engine / bare <= 1.5; pymrio / engine per table >= 3; engine peak <= ~4 GB (three
dense 12,978^2 float64 matrices); one workbook read <= 3 GB and >= 20x faster than openpyxl;
the xlsx refresh <= 8 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

YEARS = (2012, 2015, 2017)
FULL_Z_COLUMNS = 300 * 42    # a table with fewer region-sectors is not full size
OPENPYXL_ROWS = 120          # data rows openpyxl reads before its time is extrapolated
HEADER_ROWS = 4


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


# -------------------------------------------------------------------------- table sources

def load_table(spec: str):
    """A table from a file, or ``random:<year>:<seed>`` built in memory."""
    if spec.startswith("random:"):
        _, year, seed = spec.split(":")
        return random_table(int(year), int(seed))
    from models_py.ingest.ceads import read_mrio
    from models_py.io.table import MrioTable
    return MrioTable.from_blocks(read_mrio(Path(spec)))


def random_table(year: int, seed: int):
    """A random table of the full CEADs city size, balanced by construction."""
    import numpy as np

    from models_py import reference
    from models_py.ingest.ceads.table import FOOTER, Provenance
    from models_py.io.table import MrioTable

    cities = reference.cities()
    ceads = cities[cities["in_ceads"] == 1]
    sectors = reference.sectors()
    R, S = len(ceads), len(sectors)
    n = R * S
    rng = np.random.default_rng(seed)
    Z = np.asfortranarray(rng.random((n, n)))
    np.round(Z, 2, out=Z)
    Y = np.round(rng.random((n, R, 5)) * 10.0 - [0, 0, 0, 0, 5.2], 2)  # FU202 of either sign
    EX = np.round(rng.random(n) * 500.0, 2)
    ERR = np.round(rng.normal(0.0, 5.0, n), 2)
    dead = rng.choice(n, size=20, replace=False)        # zero-output region-sectors
    Z[dead, :] = 0.0
    Z[:, dead] = 0.0
    Y[dead] = 0.0
    EX[dead] = ERR[dead] = 0.0
    GO = Z.sum(axis=1) + Y.sum(axis=(1, 2)) + EX - ERR
    GO[dead] = 0.0
    live = GO > 0
    IM = np.where(live, np.round(rng.random(n) * 100.0, 2), 0.0)
    VA = np.where(live, np.round(rng.random((4, n)) * 100.0, 2), 0.0)
    TII = Z.sum(axis=0) + IM
    VA[3] = GO - TII - VA[:3].sum(axis=0)
    TVA = VA.sum(axis=0)
    footer = {code: n + 5 + k for k, code in enumerate(FOOTER)}
    return MrioTable(year, tuple(ceads["city_id"]), tuple(ceads["city_name"]),
                     tuple(sectors["sector_code"]), tuple(sectors["sector_name_en"]), Z, Y, EX,
                     Y.sum(axis=(1, 2)) + EX, ERR, GO, IM, TII, VA, TVA, TII + TVA,
                     Provenance(Path(f"random-{year}"), "memory", None, np.arange(5, n + 5),
                                footer))


def full_size_files(raw: Path) -> list[str] | None:
    """The raw CEADs files of the three years, if present and full size."""
    from models_py.ingest.ceads.table import file_year

    folder = raw / "ceads"
    if not folder.is_dir():
        return None
    found = {file_year(p): p for p in sorted(folder.iterdir()) if file_year(p) in YEARS}
    if set(found) != set(YEARS) or _z_columns(found[YEARS[0]]) < FULL_Z_COLUMNS:
        return None
    return [str(found[y]) for y in YEARS]


def _z_columns(path: Path) -> int:
    """Number of sector-coded columns in the codes row (reads the header rows only)."""
    import csv
    import re

    if path.suffix == ".parquet":
        import pyarrow.parquet as pq
        header = json.loads(pq.ParquetFile(path).schema_arrow.metadata[b"ceads_header"])
    elif path.suffix == ".csv":
        with path.open(encoding="utf-8", errors="replace", newline="") as f:
            header = [row for _, row in zip(range(4), csv.reader(f))]
    else:
        from models_py.ingest.ceads.xlsx import header_rows
        header = header_rows(path)
    return sum(1 for c in header[3] if re.fullmatch(r"\d{2}", str(c).strip()))


def grid_of(spec: str):
    """The cell grid of a table: a Parquet file's own cells, or laid out from the blocks."""
    from models_py.generate import mrio_files

    if spec.endswith(".parquet"):
        return mrio_files.read_ceads_parquet(Path(spec))
    t = load_table(spec)
    return mrio_files.build_grid(t.year, list(t.region_names), list(t.sector_labels),
                                 list(t.sectors), t.Z, t.Y_cat, t.EX, t.ERR, t.GO, t.IM, t.VA.T)


def _source_tag(spec: str) -> str:
    """A name for the table a workbook is written from (file path, size and time)."""
    import hashlib

    if spec.startswith("random:"):
        return spec.replace(":", "_")
    stat = Path(spec).stat()
    key = f"{Path(spec).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def make_xlsx(spec: str, work: Path) -> dict:
    """The full-size workbook of one table, written by the generator's streaming writer (once,
    then kept in ``work``)."""
    from models_py.generate import mrio_files
    from models_py.ingest.ceads.table import file_year

    folder = work / f"workbook_{_source_tag(spec)}"
    folder.mkdir(exist_ok=True)
    year = file_year(Path(spec)) or int(spec.split(":")[1])
    target = folder / f"ceads_city_mrio_{year}.xlsx"
    if not target.exists():
        grid = grid_of(spec)
        partial = folder / f"ceads_city_mrio_{year}.partial"
        mrio_files.write_ceads_xlsx(partial, grid)
        partial.rename(target)
    return {"path": str(target), "rows": HEADER_ROWS + _z_columns(target) + 8}


# ------------------------------------------------------------------------------ contenders

class Timer:
    """Wall and CPU seconds (all threads of this process) of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def run_engine_table(spec: str, threads: int, out: str) -> dict:
    """Solve one table with the engine; keep its city output for the transfer step."""
    import numpy as np

    from models_py.io import leontief

    with Timer() as read:
        table = load_table(spec)
    with Timer() as compute:
        solution = leontief.solve_output(table, overwrite=True, threads=threads)
        city = leontief.city_output(solution)
        values = leontief.identities(table, solution)
    np.savez(out, year=city.year, regions=np.array(city.regions), x=city.x,
             **{f"class_{c}": v for c, v in city.by_class.items()})
    return {"seconds": compute.wall, "cpu": compute.cpu, "read_seconds": read.wall,
            "peak_gb": peak_gb(), "identities": values}


def run_engine_tables(outs: list[str]) -> dict:
    """The engine's last step: the long output and transfer tables from the city outputs."""
    import numpy as np

    from models_py.io import leontief

    outputs = []
    for out in outs:
        with np.load(out) as f:
            outputs.append(leontief.CityOutput(
                int(f["year"]), tuple(str(r) for r in f["regions"]), f["x"],
                {c: f[f"class_{c}"] for c in leontief.CLASSES}))
    with Timer() as t:
        by_city = leontief.output_table(outputs)
        transfers = leontief.transfer_table(outputs)
    return {"seconds": t.wall, "cpu": t.cpu, "peak_gb": peak_gb(),
            "output_rows": len(by_city), "transfer_rows": len(transfers)}


def run_bare_table(spec: str, threads: int) -> dict:
    """scipy alone on the same system: I - A built untimed, then lu_factor + lu_solve."""
    import numpy as np
    from scipy.linalg import lu_factor, lu_solve
    from threadpoolctl import threadpool_limits

    table = load_table(spec)
    M, go = table.Z, table.GO
    inv = np.divide(1.0, go, out=np.zeros_like(go), where=go != 0)
    np.multiply(M, -inv[None, :], out=M)
    d = np.arange(M.shape[0])
    M[d, d] += 1.0
    y = table.Y_cat.sum(axis=2)
    del table
    with threadpool_limits(limits=threads, user_api="blas"), Timer() as t:
        factors = lu_factor(M, overwrite_a=True, check_finite=False)
        lu_solve(factors, y, check_finite=False)
    return {"seconds": t.wall, "cpu": t.cpu, "peak_gb": peak_gb()}


def run_pymrio(spec: str, threads: int) -> dict:
    import pandas as pd
    import pymrio
    from threadpoolctl import threadpool_limits

    from models_py.ingest.ceads.table import FINAL_USE

    table = load_table(spec)
    idx = pd.MultiIndex.from_arrays([table.row_regions(), table.row_sectors()],
                                    names=["region", "sector"])
    cols = pd.MultiIndex.from_product([table.regions, FINAL_USE], names=["region", "category"])
    io = pymrio.IOSystem(Z=pd.DataFrame(table.Z, idx, idx),
                         Y=pd.DataFrame(table.Y_cat.reshape(table.n, -1), idx, cols),
                         x=pd.DataFrame({"indout": table.GO}, idx))
    del table
    with threadpool_limits(limits=threads, user_api="blas"), Timer() as t:
        io.calc_all()
    return {"seconds": t.wall, "cpu": t.cpu, "peak_gb": peak_gb()}


def run_read_ours(path: str) -> dict:
    from models_py.ingest.ceads import read_mrio

    with Timer() as t:
        table = read_mrio(Path(path))
    width = 3 + table.n + 1 + 5 * len(table.regions) + 4
    return {"seconds": t.wall, "cpu": t.cpu, "peak_gb": peak_gb(),
            "cells": (table.n + 12) * width}


def run_read_fastexcel(path: str) -> dict:
    """fastexcel (calamine) loading the table sheet into Arrow: the cells only, no checks."""
    import fastexcel

    from models_py.ingest.ceads.xlsx import header_rows

    width = len(header_rows(Path(path))[3])
    with Timer() as t:
        reader = fastexcel.read_excel(path)
        sheet = next(s for s in reader.sheet_names if s.startswith("Table_"))
        dtypes = {k: ("string" if k < 3 else "float") for k in range(width)}
        batch = reader.load_sheet(sheet, header_row=None, skip_rows=HEADER_ROWS,
                                  dtypes=dtypes).to_arrow()
    return {"seconds": t.wall, "cpu": t.cpu, "peak_gb": peak_gb(),
            "cells": (batch.num_rows + HEADER_ROWS) * batch.num_columns}


def run_read_openpyxl(path: str, rows: int, total: int) -> dict:
    import openpyxl

    with Timer() as t:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = book.worksheets[0]
        total = total or sheet.max_row
        count = 0
        for _ in sheet.iter_rows(values_only=True):
            count += 1
            if count >= rows + 4:
                break
    book.close()
    scale = total / max(count, 1)
    return {"seconds_measured": t.wall, "rows_measured": count, "rows_total": total,
            "seconds": t.wall * scale, "cpu": t.cpu * scale, "peak_gb": peak_gb()}


def run_refresh(raw: Path, work: Path, workbooks: list[str]) -> dict:
    """The whole refresh (every asset) on ``raw``'s sources with the CEADs tables as
    ``workbooks``, into a fresh warehouse under ``work``, timed by ``/usr/bin/time -v``."""
    import re
    import shutil

    landing = raw
    if any(Path(b).parent != raw / "ceads" for b in workbooks):
        landing = work / "landing_xlsx"       # raw's folders, the CEADs tables as workbooks
        shutil.rmtree(landing, ignore_errors=True)
        (landing / "ceads").mkdir(parents=True)
        for folder in sorted(raw.iterdir()):
            if folder.is_dir() and folder.name != "ceads":
                (landing / folder.name).symlink_to(folder.resolve(), target_is_directory=True)
        for book in workbooks:
            (landing / "ceads" / Path(book).name).symlink_to(Path(book).resolve())
    out = work / "refresh"
    shutil.rmtree(out, ignore_errors=True)
    (out / "dagster_home").mkdir(parents=True)
    shutil.copy(ROOT / "dagster.yaml", out / "dagster_home" / "dagster.yaml")
    env = {**os.environ, "RAW_DATA_DIR": str(landing), "DAGSTER_HOME": str(out / "dagster_home"),
           "WAREHOUSE_PATH": str(out / "warehouse.duckdb"), "PUBLISH_DIR": str(out / "publish")}
    before = os.getloadavg()[0]
    done = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "dagster_project.launch",
                           "--job", "refresh_all"], env=env, cwd=ROOT, capture_output=True,
                          text=True)
    (out / "refresh.log").write_text(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"the refresh failed; its log: {out / 'refresh.log'}\n"
                           f"{done.stderr[-3000:]}")

    def measure(label: str) -> str:
        return re.search(rf"{re.escape(label)}: (.+)", done.stderr).group(1)

    wall = 0.0
    for part in measure("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    return {"seconds": wall,
            "cpu": float(measure("User time (seconds)")) + float(measure("System time (seconds)")),
            "peak_gb": int(measure("Maximum resident set size (kbytes)")) / 1024 ** 2,
            "load": (before, os.getloadavg()[0]), "landing": str(landing)}


# ------------------------------------------------------------------------------ the driver

def child(args: list[str]) -> dict:
    """Run one step in a fresh interpreter; its last output line is JSON. The load average
    (1 min) before and after goes with the result: other work on the machine slows a step."""
    before = os.getloadavg()[0]
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                          text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["load"] = (before, os.getloadavg()[0])
    return out


def wait_for_memory(gb: float, patience: float = 1800.0) -> None:
    """Wait until ``gb`` of memory is available (other work on the machine may hold it)."""
    deadline = time.time() + patience
    while True:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) for line in f}
        available = info["MemAvailable"] / 1024 ** 2
        if available >= gb or time.time() > deadline:
            return
        print(f"  waiting for {gb:.0f} GB of free memory ({available:.1f} GB now)", flush=True)
        time.sleep(30)


def combine(parts: list[dict]) -> dict:
    """Several steps of one contender: times add up, peak memory is the largest."""
    return {"seconds": sum(p["seconds"] for p in parts), "cpu": sum(p["cpu"] for p in parts),
            "peak_gb": max(p["peak_gb"] for p in parts),
            "load": (min(p["load"][0] for p in parts), max(p["load"][1] for p in parts))}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--raw", type=Path, required=True, help="raw landing folder")
    p.add_argument("--work", type=Path, default=Path("/tmp/bench_io"),
                   help="folder for the full-size workbook and intermediate results")
    p.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all)")
    p.add_argument("--openpyxl-rows", type=int, default=OPENPYXL_ROWS)
    p.add_argument("--skip", nargs="*", default=[],
                   choices=["engine", "bare", "pymrio", "xlsx", "fastexcel", "openpyxl",
                            "refresh"])
    a = p.parse_args(argv)
    from models_py.io.leontief import default_threads

    threads = a.threads or default_threads()
    a.work.mkdir(parents=True, exist_ok=True)
    specs = full_size_files(a.raw)
    if specs:
        origin = f"raw files under {a.raw / 'ceads'}"
    else:
        specs = [f"random:{year}:{k + 1}" for k, year in enumerate(YEARS)]
        origin = "random tables of full size built in memory (no full-size raw files found)"
    print(f"tables: {origin}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {threads} BLAS threads, "
          f"Python {platform.python_version()}\n", flush=True)

    rows, results = [], {}

    def record(name: str, what: str, r: dict) -> None:
        rows.append((name, what, r))
        print(f"  {name}: {r['seconds']:.1f} s", flush=True)

    # engine and bare scipy alternate table by table, so that other work on the machine
    # weighs on both alike
    engine, bare, outs = [], [], []
    for k, spec in enumerate(specs):
        if "engine" not in a.skip:
            outs.append(str(a.work / f"city_output_{k}.npz"))
            engine.append(child(["engine_table", spec, str(threads), outs[-1]]))
            print(f"  engine, table {k + 1}: {engine[-1]['seconds']:.1f} s", flush=True)
        if "bare" not in a.skip:
            bare.append(child(["bare_table", spec, str(threads)]))
            print(f"  bare scipy, table {k + 1}: {bare[-1]['seconds']:.1f} s", flush=True)
    if engine:
        last = child(["engine_tables", *outs])
        r = results["engine"] = combine(engine + [last])
        r.update(identities={key: max(e["identities"][key] for e in engine)
                             for key in engine[0]["identities"]},
                 output_rows=last["output_rows"], transfer_rows=last["transfer_rows"])
        record("engine (models_py.io.leontief)", "3 tables: I-A, LU, solve, sums, transfers", r)
        if not specs[0].startswith("random:"):
            record("  its reads (read_mrio)", f"3 files ({Path(specs[0]).suffix})",
                   {"seconds": sum(e["read_seconds"] for e in engine), "cpu": float("nan")})
    if bare:
        record("bare scipy lu_factor + lu_solve", "the same 3 systems",
               results.setdefault("bare", combine(bare)))
    if "pymrio" not in a.skip:
        wait_for_memory(10)
        record("pymrio 0.7.0 calc_all", "1 table",
               results.setdefault("pymrio", child(["pymrio", str(threads), specs[0]])))
    reads = [k for k in ("xlsx", "fastexcel", "openpyxl", "refresh") if k not in a.skip]
    full_raw = not specs[0].startswith("random:")
    books = []
    if reads:
        t0 = time.perf_counter()
        for spec in (specs if "refresh" in reads and full_raw else specs[:1]):
            books.append({"path": spec, "rows": HEADER_ROWS + _z_columns(Path(spec)) + 8}
                         if spec.endswith(".xlsx") else child(["make_xlsx", spec, str(a.work)]))
        print(f"  workbooks {', '.join(b['path'] for b in books)}: "
              f"{Path(books[0]['path']).stat().st_size / 2 ** 20:.0f} MB each "
              f"(ready in {time.perf_counter() - t0:.0f} s)", flush=True)
    book = books[0] if books else None
    if "xlsx" in reads:
        r = results["xlsx"] = child(["read_ours", book["path"]])
        record("read xlsx: read_mrio (streaming)",
               f"1 workbook, {r['cells'] / 1e6:.0f}M cells, every check", r)
    if "fastexcel" in reads:
        wait_for_memory(16)
        r = results["fastexcel"] = child(["read_fastexcel", book["path"]])
        record("read xlsx: fastexcel 0.21", "the same cells into Arrow, no checks", r)
    if "openpyxl" in reads:
        r = results["openpyxl"] = child(["read_openpyxl", book["path"],
                                         str(a.openpyxl_rows), str(book["rows"])])
        record("read xlsx: openpyxl read-only", f"{r['rows_measured']} of {r['rows_total']} "
               f"rows in {r['seconds_measured']:.1f} s, extrapolated", r)
    if "refresh" in reads and full_raw:
        r = results["refresh"] = run_refresh(a.raw, a.work, [b["path"] for b in books])
        record("refresh, CEADs as xlsx", "make refresh: every asset, a fresh warehouse", r)
    elif "refresh" in reads:
        print("  refresh skipped: it needs the full default under --raw")

    print(f"\n{'contender':34} {'what':50} {'wall s':>8} {'CPU s':>8} {'peak GB':>8} "
          f"{'load':>9}")
    for name, what, r in rows:
        peak = r.get("peak_gb")
        load = r.get("load")
        print(f"{name:34} {what:50} {r['seconds']:8.1f} {r['cpu']:8.1f} "
              f"{'' if peak is None else f'{peak:8.2f}':>8} "
              f"{'' if load is None else f'{load[0]:.1f}-{load[1]:.1f}':>9}")
    print("(CPU s: all threads of the process; load: 1-minute load average before and after)\n")
    if "engine" in results and "bare" in results:
        e, b = results["engine"], results["bare"]
        print(f"engine / bare scipy:             {e['seconds'] / b['seconds']:.2f} wall, "
              f"{e['cpu'] / b['cpu']:.2f} CPU   (target <= 1.5)")
    if "engine" in results and "pymrio" in results:
        e, m = results["engine"], results["pymrio"]
        print(f"pymrio / engine, per table:      {m['seconds'] / (e['seconds'] / len(specs)):.1f}x "
              f"wall, {m['cpu'] / (e['cpu'] / len(specs)):.1f}x CPU   (target >= 3)")
    if "engine" in results:
        e = results["engine"]
        print(f"engine peak memory:              {e['peak_gb']:.2f} GB (target <= ~4 GB)")
        print("identities (worst of 3 tables):  " + ", ".join(
            f"{k} {v:.2e}" for k, v in e["identities"].items()))
        print(f"rows: io_output_by_city {e['output_rows']:,}, io_transfer {e['transfer_rows']:,}")
    if "xlsx" in results:
        x = results["xlsx"]
        print(f"read_mrio on xlsx, peak memory:  {x['peak_gb']:.2f} GB (target <= 3 GB)")
        for other in ("openpyxl", "fastexcel"):
            if other in results:
                print(f"{other} / read_mrio on xlsx:{' ' * (9 - len(other))}"
                      f"{results[other]['seconds'] / x['seconds']:.1f}x wall, "
                      f"{results[other]['cpu'] / x['cpu']:.1f}x CPU"
                      + ("   (target >= 20)" if other == "openpyxl" else ""))
    if "refresh" in results:
        print(f"xlsx refresh peak memory:        {results['refresh']['peak_gb']:.2f} GB "
              "(target <= 8 GB)")
    steps = {"engine_tables": engine, "bare_tables": bare, **results}
    (a.work / "bench_io_results.json").write_text(json.dumps(steps, indent=1))
    print(f"\nevery step's figures: {a.work / 'bench_io_results.json'}")


def child_main(args: list[str]) -> None:
    kind, rest = args[0], args[1:]
    if kind == "engine_table":
        out = run_engine_table(rest[0], int(rest[1]), rest[2])
    elif kind == "engine_tables":
        out = run_engine_tables(rest)
    elif kind == "bare_table":
        out = run_bare_table(rest[0], int(rest[1]))
    elif kind == "pymrio":
        out = run_pymrio(rest[1], int(rest[0]))
    elif kind == "make_xlsx":
        out = make_xlsx(rest[0], Path(rest[1]))
    elif kind == "read_ours":
        out = run_read_ours(rest[0])
    elif kind == "read_fastexcel":
        out = run_read_fastexcel(rest[0])
    elif kind == "read_openpyxl":
        out = run_read_openpyxl(rest[0], int(rest[1]), int(rest[2]))
    else:
        raise SystemExit(f"unknown step {kind!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    else:
        main()
