"""The study command: estimate one study, or one table of it, against the current warehouse
and publish it.

    python -m dagster_project.study s001                   # every table and figure of S001
    python -m dagster_project.study s001 --table baseline  # one table, and the figures it feeds

``make study STUDY=s001 [TABLE=baseline]`` runs it; the preflight comes first. The study file
and the names are checked here; then this process runs (``dagster_project.launch``)
the chosen table assets, the figures drawn from them, the study's collected coefficients and
the analysts' copy (so analysts see the new results), and the run is recorded in the Dagster
instance like a refresh. Nothing upstream runs: the tables are estimated on the warehouse as it
is.
"""
from __future__ import annotations

import argparse
import sys

from dagster_project import preflight
from dagster_project.assets.studies import figure_key, table_key
from dagster_project.launch import Run, launch
from models_py.estimate.figures import figure_tables
from models_py.estimate.schema import suggestion
from models_py.estimate.specs import load_study, study_names
from models_py.estimate.study import Study

SNAPSHOT = "analyst_snapshot"


def checked_study(study_name: str) -> Study:
    """The study of that name, its file checked; a name no study file has stops the command,
    naming the closest."""
    names = study_names()
    if study_name.lower() not in names:
        raise SystemExit(f"unknown study {study_name!r}{suggestion(study_name.lower(), names)};"
                         f" the studies are {', '.join(names)}")
    return load_study(study_name)


def materialize(keys: list[str]) -> None:
    """Run ``keys`` in this process (``dagster_project.launch``; the run is recorded in the
    instance) and exit 0 when it succeeded, 1 otherwise."""
    print(f"a run of {', '.join(keys)}", flush=True)
    sys.exit(0 if launch(Run(assets=tuple(keys))).success else 1)


def selection(study_name: str, table: str | None = None) -> list[str]:
    """The asset keys (as ``a/b`` strings) that estimate and publish a study, or one table of
    it."""
    study = checked_study(study_name)
    tables = [t["table"] for t in study.tables]
    if table is not None and table not in tables:
        raise SystemExit(f"{study.name} has no table {table!r}{suggestion(table, tables)}; its "
                         f"tables are {', '.join(tables)}")
    chosen = tables if table is None else [table]
    keys = [table_key(study, t) for t in chosen]
    keys += [figure_key(study, f["figure"]) for f in study.figures
             if set(figure_tables(f)) & set(chosen)]
    keys.append(table_key(study, "coefficients"))
    return [k.to_user_string() for k in keys] + [SNAPSHOT]


def main(args: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.study",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("study", help="a study, e.g. s001: " + ", ".join(study_names()))
    parser.add_argument("--table", help="one table of the study, e.g. baseline")
    options = parser.parse_args(args)
    preflight.run_or_exit()
    materialize(selection(options.study, options.table))


if __name__ == "__main__":
    main()
