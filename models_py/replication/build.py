"""Build a study's replication package from the warehouse and the published files.

:func:`build` writes ``<out_dir>/<study>/`` and ``<out_dir>/<study>.zip`` (see the package's
layout in ``models_py.replication``): the relations the study's tables read (only the columns
they read: ``models_py.estimate.run.table_reads``), its results tables, its published files,
the study file, the estimation code ``reproduce.py`` imports and the lock file, then runs
``reproduce.py`` in the package, in a process of its own without the project on its path, and
measures it: a package whose exhibits do not all reproduce is not published. The README
(``models_py.replication.readme``) comes last, with the measured runtime, then ``SHA256SUMS``.
The package is assembled beside its place and renamed into it, so a failed build leaves the
previous package as it was.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import site
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from models_py import audit, ingest, lineage, reference, warehouse
from models_py.estimate import run
from models_py.estimate.specs import studies_dir
from models_py.estimate.study import Study
from models_py.generate import MARKER
from models_py.replication import readme, reproduce
from models_py.replication.reproduce import CODE, DATA, OUTPUTS, REPRODUCED, RESULTS
from models_py.source_code import imported_modules, module_file

PROJECT = Path(__file__).resolve().parents[2]
LOCK = "requirements.lock"
CHECKSUMS = "SHA256SUMS"
# Modules the packaged code imports in place of the project's own.
SUBSTITUTES = {"models_py.lineage": Path(__file__).with_name("packaged_lineage.py")}


class ReplicationError(RuntimeError):
    """The package's reproduction failed: the message holds its output."""


@dataclass
class Package:
    """A built package and what was measured while building it."""
    folder: Path
    zip: Path
    files: dict[str, str]                 # path in the package -> sha256
    bytes: int                            # the folder's size
    zip_bytes: int
    seconds: float                        # building, the reproduction included
    reproduction: readme.Reproduction | None   # None: built without running it


def build(con: duckdb.DuckDBPyConnection, study: Study, publish_dir: Path, out_dir: Path,
          raw_dir: Path, check: bool = True) -> Package:
    """Write the replication package of ``study`` into ``out_dir`` (see the module doc). A
    build that fails leaves the previous package as it was, and what it assembled in
    ``<out_dir>/.<study>.building`` for inspection. Without ``check``, ``reproduce.py`` is not
    run (for a caller that runs it itself) and the README says its runtime was not
    measured."""
    started = time.perf_counter()
    check_published(con, study)
    name = study.name.lower()
    out_dir = Path(out_dir).resolve()
    staging = out_dir / f".{name}.building"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    reproduction = assemble(con, study, Path(publish_dir) / name, staging, raw_dir, check)
    files = checksums(staging)
    (staging / CHECKSUMS).write_text("".join(f"{h}  {f}\n" for f, h in files.items()),
                                     encoding="utf-8")
    folder, archive = out_dir / name, out_dir / f"{name}.zip"
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    write_zip(folder, archive)
    return Package(folder, archive, files,
                   sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()),
                   archive.stat().st_size, round(time.perf_counter() - started, 2),
                   reproduction)


def assemble(con: duckdb.DuckDBPyConnection, study: Study, published: Path, folder: Path,
             raw_dir: Path, check: bool) -> readme.Reproduction | None:
    """Data, results, outputs and code into ``folder``, then the reproduction, run and
    measured (with ``check``), then the README."""
    data = write_data(con, study, folder / DATA)
    results = write_results(con, study, folder / RESULTS)
    shutil.copytree(published, folder / OUTPUTS)
    code = write_code(study, folder / CODE)
    shutil.copy(reproduce.__file__, folder / "reproduce.py")
    reproduction = run_reproduction(folder) if check else None
    provenance = readme.Provenance(
        audit.record(con, study.relations, lineage.raw_tables(study.relations)),
        source_status(con, study.sources), landing_folder(raw_dir))
    (folder / readme.README).write_text(
        readme.render(study, folder, checksums(folder), data, results, code, reproduction,
                      provenance, machine()), encoding="utf-8")
    return reproduction


# ------------------------------------------------------------------------------ data

def check_published(con: duckdb.DuckDBPyConnection, study: Study) -> None:
    """Raise :class:`ReplicationError` unless every table of the study holds results its last
    run published (``results._table_status``): a package of stale, failed or withdrawn
    results would not be the study's."""
    status = run.table_status(con)
    mine = dict(status.loc[status["study"] == study.name, ["table", "status"]].values)
    wrong = {t["table"]: mine.get(t["table"], "never estimated") for t in study.tables
             if mine.get(t["table"]) not in (run.PUBLISHED, run.NOT_ESTIMABLE)}
    if wrong:
        raise ReplicationError(
            f"{study.name} has tables without published results: "
            + ", ".join(f"{t} ({s})" for t, s in wrong.items())
            + f"; estimate them first (make study STUDY={study.name.lower()})")


def read_columns(con: duckdb.DuckDBPyConnection, study: Study
                 ) -> dict[str, list[str] | None]:
    """Each relation the study reads, with the columns any of its tables reads (None where
    a table reads it whole)."""
    wanted: dict[str, set[str] | None] = {}
    for table in study.tables:
        for relation, columns in run.table_reads(study, table["table"]).items():
            present = run.present_columns(con, relation, columns)
            if present is None or wanted.get(relation, set()) is None:
                wanted[relation] = None
            else:
                wanted[relation] = wanted.get(relation, set()) | set(present)
    return {r: None if c is None else sorted(c) for r, c in wanted.items()}


def write_data(con: duckdb.DuckDBPyConnection, study: Study, folder: Path
               ) -> list[readme.DataFile]:
    """The relations the study reads, as ``<schema>.<relation>.parquet``: every row (the
    estimators derive event time and spatial lags on the whole panel before a sample is cut)
    and the columns read, in the relation's column order. A relation read in part is written
    in the fixed order the estimation reads it in (so the same rows give the same file); one
    read whole in its stored order, the order a frame table prints it in."""
    folder.mkdir()
    written = []
    for relation, wanted in read_columns(con, study).items():
        path = folder / f"{relation}.parquet"
        described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        columns = [c for (c, *_) in described if wanted is None or c in wanted]
        order = "" if wanted is None else f" ORDER BY {run.row_order(con, relation, columns)}"
        cols = ", ".join(f'"{c}"' for c in columns)
        con.execute(f"COPY (SELECT {cols} FROM {relation}{order}) TO '{_sql_text(path)}' "
                    "(FORMAT parquet)")
        rows = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
        written.append(readme.DataFile(relation, path.name, rows, columns))
    return written


def write_results(con: duckdb.DuckDBPyConnection, study: Study, folder: Path) -> list[str]:
    """Every ``results.<study>_*`` table as ``<table>.parquet``; returns the table names."""
    folder.mkdir()
    names = warehouse.table_names(con, run.RESULTS_SCHEMA, f"{study.name.lower()}_")
    for name in names:
        con.execute(f'COPY (SELECT * FROM {run.RESULTS_SCHEMA}."{name}") TO '
                    f"'{_sql_text(folder / name)}.parquet' (FORMAT parquet)")
    return names


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")


def source_status(con: duckdb.DuckDBPyConnection, sources: list[str]) -> list[dict]:
    """The rows of ``raw._source_status`` of the study's sources."""
    if not warehouse.has_table(con, "raw", "_source_status"):
        return []
    rows = con.execute("SELECT * FROM raw._source_status WHERE source IN "
                       f"({', '.join('?' * len(sources))}) ORDER BY source", sources).df()
    return rows.astype(str).to_dict("records")


def landing_folder(raw_dir: Path) -> dict:
    """Where the raw files were: the folder and, for the embedded default, the settings it
    was generated with (from the marker the generator writes), else None."""
    marker = Path(raw_dir) / MARKER
    settings = json.loads(marker.read_text(encoding="utf-8")) if marker.exists() else None
    return {"path": str(Path(raw_dir).resolve()), "embedded_default": settings}


# ------------------------------------------------------------------------------ code

def code_closure(entry: Path) -> dict[str, Path]:
    """Every ``models_py`` module the entry file imports, directly or not, and the packages
    holding them: module -> the file to package (a substitute from :data:`SUBSTITUTES`, whose
    own imports are not followed)."""
    files: dict[str, Path] = {}
    todo = sorted(imported_modules(entry))
    while todo:
        module = todo.pop()
        parts = module.split(".")
        for k in range(1, len(parts) + 1):
            name = ".".join(parts[:k])
            if name in files:
                continue
            path = SUBSTITUTES.get(name) or module_file(name)
            if path is None:
                continue
            files[name] = path
            if name not in SUBSTITUTES:
                todo.extend(imported_modules(path))
    return files


def seeds_read(study_file: Path) -> list[str]:
    """The reference seeds the estimation reads for a study: those its file expands over
    (``values: {seed, column}``) and those that name a column's raw indicators."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("seed"), str) and "column" in node:
                found.append(node["seed"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(yaml.safe_load(study_file.read_text(encoding="utf-8")))
    return list(dict.fromkeys([*found, *reference.RAW_INDICATOR_SEEDS]))


def write_code(study: Study, folder: Path) -> readme.Code:
    """The study file, the estimation code ``reproduce.py`` imports (the lineage it asks for
    recorded in ``lineage.json``), the seeds it reads and the lock file, with the commit they
    (and ``reproduce.py``) come from and those that differ from it."""
    study_file = studies_dir() / f"{study.name.lower()}.yml"
    copied = {folder / study_file.name: study_file, folder / LOCK: PROJECT / LOCK}
    for module, path in code_closure(Path(reproduce.__file__)).items():
        target = folder.joinpath(*module.split("."))
        target = target / "__init__.py" if path.name == "__init__.py" else \
            target.with_suffix(".py")
        copied[target] = path
    seeds = reference.SEEDS_DIR.relative_to(PROJECT)     # where the packaged reference looks
    for seed in seeds_read(study_file):
        copied[folder / seeds / f"{seed}.csv"] = PROJECT / seeds / f"{seed}.csv"
    for target, path in copied.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    recorded = {"relations": {r: {"columns": lineage.columns(r),
                                  "raw_tables": lineage.raw_tables([r]),
                                  "sources": lineage.sources([r])} for r in study.relations},
                "source_order": list(ingest.SOURCES)}
    (folder / "lineage.json").write_text(readme.json_text(recorded), encoding="utf-8")
    commit, dirty = git_state([*copied.values(), Path(reproduce.__file__)])
    return readme.Code(commit, dirty)


def git_state(paths: list[Path]) -> tuple[str | None, list[str]]:
    """The project's commit (None outside a git checkout) and those of ``paths`` (project
    files) that differ from it or are not committed."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(PROJECT), *args], capture_output=True,
                              text=True)
    try:
        head = git("rev-parse", "HEAD")
    except FileNotFoundError:
        return None, []
    if head.returncode != 0:
        return None, []
    inside = [str(p.resolve().relative_to(PROJECT)) for p in paths
              if p.resolve().is_relative_to(PROJECT)]
    status = git("status", "--porcelain", "--", *inside).stdout.splitlines()
    return head.stdout.strip(), sorted(line[3:] for line in status)


# ------------------------------------------------------------------------------ checks

def replicator_run(folder: Path, *args: str, timeout: float = 3600
                   ) -> subprocess.CompletedProcess:
    """``python <args>`` in ``folder`` as a replicator runs it: this Python and its installed
    packages (their folders the only path given; ``-S``, so that no ``.pth`` file, such as the
    project's own editable install, adds anything), nothing of the project, a fresh process."""
    with tempfile.TemporaryDirectory() as home:      # caches (matplotlib's) go there
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONPATH": os.pathsep.join(site.getsitepackages())}
        return subprocess.run([sys.executable, "-S", *args], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=timeout)


def run_reproduction(folder: Path) -> readme.Reproduction:
    """Run the package's ``reproduce.py`` (:func:`replicator_run`) and measure it. Raises
    :class:`ReplicationError` unless every exhibit is reproduced; the files it writes are
    removed afterwards."""
    started = time.perf_counter()
    done = replicator_run(folder, "reproduce.py")
    seconds = round(time.perf_counter() - started, 1)
    shutil.rmtree(folder / REPRODUCED, ignore_errors=True)
    if done.returncode != 0:
        raise ReplicationError(f"reproduce.py in {folder} exited {done.returncode}:\n"
                               f"{done.stdout}{done.stderr[-4000:]}")
    return readme.Reproduction(seconds, done.stdout.splitlines())


def machine() -> dict:
    """The machine the reproduction was measured on."""
    memory = (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
              if hasattr(os, "sysconf") else 0)
    return {"python": platform.python_version(), "system": platform.platform(),
            "processor": platform.machine(), "cpus": os.cpu_count(),
            "memory_gb": round(memory / 2**30, 1)}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(folder: Path) -> dict[str, str]:
    """Every file of the package (but ``SHA256SUMS``, which lists them) -> its sha256."""
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != CHECKSUMS}


def write_zip(folder: Path, archive: Path) -> None:
    """The package folder as one zip, its files under ``<study>/``."""
    partial = archive.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, Path(folder.name) / path.relative_to(folder))
    partial.replace(archive)
