"""The replication command: build one study's replication package from the current warehouse
and published results.

    python -m dagster_project.replication s001

``make replication STUDY=s001`` runs it; the preflight comes first. The study's name and file
are checked here; then this process runs (``dagster_project.launch``)
``replication/<study>`` alone, recorded in the Dagster instance like a refresh. Nothing upstream
runs: the package holds the results the last refresh or ``make study`` wrote.
"""
from __future__ import annotations

import argparse

from dagster_project import preflight
from dagster_project.assets.replication import replication_key
from dagster_project.study import checked_study, materialize
from models_py.estimate.specs import study_names


def main(args: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.replication",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("study", help="a study, e.g. s001: " + ", ".join(study_names()))
    options = parser.parse_args(args)
    preflight.run_or_exit()
    materialize([replication_key(checked_study(options.study)).to_user_string()])


if __name__ == "__main__":
    main()
