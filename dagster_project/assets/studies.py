"""Study assets, built for every study file of the study folder (``STUDIES_DIR``) by one factory.

Each study is its own asset group (``s001``, ``s003``, ...) with one asset per table
(``results/<study>_<table>``: the tidy rows in the warehouse and the rendered Markdown, HTML
and LaTeX files), one per figure (``figures/<study>_<figure>``: PNG and SVG, drawn from the
stored rows of the tables it reads) and ``results/<study>_coefficients`` collecting every
coefficient and statistic. A table asset depends on the marts its specs read, so the lineage
reaches the raw files. Files go to the ``publish_folder`` resource, one folder per study.

Every row a table asset writes carries its audit record (``models_py.audit``): the relations
the table reads, the raw tables upstream of them (``models_py.lineage``: dbt's lineage, through
the input-output step) and the checksums and load times of the raw files behind those tables; the
asset's metadata shows the same record (``audit``, and ``lineage`` as a readable table). Every
asset reports its wall time (``seconds``) and, where it writes rows, how many. A table asset's
``code_version`` is derived from its entry in the study file and the estimator kinds it uses
(``models_py.estimate.schema.code_version``), so the UI marks exactly the edited tables as
changed.

Every study file is checked as the definitions load (``specs.load_studies``): a file with a
problem stops the load with a message naming each problem, before anything runs.

A study whose raw sources (derived from the lineage of the relations its tables read) are
absent from the landing folder is skipped: each of its assets logs which sources are missing,
withdraws the study's earlier results (its ``results.<study>_*`` tables and published files)
and records ``status: skipped`` with the absent sources in its metadata; the rest of the run
goes on.

A table whose data cannot support some of its columns still materializes: those columns are
published marked *not estimable* with the reason (``models_py.estimate.run``), and the asset's
warning check ``estimable`` names every such column. A table that fails (an estimator's error)
fails its asset; ``results._table_status`` then flags its earlier results as stale.
"""

import time
from typing import Callable

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.resources import WAREHOUSE_POOL, PublishFolder
from models_py import audit, lineage, warehouse
from models_py.estimate import run, schema
from models_py.estimate.figures import figure_tables
from models_py.estimate.specs import load_studies
from models_py.estimate.study import Study

PREVIEW_CHARS = 60_000
ESTIMABLE_CHECK = "estimable"


def relation_key(relation: str) -> dg.AssetKey:
    """Asset key of a warehouse relation ``schema.table`` (dbt models keep their names)."""
    return dg.AssetKey(relation.split("."))


def table_key(study: Study, table: str) -> dg.AssetKey:
    return dg.AssetKey(["results", run.results_table(study, table)])


def figure_key(study: Study, figure: str) -> dg.AssetKey:
    return dg.AssetKey(["figures", f"{study.name.lower()}_{figure}"])


def _materialize(study: Study, context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                 publish_folder: PublishFolder, work: Callable,
                 check: Callable[[list], dg.AssetCheckResult] | None = None
                 ) -> dg.MaterializeResult:
    """The one place a study asset runs: open the warehouse, skip the study if its sources are
    absent, else do the work and report it with its wall time. ``check`` turns the work's
    not-estimable columns (none when skipped) into the asset's check result."""
    started = time.perf_counter()
    out_dir = publish_folder.study_dir(study.name)
    with duckdb.get_connection() as con:
        missing = warehouse.absent_sources(con, study.sources)
        if missing:
            message = (f"{study.name} skipped: its raw sources {', '.join(missing)} are absent "
                       "from the landing folder (see raw._source_status)")
            context.log.warning(message)
            withdrawn = run.withdraw_study(con, study, out_dir, message)
            metadata = {"status": "skipped", "absent_sources": dg.MetadataValue.json(missing),
                        "message": message, "withdrawn_tables": dg.MetadataValue.json(withdrawn)}
        else:
            metadata = {"status": "published", **work(con, out_dir, context)}
    unsupported = metadata.get("not_estimable", dg.MetadataValue.json([])).value
    return dg.MaterializeResult(
        metadata={**metadata, "seconds": round(time.perf_counter() - started, 2)},
        check_results=[check(unsupported)] if check else None)


def estimable_check(study: Study, table: str, unsupported: list) -> dg.AssetCheckResult:
    """The warning check of a table asset: passes unless some column is not estimable, and
    then names each (table, column, reason)."""
    lines = [f"{study.name} {table} ({u['column']}): {u['reason']}" for u in unsupported]
    return dg.AssetCheckResult(
        check_name=ESTIMABLE_CHECK, passed=not unsupported,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(lines) or "every column estimated",
        metadata={"not_estimable": dg.MetadataValue.json(unsupported)})


def _lineage_table(record: dict) -> dg.MetadataValue:
    """The audit record as Markdown: relations, raw tables, then one line per raw file."""
    lines = [f"**Estimated from** {', '.join(record['models'])}",
             f"**Raw tables** {', '.join(record['raw_tables']) or '(none)'}"]
    if record["absent_sources"]:
        lines.append(f"**Absent sources** {', '.join(record['absent_sources'])}")
    lines += ["", "| source | file | sha256 | bytes | loaded at (UTC) |", "|---|---|---|---|---|"]
    lines += [f"| {f['source']} | {f['file']} | `{f['sha256']}` | {f['bytes']:,} | "
              f"{f['loaded_at']} |" for f in record["raw_files"]]
    return dg.MetadataValue.md("\n".join(lines))


def _files(files: dict) -> dg.MetadataValue:
    return dg.MetadataValue.json({k: str(v) for k, v in files.items()})


def table_asset(study: Study, table: str) -> dg.AssetsDefinition:
    info = study.table_info(table)

    relations = study.table_relations(table)
    raw_tables = lineage.raw_tables(relations)

    def work(con, out_dir, context):
        record = audit.record(con, relations, raw_tables)
        result = run.run_table(con, study, table, out_dir, progress=context.log.info,
                               audit=record)
        unsupported = [{"table": table, "column": c, "reason": r}
                       for c, r in result.not_estimable.items()]
        for u in unsupported:
            context.log.warning(f"{study.name} {table} ({u['column']}) not estimable: "
                                f"{u['reason']}")
        return {"rows": len(result.rows), "statistics": len(result.statistics),
                "frames": dg.MetadataValue.json({k: len(v) for k, v in result.frames.items()}),
                "files": _files(result.files),
                "preview": dg.MetadataValue.md(result.preview[:PREVIEW_CHARS]),
                "not_estimable": dg.MetadataValue.json(unsupported),
                "audit": dg.MetadataValue.json(record), "lineage": _lineage_table(record)}

    key = table_key(study, table)

    @dg.asset(key=key, group_name=study.name.lower(), pool=WAREHOUSE_POOL,
              deps=[relation_key(r) for r in relations],
              code_version=schema.code_version(study, table),
              kinds={"python", "duckdb"}, description=f"{study.name}: {info['title']}",
              check_specs=[dg.AssetCheckSpec(
                  ESTIMABLE_CHECK, asset=key,
                  description="Warns when the data cannot support some of the table's columns "
                              "(published as not estimable), naming each with its reason.")])
    def _table(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
               publish_folder: PublishFolder):
        return _materialize(study, context, duckdb, publish_folder, work,
                            lambda unsupported: estimable_check(study, table, unsupported))
    return _table


def figure_asset(study: Study, figure: dict) -> dg.AssetsDefinition:
    def work(con, out_dir, context):
        files = run.run_figure(con, study, figure, out_dir)
        return {"files": _files(files),
                "preview": dg.MetadataValue.path(str(files["png"]))}

    @dg.asset(key=figure_key(study, figure["figure"]), group_name=study.name.lower(),
              pool=WAREHOUSE_POOL, deps=[table_key(study, t) for t in figure_tables(figure)],
              kinds={"python"}, description=f"{study.name}: {figure['title']} (figure)")
    def _figure(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                publish_folder: PublishFolder):
        return _materialize(study, context, duckdb, publish_folder, work)
    return _figure


def coefficients_asset(study: Study) -> dg.AssetsDefinition:
    def work(con, out_dir, context):
        rows = run.collect_results(con, study)
        main = rows[~rows["is_control"].astype(bool)] if len(rows) else rows
        return {"rows": len(rows), "preview": dg.MetadataValue.md(
            main[["table", "column", "outcome", "term", "estimate", "std_error", "p",
                  "n_obs"]].head(40).to_markdown(index=False))}

    @dg.asset(key=table_key(study, "coefficients"), group_name=study.name.lower(),
              pool=WAREHOUSE_POOL, kinds={"duckdb"},
              deps=[table_key(study, t) for t in run.regression_tables(study)],
              description=f"{study.name}: every tidy coefficient row and statistic of the "
                          "study's tables.")
    def _coefficients(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                      publish_folder: PublishFolder):
        return _materialize(study, context, duckdb, publish_folder, work)
    return _coefficients


def study_assets(study: Study) -> list[dg.AssetsDefinition]:
    """Every asset of one study: its tables, its figures and the collected coefficients."""
    return [*(table_asset(study, t["table"]) for t in study.tables),
            *(figure_asset(study, f) for f in study.figures), coefficients_asset(study)]


def all_study_assets() -> list[dg.AssetsDefinition]:
    """The assets of every study file of the study folder (``STUDIES_DIR``), each checked
    first: one with a problem stops the definitions from loading."""
    return [a for study in load_studies() for a in study_assets(study)]
