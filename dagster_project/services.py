"""The Dagster services of a site: the webserver (the UI) and the daemon (sensors, schedules,
the run queue), as two processes, both loading the definitions through ``workspace.yaml``.

    python -m dagster_project.services --host 127.0.0.1 --port 3000

`make ui` runs them on the single-machine instance (``$DAGSTER_HOME/dagster.yaml`` from the
project's ``dagster.yaml``: SQLite files), `make serve` on the PostgreSQL instance (the same file
followed by ``deploy/dagster.serve.yaml``). The command ends when either service ends, after
stopping the other; SIGTERM, SIGINT or SIGHUP stop both, also when the command was started in
the background (where a shell starts it with SIGINT ignored). The definitions read dbt's
manifest, which `make ui` and `make serve` bring up to date before they start: after editing a
dbt model, restart them.
"""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
WORKSPACE = PROJECT / "workspace.yaml"
# How long each service may take to stop before it is killed.
STOP_SECONDS = 60
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def commands(host: str, port: int) -> dict[str, list[str]]:
    """The command line of each service."""
    bin_dir = Path(sys.executable).parent
    return {"daemon": [str(bin_dir / "dagster-daemon"), "run", "-w", str(WORKSPACE)],
            "webserver": [str(bin_dir / "dagster-webserver"), "-w", str(WORKSPACE),
                          "-h", host, "-p", str(port)]}


class Stop(Exception):
    """A stop signal arrived."""


def _stop_on_signal(signum, frame):
    raise Stop(signal.Signals(signum).name)


def stop_all(services: dict[str, subprocess.Popen]) -> None:
    """SIGTERM to every service still running; SIGKILL to any that has not ended after
    ``STOP_SECONDS``."""
    for proc in services.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for name, proc in services.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"the Dagster {name} did not stop within {STOP_SECONDS} s: killed",
                  file=sys.stderr, flush=True)
            proc.kill()
            proc.wait()


def run(host: str, port: int) -> int:
    """Start the services and wait; returns the exit status (0 after a stop signal)."""
    for sig in STOP_SIGNALS:   # before the services start, so that they take signals as usual
        signal.signal(sig, _stop_on_signal)
    services: dict[str, subprocess.Popen] = {}
    try:
        for name, argv in commands(host, port).items():
            services[name] = subprocess.Popen(argv)
        while True:
            ended = [name for name, proc in services.items() if proc.poll() is not None]
            if ended:
                code = services[ended[0]].returncode
                print(f"the Dagster {ended[0]} ended (exit status {code}); stopping the rest",
                      file=sys.stderr, flush=True)
                return code or 1
            time.sleep(0.5)
    except Stop as stop:
        print(f"{stop}: stopping the Dagster webserver and daemon", file=sys.stderr, flush=True)
        return 0
    finally:
        for sig in STOP_SIGNALS:    # a second signal does not interrupt the stopping
            signal.signal(sig, signal.SIG_IGN)
        stop_all(services)


def main(args: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.services",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("-H", "--host", default="127.0.0.1", help="the webserver's address")
    parser.add_argument("-p", "--port", type=int, default=3000, help="the webserver's port")
    options = parser.parse_args(args)
    sys.exit(run(options.host, options.port))


if __name__ == "__main__":
    main()
