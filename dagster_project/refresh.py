"""The refresh command: everything, one source, or one year of a yearly source.

    python -m dagster_project.refresh                                   # refresh_all
    python -m dagster_project.refresh --source city_yearbook            # refresh_city_yearbook
    python -m dagster_project.refresh --source city_yearbook --year 2015

``make refresh [SOURCE=...] [YEAR=...]`` runs it after the preflight. The arguments are checked
here, then this process becomes ``dagster job execute`` of the job (a year goes in as the run
config of the source's loader, written to ``$DAGSTER_HOME/refresh_run_config.yaml``), so the run
is recorded in the Dagster instance like any other and stops with its process group.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from models_py import ingest

DEFINITIONS = "dagster_project.definitions"


def command(source: str | None, year: int | None) -> list[str]:
    """The ``dagster job execute`` command line of the refresh (the run config file written)."""
    if year is not None and source is None:
        raise SystemExit("YEAR needs SOURCE: which source's year to reload "
                         f"({', '.join(s for s, v in ingest.SOURCES.items() if v.yearly)})")
    if source is not None and source not in ingest.SOURCES:
        raise SystemExit(f"unknown source {source!r}; the sources are "
                         f"{', '.join(ingest.SOURCES)}")
    if year is not None and not ingest.SOURCES[source].yearly:
        raise SystemExit(f"{source} has no yearly files; reload it whole (no YEAR). The yearly "
                         f"sources are {', '.join(s for s, v in ingest.SOURCES.items() if v.yearly)}")
    dagster = str(Path(sys.executable).parent / "dagster")
    job = "refresh_all" if source is None else f"refresh_{source}"
    argv = [dagster, "job", "execute", "-m", DEFINITIONS, "-j", job]
    if year is not None:
        config = Path(os.environ.get("DAGSTER_HOME", ".dagster_home")) / "refresh_run_config.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        # JSON is YAML: the loader's config, nothing else
        config.write_text(json.dumps({"ops": {f"load_{source}": {"config": {"year": year}}}}))
        argv += ["-c", str(config)]
    return argv


def main(args: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.refresh",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", help="one source: " + ", ".join(ingest.SOURCES))
    parser.add_argument("--year", type=int, help="one year of a yearly source")
    options = parser.parse_args(args)
    argv = command(options.source or None, options.year)
    print(" ".join(argv[2:]), flush=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
