"""Study assets: one per published table or figure of S003, each fitting its specs from
models_py/studies/s003.yml on marts.city_pair_period, writing tidy rows to results.* and the
rendered files to the publish folder (resource ``publish_folder``)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from dagster_project.resources import WAREHOUSE_POOL, PublishFolder
from models_py.estimate import publish, run
from models_py.estimate.specs import load_study

MART = dg.AssetKey(["marts", "city_pair_period"])
GROUP = "s003"
PREVIEW_CHARS = 60_000


def _key(study, table: str) -> dg.AssetKey:
    return dg.AssetKey(["results", run.results_table(study, table)])


def study_table_asset(study, table: str, title: str) -> dg.AssetsDefinition:
    @dg.asset(key=_key(study, table), deps=[MART], group_name=GROUP, pool=WAREHOUSE_POOL,
              kinds={"python", "duckdb"}, description=f"{study.name}: {title}")
    def _table(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
               publish_folder: PublishFolder):
        out_dir = publish_folder.study_dir(study.name)
        with duckdb.get_connection() as con:
            result = run.run_table(con, study, table, out_dir, progress=context.log.info)
        if result.failures:
            context.log.warning(f"{len(result.failures)} specs failed: {result.failures}")
        return dg.MaterializeResult(metadata={
            "rows": len(result.rows), "specs_failed": len(result.failures),
            "failures": dg.MetadataValue.json(result.failures),
            "seconds": round(result.seconds, 2),
            "files": dg.MetadataValue.json({k: str(v) for k, v in result.files.items()}),
            "preview": dg.MetadataValue.md(result.preview[:PREVIEW_CHARS])})
    return _table


def coefficients_asset(study, upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(key=dg.AssetKey(["results", f"{study.name.lower()}_coefficients"]), deps=upstream,
              group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"duckdb"},
              description=f"{study.name}: every tidy coefficient row of the study's tables.")
    def _coefficients(duckdb: DuckDBResource):
        with duckdb.get_connection() as con:
            rows = run.collect_results(con, study)
        main = rows[~rows["is_control"].astype(bool)] if len(rows) else rows
        return dg.MaterializeResult(metadata={
            "rows": len(rows),
            "preview": dg.MetadataValue.md(
                main[["table", "column", "outcome", "term", "estimate", "std_error", "p",
                      "n_obs"]].head(40).to_markdown(index=False))})
    return _coefficients


def s003_assets() -> list[dg.AssetsDefinition]:
    study = load_study("s003")
    tables = [("descriptives", study.descriptives["title"])] + [
        (t["table"], t["title"]) for t in study.tables]
    assets = [study_table_asset(study, t, title) for t, title in tables]
    return [*assets, coefficients_asset(study, [_key(study, t) for t, _ in tables])]
