"""DuckLake as the analysts' warehouse, measured against a plain DuckDB file.

It reads the analysts' copy; besides the project's DuckLake extension it needs SQLite's:

    .venv/bin/pip install duckdb-extension-sqlite-scanner==1.5.5
    .venv/bin/python bench/bench_ducklake.py data/warehouse_read.duckdb --work /tmp/dl

It measures, for every table of the copy: writing them all into a new DuckDB file and into a
DuckLake (catalog in a DuckDB file, data as Parquet); a second write of every table, as a
re-refresh does, and what it leaves on disk; an analyst's query on each; and whether a second
process can read the lake while a writer holds it open, with the catalog in a DuckDB file and
in SQLite.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import duckdb

QUERY = ("SELECT period, count(*), avg(it), avg(connectivity_hsr) FROM marts.city_pair_period "
         "GROUP BY 1 ORDER BY 1")


def extension(name: str) -> str:
    import importlib
    module = importlib.import_module(f"duckdb_extension_{name}")
    return str(next(Path(module.__file__).parent.rglob(f"{name}.duckdb_extension")))


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"LOAD '{extension('ducklake')}'")
    con.execute(f"LOAD '{extension('sqlite_scanner')}'")
    return con


def tables(con, catalog: str) -> list[tuple[str, str]]:
    return con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                       "WHERE database_name = ? ORDER BY 1, 2", [catalog]).fetchall()


def write_all(con, source: str, target: str) -> float:
    """Create every table of ``source`` in ``target``, one transaction per schema."""
    started = time.perf_counter()
    listed = tables(con, source)
    for schema in sorted({s for s, _ in listed}):
        con.execute(f'CREATE SCHEMA IF NOT EXISTS {target}."{schema}"')
        con.execute("BEGIN")
        for s, t in listed:
            if s == schema:
                con.execute(f'CREATE OR REPLACE TABLE {target}."{s}"."{t}" AS '
                            f'SELECT * FROM {source}."{s}"."{t}"')
        con.execute("COMMIT")
    return time.perf_counter() - started


def size(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e9


def timed_query(con, catalog: str) -> float:
    con.execute(f"USE {catalog}")
    started = time.perf_counter()
    con.execute(QUERY).fetchall()
    seconds = time.perf_counter() - started
    con.execute("USE memory")
    return seconds


READER = """
import sys, duckdb
sys.path.insert(0, sys.argv[3])
from bench_ducklake import connect
con = connect()
try:
    con.execute(f"ATTACH '{sys.argv[1]}' AS lake (READ_ONLY, DATA_PATH '{sys.argv[2]}')")
    print(con.execute("SELECT count(*) FROM lake.marts.city_year").fetchone()[0])
except Exception as exc:
    print(type(exc).__name__, str(exc).splitlines()[0][:160])
"""


def reader_while_writer_open(con, url: str, data: Path) -> str:
    """What a second process gets when it reads the lake while this one has it attached."""
    out = subprocess.run([sys.executable, "-c", READER, url, str(data), str(Path(__file__).parent)],
                         capture_output=True, text=True, timeout=120)
    return (out.stdout.strip() or out.stderr.strip().splitlines()[-1])[:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("copy", type=Path, help="the analysts' copy (warehouse_read.duckdb)")
    parser.add_argument("--work", type=Path, required=True, help="an empty folder for the output")
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=False)
    con = connect()
    con.execute(f"ATTACH '{args.copy.resolve()}' AS src (READ_ONLY)")
    rows = []

    con.execute(f"ATTACH '{work / 'native.duckdb'}' AS native")
    first = write_all(con, "src", "native")
    con.execute("CHECKPOINT native")
    rows.append(("DuckDB file", "write every table", first, size(work / "native.duckdb")))
    again = write_all(con, "src", "native")
    con.execute("CHECKPOINT native")
    rows.append(("DuckDB file", "write every table again", again, size(work / "native.duckdb")))
    rows.append(("DuckDB file", "analyst query", timed_query(con, "native"), None))

    results = {}
    for catalog in ("duckdb", "sqlite"):
        meta = work / f"lake_{catalog}.meta"
        data = work / f"lake_{catalog}_data"
        url = f"ducklake:{catalog}:{meta}" if catalog == "sqlite" else f"ducklake:{meta}"
        con.execute(f"ATTACH '{url}' AS lake (DATA_PATH '{data}/')")
        first = write_all(con, "src", "lake")
        rows.append((f"DuckLake, {catalog} catalog", "write every table", first,
                     size(data) + size(meta)))
        again = write_all(con, "src", "lake")
        rows.append((f"DuckLake, {catalog} catalog", "write every table again", again,
                     size(data) + size(meta)))
        rows.append((f"DuckLake, {catalog} catalog", "analyst query", timed_query(con, "lake"),
                     None))
        results[catalog] = reader_while_writer_open(con, url, data)
        con.execute("DETACH lake")

    print(f"analysts' copy: {args.copy} ({size(args.copy):.2f} GB), duckdb {duckdb.__version__}\n")
    print("| store | step | seconds | on disk GB |")
    print("|---|---|---|---|")
    for store, step, seconds, gb in rows:
        print(f"| {store} | {step} | {seconds:.2f} | {'' if gb is None else f'{gb:.2f}'} |")
    for catalog, outcome in results.items():
        print(f"\nsecond process reading the lake ({catalog} catalog) while a writer has it "
              f"attached: {outcome}")


if __name__ == "__main__":
    main()
