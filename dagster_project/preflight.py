"""Before a refresh: check the study files, clear what a killed refresh left behind, and
refuse to start a second one.

Every study file is checked first (``specs.load_studies``), and the team-mode settings
(``models_py.lake.settings``): a problem stops the refresh with the list of its problems,
before anything is written.

The refresh, study and replication commands (``make refresh``, ``make study``, ``make
replication``) run it first, in their own process (:func:`run_or_exit`);
``python -m dagster_project.preflight`` runs it alone.
A run whose process was killed (``kill -9``, the out-of-memory killer, a closed terminal) stays
"started" in the Dagster instance and keeps its slot of the ``duckdb_warehouse`` pool, so the
next run would wait for that slot forever. Every run of these definitions executes its steps in
one process (the in-process executor) and records that process's id in its event log; a started
run whose process is gone is marked failed here and its pool slots are freed. A run whose
process is alive means a refresh is running: the preflight stops with a message instead of
queueing behind it. Last, it opens the warehouse for writing once, so that a session keeping
the file open fails the refresh before it starts, naming the process, once
``models_py.warehouse.connect`` has waited ``LOCK_WAIT_SECONDS`` for it to close the file.

The data needs no repair after a kill: every write is a DuckDB transaction, and the analysts'
copy is only ever replaced by a rename (``models_py.snapshot``).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEventType

from models_py import lake, warehouse
from models_py.estimate.specs import load_studies

UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
              dg.DagsterRunStatus.CANCELING]


@dataclass(frozen=True)
class RunProcess:
    """A run that has not finished, and the process executing its steps."""
    run_id: str
    job_name: str
    pid: int | None          # None when the run died before it recorded a process
    alive: bool


def unfinished_runs(instance: dg.DagsterInstance) -> list[RunProcess]:
    """Runs the instance still shows as starting, started or canceling, each with whether the
    process that executes its steps is still alive."""
    found = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        pid = _run_pid(instance, run.run_id)
        started = record.start_time or record.create_timestamp.timestamp()
        found.append(RunProcess(run.run_id, run.job_name, pid,
                                pid is not None and _alive_since(pid, started)))
    return found


def fail_dead_run(instance: dg.DagsterInstance, run: RunProcess) -> int:
    """Mark a run whose process is gone as failed, and free the pool slots it held; returns the
    number of slots freed."""
    dagster_run = instance.get_run_by_id(run.run_id)
    held = _slots_held(instance, run.run_id)
    who = f"process {run.pid}" if run.pid else "its process"
    instance.report_run_failed(
        dagster_run, f"{who} ended without finishing the run (killed or crashed); marked failed "
                     "before the next refresh, which frees its slot in the warehouse pool.")
    instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return held - _slots_held(instance, run.run_id)


def _slots_held(instance: dg.DagsterInstance, run_id: str) -> int:
    """How many pool slots the run holds, over every pool."""
    storage = instance.event_log_storage
    return sum(slot.run_id == run_id for pool in storage.get_concurrency_keys()
               for slot in storage.get_concurrency_info(pool).claimed_slots)


def _run_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The id of the process that executes the run's steps, from the run's engine events (the
    in-process executor records it; a run worker launched from the UI records its own)."""
    pid = None
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT).records
    for record in records:
        data = record.event_log_entry.dagster_event.engine_event_data
        value = data.metadata.get("pid") if data and data.metadata else None
        if value is not None:
            pid = int(value.value)
    return pid


def _alive_since(pid: int, run_started: float) -> bool:
    """Whether process ``pid`` exists and is the one that started before the run did (a new
    process may have been given the same id since)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    started = _process_start_time(pid)
    return started is None or started <= run_started + 1


def _process_start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    try:
        load_studies()
        lake.settings()
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 3
    with dg.DagsterInstance.get() as instance:
        return _clear_runs_and_open_the_warehouse(instance)


def _clear_runs_and_open_the_warehouse(instance: dg.DagsterInstance) -> int:
    runs = unfinished_runs(instance)
    for run in runs:
        if run.alive:
            print(f"A run of {run.job_name} is in progress (run {run.run_id}, process {run.pid}). "
                  f"Wait for it to finish, or stop it (kill {run.pid}) and start the refresh "
                  "again.", file=sys.stderr)
            return 1
    for run in runs:
        if run.pid is None:
            continue  # it died before claiming anything; nothing waits on it
        freed = fail_dead_run(instance, run)
        print(f"Run {run.run_id} of {run.job_name} was left unfinished: process {run.pid} is "
              f"gone (killed or crashed). Marked it failed and freed {freed} pool slot(s). The "
              "warehouse and the analysts' copy are as that run's last finished step left "
              "them; this refresh rebuilds everything.", file=sys.stderr)
    try:
        warehouse.connect().close()
    except warehouse.WarehouseLockedError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def run_or_exit() -> None:
    """The preflight, in the calling command's process: exits with its status when it stops
    the command."""
    code = main()
    if code:
        sys.exit(code)


if __name__ == "__main__":
    sys.exit(main())
