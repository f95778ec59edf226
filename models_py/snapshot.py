"""The analysts' copy of the warehouse: published whole and atomically after a refresh.

DuckDB allows one writing process per file and no writer while another process has the file
open, even read-only. So analysts (and anything else that only reads) open a copy,
``warehouse_read.duckdb`` beside the warehouse, that a refresh never opens: ``publish`` writes
the new copy to a temporary file and renames it over the old one, so a reader sees the previous
copy or the new one, never part of either. A reader that already has the old copy open keeps
reading it until it reconnects.

Publishing also keeps the warehouse from growing. A refresh that replaces a table writes the new
rows before it frees the old ones, and DuckDB reuses freed blocks but never gives them back to
the file system, so after a re-refresh the file holds about one refresh's worth of free blocks.
When the free share passes ``COMPACT_ABOVE``, ``publish`` first rewrites the warehouse into a
fresh file (``COPY FROM DATABASE``, DuckDB's way of compacting) and swaps it in; then the copy
is a plain file copy of a file with no free space in it.

Both files use storage version ``warehouse.STORAGE_VERSION`` (a warehouse in another version is
converted by the same compaction), so the copy is a byte-for-byte copy of the checkpointed
warehouse.
"""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from models_py import warehouse

# Share of free blocks in the warehouse above which publishing compacts it first: the file
# never carries more than this share of free space after a publish.
COMPACT_ABOVE = 0.1


@dataclass(frozen=True)
class Published:
    """What one publish did."""
    path: Path                 # the analysts' copy
    bytes: int                 # its size
    warehouse_bytes: int       # the warehouse's size afterwards
    compacted: bool            # whether the warehouse was rewritten first
    free_share: float          # free blocks / all blocks in the warehouse before publishing
    seconds: float


@dataclass(frozen=True)
class Storage:
    """How a DuckDB file uses its blocks."""
    version: str
    used_blocks: int
    free_blocks: int

    @property
    def free_share(self) -> float:
        total = self.used_blocks + self.free_blocks
        return self.free_blocks / total if total else 0.0


def storage(con) -> Storage:
    """Storage version and block use of the connection's default database."""
    name = con.execute("SELECT current_database()").fetchone()[0]
    version = con.execute("SELECT tags['storage_version'] FROM duckdb_databases() "
                          "WHERE database_name = ?", [name]).fetchone()[0] or ""
    used, free = con.execute("SELECT used_blocks, free_blocks FROM pragma_database_size() "
                             "WHERE database_name = ?", [name]).fetchone()
    return Storage(version.rstrip("+"), int(used), int(free))


def publish(path: Path | None = None) -> Published:
    """Checkpoint the warehouse, compact it if it carries too much free space (or is in another
    storage version), and replace the analysts' copy with a copy of it.

    Every file is written under a temporary name and renamed into place, so a crash at any point
    leaves the warehouse and the copy each whole: old or new. Temporary files a crash left
    behind are removed first.
    """
    started = time.perf_counter()
    path = Path(path or warehouse.warehouse_path())
    target = warehouse.snapshot_path(path)
    compacting = path.with_name(path.name + ".compacting")
    partial = target.with_name(target.name + ".partial")
    for leftover in (compacting, partial):
        leftover.unlink(missing_ok=True)

    with warehouse.connect(path) as con:
        con.execute("CHECKPOINT")
        before = storage(con)
        compact = before.version != warehouse.STORAGE_VERSION or before.free_share > COMPACT_ABOVE
        if compact:
            _copy_database(con, compacting)
    if compact:
        _durable_replace(compacting, path)

    # A read-only connection keeps writers out while the bytes are copied, and never writes.
    with warehouse.connect(path, read_only=True):
        shutil.copyfile(path, partial)
    _durable_replace(partial, target)
    return Published(target, target.stat().st_size, path.stat().st_size, compact,
                     round(before.free_share, 4), round(time.perf_counter() - started, 2))


def _copy_database(con, destination: Path) -> None:
    """Write every schema, table and view of the connection's database into a new file."""
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    version = warehouse.STORAGE_VERSION
    con.execute(f"ATTACH '{destination}' AS compacted (STORAGE_VERSION '{version}')")
    try:
        con.execute(f'COPY FROM DATABASE "{catalog}" TO compacted')
    finally:
        con.execute("DETACH compacted")


def _durable_replace(source: Path, destination: Path) -> None:
    """Rename ``source`` over ``destination`` after flushing it to disk, then flush the folder,
    so that even a power cut leaves one whole file or the other."""
    if destination.with_name(destination.name + ".wal").exists():
        # A write-ahead log beside the destination would be replayed into the new file.
        raise RuntimeError(f"{destination}.wal exists: a writer still has {destination} open")
    with open(source, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(source, destination)
    folder = os.open(destination.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
