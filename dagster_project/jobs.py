"""Jobs: the embedded-default generator, the full refresh, and the refresh of one source.

``refresh_<source>`` reloads one source and rebuilds only what depends on it: the dbt models
downstream of its raw tables (dbt builds just that subset), the studies that read those marts,
and the analysts' copy. A yearly source's loader takes the run config ``year``. A refresh
runs every check of what it materializes but the freshness checks, which their own sensor
evaluates (``dagster_project.freshness``).
"""

import dagster as dg

from dagster_project.assets.raw import raw_table_key
from dagster_project.assets.replication import SELECTION as REPLICATION
from models_py import ingest, warehouse

REFRESH_ALL = "refresh_all"


class GenerateConfig(dg.Config):
    scale: str = "full"                 # "full" (real rosters) or "small" (tests)
    seed: int = 20240601
    out_dir: str = ""                   # default: the raw folder (RAW_DATA_DIR)
    truth_path: str = ""                # default: truth.json beside the raw folder
    s001_null: bool = False             # the S001 null variant: no pilot-zone effect planted


@dg.op(description="Write every raw source of the embedded default and its truth file.")
def write_embedded_default(context: dg.OpExecutionContext, config: GenerateConfig) -> None:
    from models_py.generate import generate  # heavy; only this job needs it

    out = config.out_dir or str(warehouse.raw_dir())
    truth = config.truth_path or str(warehouse.raw_dir().parent / "truth.json")
    result = generate(out, truth, config.scale, config.seed, s001_null=config.s001_null)
    variant = " (S001 null variant)" if config.s001_null else ""
    context.log.info(f"wrote the {config.scale} default{variant} to {out} in "
                     f"{result['seconds']} s")


@dg.job(description="Generate the embedded default raw files (the licensed data's stand-in).")
def generate_embedded_default():
    write_embedded_default()


def refresh_all(leave_out: dg.AssetSelection):
    """Every asset and check but the replication packages (built on demand: make replication)
    and ``leave_out``."""
    return dg.define_asset_job(REFRESH_ALL, selection=dg.AssetSelection.all() - REPLICATION
                               - leave_out,
                               description="Load every raw source, build the dbt project, "
                                           "and publish the analysts' copy.")


def source_selection(source: str) -> dg.AssetSelection:
    """The raw tables of ``source`` and every asset downstream of them (with their checks),
    but the replication packages."""
    return dg.AssetSelection.assets(*(raw_table_key(t) for t in ingest.SOURCES[source].tables)
                                    ).downstream() - REPLICATION


def refresh_job_name(source: str) -> str:
    return f"refresh_{source}"


def refresh_source_jobs(leave_out: dg.AssetSelection) -> list:
    """One ``refresh_<source>`` job per source, without ``leave_out``."""
    return [
        dg.define_asset_job(
            refresh_job_name(source), selection=source_selection(source) - leave_out,
            description=f"Reload {source}"
                        + (f" (one year: run config ops.load_{source}.config.year)"
                           if spec.yearly else "")
                        + ", rebuild what depends on it and publish the analysts' copy.")
        for source, spec in ingest.SOURCES.items()]


def refresh_jobs(leave_out: dg.AssetSelection) -> list:
    """``refresh_all`` and the ``refresh_<source>`` jobs; ``leave_out`` names the checks that
    run on their own (the freshness checks, evaluated by their sensor)."""
    return [refresh_all(leave_out), *refresh_source_jobs(leave_out)]
