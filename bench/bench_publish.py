"""Publishing the analysts' copy on a full-size warehouse (run `make demo` first).

Works on a copy of the warehouse (the original is only read) in a temporary folder (``--work``,
default beside the warehouse):
1. a plain file copy of the warehouse (the floor for any whole-file copy);
2. the first publish of a warehouse in the library's default storage version: a compaction into
   ``warehouse.STORAGE_VERSION`` (``COPY FROM DATABASE``, what every publish did before), then a copy;
3. a publish with nothing changed: checkpoint and file copy only;
4. a re-refresh simulated by replacing every table, each schema in one transaction as the
   loaders do, then a publish that compacts the grown file.

    .venv/bin/python bench/bench_publish.py [--warehouse data/warehouse.duckdb] [--work DIR]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from models_py import snapshot, warehouse


def replace_every_table(db: Path) -> float:
    """Rewrite every base table, one transaction per schema; returns the seconds taken."""
    started = time.perf_counter()
    with warehouse.connect(db) as con:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                             "WHERE database_name = current_database() ORDER BY 1, 2").fetchall()
        for schema in sorted({s for s, _ in tables}):
            con.execute("BEGIN")
            for s, t in tables:
                if s == schema:
                    con.execute(f'CREATE OR REPLACE TABLE "{s}"."{t}" AS '
                                f'SELECT * FROM "{s}"."{t}"')
            con.execute("COMMIT")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=warehouse.warehouse_path())
    parser.add_argument("--work", type=Path, help="folder for the copies (default: beside it)")
    args = parser.parse_args()
    source = args.warehouse.resolve()
    gb = 1e9
    work = args.work or source.parent
    with tempfile.TemporaryDirectory(dir=work, prefix="bench_publish_") as tmp:
        db = Path(tmp) / "warehouse.duckdb"
        started = time.perf_counter()
        shutil.copyfile(source, db)
        copy_s = time.perf_counter() - started
        rows = [("plain file copy of the warehouse", copy_s, db.stat().st_size / gb, "")]

        first = snapshot.publish(db)
        rows.append(("first publish (compacts into the shell-readable version, then copies)",
                     first.seconds, first.warehouse_bytes / gb, f"compacted={first.compacted}"))
        same = snapshot.publish(db)
        rows.append(("publish with nothing changed (checkpoint + file copy)", same.seconds,
                     same.warehouse_bytes / gb, f"compacted={same.compacted}"))
        rewrite_s = replace_every_table(db)
        rows.append(("re-refresh simulated: every table replaced", rewrite_s,
                     db.stat().st_size / gb, "warehouse grown"))
        after = snapshot.publish(db)
        rows.append(("publish after the re-refresh", after.seconds, after.warehouse_bytes / gb,
                     f"compacted={after.compacted}, free share before {after.free_share:.2f}"))

    print(f"warehouse: {source} ({source.stat().st_size / gb:.2f} GB)\n")
    print("| step | seconds | warehouse GB after | note |")
    print("|---|---|---|---|")
    for step, seconds, size, note in rows:
        print(f"| {step} | {seconds:.1f} | {size:.2f} | {note} |")


if __name__ == "__main__":
    main()
