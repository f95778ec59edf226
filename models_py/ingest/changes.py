"""Which raw files are new or changed since they were loaded: the landing folder's files,
by checksum, against the files ``raw._load_log`` records for each source.

A file belongs to the source whose landing sub-folder holds it; where sources share a folder
(the city and county yearbooks, in ``yearbook/``), to the one whose name begins the file name
(``city_yearbook_2015.csv``). Hidden files and office lock files (``.*``, ``~$*``) are not
data, nor, in a yearly source's folder, files without a year before the suffix. A file removed from the landing folder is not a change here: a full refresh of its
source drops its rows.

Checksums are kept between calls in :class:`Checksums`, keyed by each file's size and
modification time, so that an unchanged folder costs a directory listing, not a read of every
file (the CEADs tables alone are about 1 GB).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from models_py import warehouse
from models_py.ingest import SOURCES
from models_py.ingest.files import sha256, year_of

@dataclass(frozen=True)
class Change:
    """A file of ``source`` the warehouse has not loaded in its present content."""
    source: str
    file: str               # relative to the landing folder, as in raw._load_log
    sha256: str
    year: int | None        # the file's year, for a yearly source
    new: bool               # never loaded before (else: loaded with other content)


class Checksums:
    """sha256 of landing files, remembered by (size, modification time): a file is read again
    only when one of them changes. Serializable as JSON (a sensor keeps it as its cursor)."""

    def __init__(self, known: dict[str, list] | None = None):
        self.known = dict(known or {})      # relative path -> [size, mtime_ns, sha256]

    @classmethod
    def from_json(cls, text: str | None) -> Checksums:
        return cls(json.loads(text) if text else None)

    def to_json(self) -> str:
        return json.dumps(self.known, sort_keys=True, separators=(",", ":"))

    def of(self, path: Path, rel: str) -> str:
        stat = path.stat()
        seen = self.known.get(rel)
        if seen and seen[0] == stat.st_size and seen[1] == stat.st_mtime_ns:
            return seen[2]
        digest = sha256(path)
        self.known[rel] = [stat.st_size, stat.st_mtime_ns, digest]
        return digest

    def keep_only(self, rels: set[str]) -> None:
        """Forget files that are no longer in the landing folder."""
        self.known = {rel: v for rel, v in self.known.items() if rel in rels}


def landing_files(raw_dir: Path) -> dict[str, list[Path]]:
    """Each source's files in the landing folder (sources with none are left out)."""
    raw_dir = Path(raw_dir)
    by_folder: dict[str, list[str]] = {}
    for source, spec in SOURCES.items():
        by_folder.setdefault(spec.folder, []).append(source)
    found: dict[str, list[Path]] = {}
    for folder, sources in by_folder.items():
        base = raw_dir / folder
        if not base.is_dir():
            continue
        for path in sorted(base.iterdir()):
            if not path.is_file() or path.name.startswith((".", "~$")):
                continue
            owners = sources if len(sources) == 1 else [
                s for s in sources if path.name.startswith(s)]
            for source in owners:
                found.setdefault(source, []).append(path)
    return found


def loaded_checksums(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """(source, file) -> sha256 of the file as last loaded, from ``raw._load_log`` (empty for a
    warehouse that has loaded nothing)."""
    if not warehouse.has_table(con, "raw", "_load_log"):
        return {}
    rows = con.execute("SELECT source, file, arg_max(sha256, loaded_at) FROM raw._load_log "
                       "GROUP BY source, file").fetchall()
    return {(source, file): digest for source, file, digest in rows}


def changed_files(raw_dir: Path, loaded: dict[tuple[str, str], str],
                  checksums: Checksums | None = None) -> list[Change]:
    """The landing folder's files whose checksum differs from the one ``loaded`` records (or
    that it does not record), in source and file order."""
    raw_dir = Path(raw_dir)
    checksums = checksums if checksums is not None else Checksums()
    changes, seen = [], set()
    for source, paths in landing_files(raw_dir).items():
        for path in paths:
            rel = str(path.relative_to(raw_dir))
            seen.add(rel)
            year = year_of(path) if SOURCES[source].yearly else None
            if SOURCES[source].yearly and year is None:
                continue
            digest = checksums.of(path, rel)
            before = loaded.get((source, rel))
            if digest != before:
                changes.append(Change(source, rel, digest, year,
                                      new=before is None))
    checksums.keep_only(seen)
    return changes


def refresh_plan(changes: list[Change]) -> dict[str, int | None]:
    """What to reload for ``changes``: source -> the one year to reload (a yearly source whose
    changed files are all of one year), or None for the whole source."""
    years: dict[str, set] = {}
    for change in changes:
        years.setdefault(change.source, set()).add(change.year)
    return {source: next(iter(ys)) if len(ys) == 1 and None not in ys else None
            for source, ys in years.items()}
