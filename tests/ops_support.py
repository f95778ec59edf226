"""Running the project the way an operator does, for the operations tests: `make refresh` and
`make ui` as subprocesses with their folders in a temporary site, what a refresh left in the
Dagster instance, and a second process that queries the analysts' copy (or the warehouse
itself) in a loop."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
COEFFICIENTS = "results.s003_coefficients"
# The one table a refresh of the same raw files changes: each load appends its files to it.
LOAD_LOG = "raw._load_log"


@dataclass
class Site:
    """A project's mutable folders in one temporary place: raw files, warehouse and its copy,
    Dagster instance, published files."""
    root: Path
    raw_dir: Path

    @property
    def db(self) -> Path:
        return self.root / "warehouse" / "warehouse.duckdb"

    @property
    def copy(self) -> Path:
        return self.root / "warehouse" / "warehouse_read.duckdb"

    @property
    def home(self) -> Path:
        return self.root / "dagster_home"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of `make` for this site: the machine's, with the project's settings
        pointed here."""
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env.update(DAGSTER_HOME=str(self.home), WAREHOUSE_PATH=str(self.db),
                   RAW_DATA_DIR=str(self.raw_dir), PUBLISH_DIR=str(self.root / "publish"),
                   GX_ANALYTICS_ENABLED="False", TQDM_DISABLE="1", **extra)
        return env

    def start_refresh(self, *args: str) -> subprocess.Popen:
        """`make refresh [args]` in its own process group, its output (Dagster's log) on a
        pipe."""
        return subprocess.Popen(["make", "-s", "-C", str(PROJECT), "refresh", *args],
                                env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)

    def refresh(self, timeout: float = 900, **extra: str) -> subprocess.CompletedProcess:
        """`make refresh` to the end (``extra``: more environment, e.g. ``SOURCE``)."""
        return subprocess.run(["make", "-s", "-C", str(PROJECT), "refresh"],
                              env=self.env(**extra), capture_output=True, text=True,
                              timeout=timeout)


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_ends(pgid: int, seconds: float) -> bool:
    """Whether every process of the process group ``pgid`` has ended within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    return False


def make_site(root: Path, raw_dir: Path, warehouse_db: Path,
              dagster_home: Path | None = None) -> Site:
    """A site whose warehouse and analysts' copy start as copies of a finished warehouse, and
    whose Dagster instance as a copy of ``dagster_home`` when given (else `make` creates it)."""
    site = Site(root, raw_dir)
    site.db.parent.mkdir(parents=True)
    shutil.copyfile(warehouse_db, site.db)
    shutil.copyfile(warehouse_db.with_name(warehouse_db.stem + "_read.duckdb"), site.copy)
    if dagster_home is not None:
        shutil.copytree(dagster_home, site.home)
    return site


def kill_refresh_when(site: Site, seen, *args: str, timeout: float = 600) -> str:
    """Start `make refresh [args]` and SIGKILL its whole process group (make, Dagster, dbt) as
    soon as a line of its log satisfies ``seen``; returns the log up to then."""
    proc = site.start_refresh(*args)
    lines, deadline = [], time.monotonic() + timeout
    for line in proc.stdout:
        lines.append(line)
        if seen(line):
            os.killpg(proc.pid, signal.SIGKILL)
            break
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("the refresh never reached the kill point:\n"
                                 + "".join(lines[-20:]))
    else:
        raise AssertionError("the refresh ended before the kill point:\n" + "".join(lines[-20:]))
    proc.wait()
    proc.stdout.close()
    return "".join(lines)


def runs(site: Site) -> list[dict]:
    """Every run in the site's Dagster instance, oldest first: id, job, status, and the steps
    that started and that succeeded (read in a subprocess, as the instance's own tools
    would)."""
    if not site.home.exists():
        return []  # no `make` has run here yet
    script = """
import json, dagster as dg
from dagster._core.events import DagsterEventType as T
instance = dg.DagsterInstance.get()
out = []
for record in reversed(instance.get_run_records()):
    run_id = record.dagster_run.run_id
    steps = {kind: sorted({r.event_log_entry.step_key for r in
                           instance.get_records_for_run(run_id, of_type=t).records})
             for kind, t in (("started", T.STEP_START), ("succeeded", T.STEP_SUCCESS))}
    out.append({"run_id": run_id, "job": record.dagster_run.job_name,
                "status": record.dagster_run.status.value, **steps})
print(json.dumps(out))
"""
    out = subprocess.run([sys.executable, "-c", script], env=site.env(), capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


# Columns that say when a row was written, not what it holds.
WRITE_TIMES = ("checked_at", "loaded_at")


def table_state(db: Path) -> dict[str, tuple]:
    """Row count and content hash of every table of the DuckDB file ``db`` (opened read-only)
    but the load log, leaving out the columns that say when a row was written."""
    with duckdb.connect(str(db), read_only=True) as con:
        columns = con.execute(
            "SELECT table_schema || '.' || table_name, list(column_name) "
            "FROM information_schema.columns JOIN information_schema.tables "
            "USING (table_catalog, table_schema, table_name) WHERE table_type = 'BASE TABLE' "
            "GROUP BY 1 ORDER BY 1").fetchall()
        state = {}
        for name, cols in columns:
            if name == LOAD_LOG:
                continue
            kept = ", ".join(f'"{c}"' for c in cols if c not in WRITE_TIMES)
            state[name] = tuple(con.execute(
                f"SELECT count(*), sum(hash(t)) FROM (SELECT {kept} FROM {name}) t").fetchone())
        return state


def coefficients(db: Path) -> dict[tuple, tuple]:
    """The S003 estimates of ``db``: (table, column, outcome, term) -> (estimate, SE, N)."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(f'SELECT "table", "column", outcome, term, estimate, std_error, n_obs '
                           f"FROM {COEFFICIENTS}").fetchall()
    return {tuple(r[:4]): tuple(r[4:]) for r in rows}


def results(db: Path) -> dict[str, pd.DataFrame]:
    """Every table of the ``results`` schema of ``db``, rows in stored order, without what says
    when or how fast they were written: fitting times (``seconds``), timestamps and the load
    times in the audit records."""
    from models_py.warehouse import table_names

    with duckdb.connect(str(db), read_only=True) as con:
        tables = {name: con.execute(f'SELECT * FROM results."{name}"').df()
                  for name in table_names(con, "results")}
    for frame in tables.values():
        times = [c for c in frame if pd.api.types.is_datetime64_any_dtype(frame[c])]
        frame.drop(columns=["seconds", *times], errors="ignore", inplace=True)
        if "audit" in frame:
            frame["audit"] = frame["audit"].map(_without_write_times, na_action="ignore")
    return tables


def _without_write_times(audit: str) -> str:
    record = json.loads(audit)
    for file in record.get("raw_files", []):
        for column in WRITE_TIMES:
            file.pop(column, None)
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


# --- a second process querying the analysts' copy, or the warehouse itself ---------------------

READER_TABLES = ("raw._load_log", "raw.city_yearbook", "raw.ceads_intermediate", "marts.city_year",
                 "marts.city_pair_period", COEFFICIENTS)


# Seconds between two queries of a reader: each query takes about a tenth of a second of CPU,
# so a reader takes about a tenth of a core and leaves the rest of the machine to the refresh it
# watches (and, in the test suite, to the other pytest worker).
READ_EVERY = 1.0


def read_until_stopped(db: str, out: str, stop: str, pause: str = str(READ_EVERY)) -> None:
    """Query the DuckDB file ``db`` again and again, as an analyst's session would, each time
    on a new read-only connection closed after the query, ``pause`` seconds apart, until the
    file ``stop`` exists, and once more after; one JSON line per query: the tables' counts and
    hashes, or the error."""
    def query() -> dict:
        record = {"inode": os.stat(db).st_ino}
        with duckdb.connect(db, read_only=True) as con:
            con.execute("BEGIN")  # one snapshot for every table of the query
            record["state"] = tables_state(con)
        return record

    _query_until_stopped(query, out, stop, float(pause))


def read_lake_until_stopped(catalog: str, data_path: str, out: str, stop: str,
                            pause: str = "1") -> None:
    """Query the team's DuckLake holding only its catalog's address and its data path, as an
    analyst on another machine would: each time a new connection that attaches it read-only,
    one transaction reading the lake's current snapshot and the tables' counts and hashes."""
    from models_py import lake

    team = lake.LakeSettings(catalog=catalog, data_path=data_path)

    def query() -> dict:
        with lake.connect(team) as con:
            con.execute("BEGIN")  # one snapshot of the lake for every table of the query
            return {"snapshot": con.execute(f"FROM {lake.ALIAS}.current_snapshot()"
                                            ).fetchone()[0],
                    "state": tables_state(con, lake.ALIAS)}

    _query_until_stopped(query, out, stop, float(pause))


def _query_until_stopped(query, out: str, stop: str, pause: float) -> None:
    """Run ``query`` every ``pause`` seconds until the file ``stop`` exists, and once more
    after; one JSON line per query: what it returned, or the error."""
    with open(out, "w", encoding="utf-8") as log:
        stopping = False
        while not stopping:
            stopping = os.path.exists(stop)
            try:
                record = query()
            except Exception as exc:  # noqa: BLE001 - every failure is what the test counts
                record = {"error": f"{type(exc).__name__}: {exc}"}
            log.write(json.dumps(record) + "\n")
            log.flush()
            if not stopping:
                time.sleep(pause)


def tables_state(con, catalog: str | None = None, version: int | None = None
                 ) -> dict[str, list]:
    """Row count and content hash of each of ``READER_TABLES`` (in ``catalog``, at the
    DuckLake snapshot ``version`` when given)."""
    prefix = f"{catalog}." if catalog else ""
    at = f" AT (VERSION => {int(version)})" if version is not None else ""
    return {t: list(con.execute(f"SELECT count(*), sum(hash(x)) FROM "
                                f"(SELECT * FROM {prefix}{t}{at}) x").fetchone())
            for t in READER_TABLES}


def start_reader(db: Path, work: Path, pause: float = READ_EVERY
                 ) -> tuple[subprocess.Popen, Path, Path]:
    """A second process running :func:`read_until_stopped` on ``db``: the process, the file
    it records its queries in, and the file that stops it."""
    out, stop = work / f"reads_{db.stem}.jsonl", work / f"stop_{db.stem}"
    return _start("read_until_stopped", str(db), out, stop, pause), out, stop


def start_lake_reader(catalog: str, data_path: Path, work: Path, pause: float = 1.0
                      ) -> tuple[subprocess.Popen, Path, Path]:
    """A second process running :func:`read_lake_until_stopped`, given only the catalog's
    address and the data path: the process, its record of queries, the file that stops it."""
    out, stop = work / "reads_lake.jsonl", work / "stop_lake"
    return _start("read_lake_until_stopped", catalog, str(data_path), out, stop, pause), out, stop


def _start(function: str, *args) -> subprocess.Popen:
    """``ops_support.<function>(*args)`` in a new Python process (args as strings)."""
    return subprocess.Popen(
        [sys.executable, "-c",
         f"import sys, ops_support; ops_support.{function}(*sys.argv[1:])",
         *map(str, args)],
        cwd=Path(__file__).parent, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})


def reader_state(copy: Path) -> dict[str, list]:
    """What the reader records for a finished copy."""
    with duckdb.connect(str(copy), read_only=True) as con:
        return tables_state(con)


@contextmanager
def analyst_session(db, seconds: float = 600):
    """A second process holding ``db`` open read-only, as `duckdb -readonly` would, for
    ``seconds`` (then it closes the file and ends)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1], "
         f"read_only=True); print('open', flush=True); time.sleep({seconds:g})", str(db)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "open"
        yield proc
    finally:
        proc.kill()
        proc.wait()
