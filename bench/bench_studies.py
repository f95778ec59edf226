"""Benchmark of the studies on the full default, and their report pages.

Each study runs whole (every table, figure and the collected results) in a child process of
this script, on a scratch DuckDB file holding copies of the relations it reads; the script
prints each study's wall time, its tables' times and the child's peak memory.

With ``--report DIR --truth PATH`` it then writes ``DIR/<study>_full_default.md`` (and the
study's main figure beside it): the values the truth file says each estimator targets against
the estimates, then every published table.

Data: the warehouse of WAREHOUSE_PATH (run ``make demo`` first), opened read-only.

    .venv/bin/python bench/bench_studies.py [--studies s000 s002 s004] [--work DIR]
        [--report reports --truth data/truth.json]
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from models_py import warehouse  # noqa: E402
from models_py.estimate import estimators, run  # noqa: E402
from models_py.estimate.specs import STUDIES_DIR, load_study  # noqa: E402
from models_py.generate.county_world import planted_component  # noqa: E402
from models_py.generate.estimands import codes, fe_ols  # noqa: E402

STUDIES = ("s000", "s001", "s002", "s003", "s004")
FIGURE = {"s000": "lags", "s001": "event_study", "s002": "event_study",
          "s003": "distance_tiers", "s004": "event_study"}


def run_study(name: str, source: str, work: str) -> dict:
    """Copy the study's relations from ``source`` into ``work/<name>.duckdb`` and run the
    whole study there (in the calling process); its timings and peak memory."""
    study = load_study(name)
    relations = sorted({r for t in study.tables for r in study.table_relations(t["table"])})
    db = Path(work) / f"{name}.duckdb"
    db.unlink(missing_ok=True)
    con = warehouse.connect(db)
    # copied by DuckDB, types and all (through pandas, an all-null column has no type)
    con.execute(f"ATTACH '{source}' AS source (READ_ONLY)")
    rows = {}
    for relation in relations:
        schema, table = relation.split(".")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(f'CREATE TABLE {schema}."{table}" AS SELECT * FROM source.{schema}."{table}"')
        rows[relation] = con.execute(f'SELECT count(*) FROM {schema}."{table}"').fetchone()[0]
    con.execute("DETACH source")
    t0 = time.perf_counter()
    runs = run.run_study(con, study, Path(work) / "publish" / name)
    wall = time.perf_counter() - t0
    con.close()
    return {"study": name, "seconds": wall, "specs": len(study.specs),
            "rows": rows,
            "tables": {t: r.seconds for t, r in runs.items()},
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2}


# ------------------------------------------------------------------------------ report

def _rows(work: Path, name: str) -> pd.DataFrame:
    with duckdb.connect(str(work / f"{name}.duckdb"), read_only=True) as con:
        return con.execute(f"SELECT * FROM results.{name}_coefficients").df()


def _row(rows: pd.DataFrame, table: str, column: int, term: str) -> pd.Series:
    r = rows[(rows["table"] == table) & (rows["column"] == column) & (rows["term"] == term)]
    return r.iloc[0]


# What each study's estimates target: (label, table, column, term, target value) from the
# truth file and, where the target depends on the data, the study's DuckDB file ``db``.
def targets_s000(truth: dict, db: Path) -> list[tuple]:
    e = truth["S000"]["index_effects"]
    return [("Baseline, balance (−Theil)", "baseline", 1, "di_index", e["baseline_theil"]),
            ("Baseline, balance (−CV)", "baseline", 3, "di_index", e["baseline_cv"]),
            ("Index at t−1, −Theil", "lags", 2, "di_index_lag1", e["lag1_theil"]),
            ("Index at t−2, −Theil", "lags", 3, "di_index_lag2", e["lag2_theil"]),
            ("Index at t−1, −CV", "lags", 5, "di_index_lag1", e["lag1_cv"]),
            ("Index at t−2, −CV", "lags", 6, "di_index_lag2", e["lag2_cv"]),
            ("2SLS (lag instrument), −Theil", "iv", 2, "di_index", e["iv_lag1_theil"]),
            ("2SLS (lag instrument), −CV", "iv", 3, "di_index", e["iv_lag1_cv"]),
            ("Mechanism: ln patents", "mechanisms", 1, "di_index", e["mechanism_log_patents"]),
            ("Mechanism: tertiary / secondary", "mechanisms", 2, "di_index",
             e["mechanism_tertiary_to_secondary"]),
            ("× high urbanization, −Theil", "heterogeneity", 3, "di_index:high_urbanization",
             e["urbanization_difference_theil"]),
            ("× high urbanization, −CV", "heterogeneity", 6, "di_index:high_urbanization",
             e["urbanization_difference_cv"])]


def targets_s001(truth: dict, db: Path) -> list[tuple]:
    e = truth["S001"]["index_effects"]
    gain = pd.DataFrame(truth["S001"]["implied_index_gain"]["by_city_year"])
    controlled = {(table, column): planted_estimate(db, "s001", table, column, "did", gain)
                  for table, column in (("baseline", 2), ("robust_did", 2))}
    return [("Baseline TWFE, without controls", "baseline", 1, "did", e["twfe"]),
            ("Baseline TWFE, with controls", "baseline", 2, "did", controlled["baseline", 2]),
            ("Imputation estimator, without controls", "robust_did", 1, "did",
             e["att_imputation"]),
            ("Imputation estimator, with controls", "robust_did", 2, "did",
             controlled["robust_did", 2]),
            ("IV-2SLS", "iv", 2, "did", e["iv"])]


def without_bootstrap(spec):
    """The spec without its wild cluster bootstrap (its CI does not depend on it)."""
    if getattr(spec.options, "wild_bootstrap", None) is None:
        return spec
    return dataclasses.replace(spec, options=spec.options.model_copy(
        update={"wild_bootstrap": None}))


def planted_estimate(db: Path, name: str, table: str, column: int, term: str,
                     planted: pd.DataFrame) -> float:
    """The target of a column whose estimator the truth file does not state (one with
    controls): the column's own estimator applied to what was planted, its spec fitted on the
    study's mart with the outcome replaced by ``planted``'s ``gain`` (by the mart's rows'
    values of ``planted``'s other columns), on the rows where the outcome is observed. The
    estimators are linear in the outcome, so an estimate on the data differs from this by the
    estimator applied to the world without the planted effects, noise only."""
    study = load_study(name)
    spec = without_bootstrap(next(s for s in study.table_specs(table) if s.column == column))
    with duckdb.connect(str(db), read_only=True) as con:
        inputs = run.table_inputs(con, study, table)
    mart = inputs[spec.mart]
    keys = [k for k in planted.columns if k != "gain"]
    gain = mart[keys].merge(planted, on=keys, how="left")["gain"].to_numpy(float)
    observed = mart[spec.outcome].notna().to_numpy()
    if np.isnan(gain[observed]).any():
        raise LookupError(f"{name} {table} ({column}): no planted gain for "
                          f"{int(np.isnan(gain[observed]).sum())} rows of {spec.mart}")
    mart = mart.assign(**{spec.outcome: np.where(observed, gain, np.nan)})
    est, _ = estimators.estimate(mart, spec, {**inputs, spec.mart: mart})
    return float(est.terms.loc[est.terms["term"] == term, "estimate"].iloc[0])


def targets_s002(truth: dict, db: Path) -> list[tuple]:
    effects = truth["S002"]["effects"]
    study = load_study("s002")
    doc = yaml.safe_load((STUDIES_DIR / "s002.yml").read_text(encoding="utf-8"))
    strong = doc["aliases"]["strong_ties"]
    threshold = float(strong.rsplit(">=", 1)[1])
    main = effects[str(threshold)]
    out = [(f"Baseline TWFE ({strong})", "baseline", 1, "treated", main["twfe"]),
           (f"Imputation ({strong})", "baseline", 3, "treated", main["att_imputation"])]
    for spec in study.table_specs("tie_threshold"):
        value = spec.sample.rsplit(">=", 1)[1].strip()
        out.append((f"TWFE, ties percent rank ≥ {value}", "tie_threshold", spec.column,
                    "treated", effects[str(float(value))]["twfe"]))
    for column, tool in ((1, "supply"), (2, "environment"), (3, "demand")):
        out.append((f"DID × {tool}-oriented tools", "policy_tool_effects", column,
                    f"did_tool_{tool}", main[f"did_tool_{tool}"]))
    for tool, value in main["joint"].items():
        out.append((f"{tool}, all three tools together", "policy_tool_effects", 4, tool, value))
    return out


def targets_s004(truth: dict, db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        mart = con.execute("SELECT * FROM marts.county_year").df()
    out = []
    for table, column, outcome in (("growth", 2, "gdp_growth"), ("inequality", 2, "log_income_gap"),
                                   ("channel", 1, "log_rural_income"),
                                   ("channel", 2, "log_urban_income")):
        keep = mart[outcome].notna().to_numpy()
        terms = ["entrepreneurial_cluster", "other_cluster"]
        value = fe_ols(planted_component(truth["S004"], mart, outcome)[keep],
                       mart.loc[keep, terms].astype(float).to_numpy(),
                       [codes(mart.loc[keep, "county_id"]), codes(mart.loc[keep, "year"])])
        for term, v in zip(terms, value):
            out.append((f"{outcome}: {term.replace('_', ' ')}", table, column, term, float(v)))
    return out


# S003's truth plants signs and patterns, not values: its page states them (WHAT) instead of
# a table of targets.
TARGETS = {"s000": targets_s000, "s001": targets_s001, "s002": targets_s002,
           "s003": None, "s004": targets_s004}
WHAT = {
    "s003": ("The embedded default plants signs, not values: HSR + and information + on "
             "IT_direction; HSR 0 down-gradient and + up-gradient, information + both ways and "
             "larger down-gradient; by sector class, labor: HSR 0/+ and information +/−, capital: "
             "HSR 0/+ and information +/+, technology: HSR 0/0 and information +/0 (down/up); "
             "synergy + up-gradient; no reverse channel, which a regression of connectivity on IT "
             "cannot tell from the forward effect. Mechanism variables carry no planted "
             "connectivity effect."),
    "s001": "the targets are the truth file's `S001.index_effects`: each estimator (the TWFE "
            "slope, the imputation ATT, the IV slope) applied to the noise-free gain of the "
            "resilience index the planted pilot-zone effects bring, against the same world "
            "without them; for the columns with controls, the column's own estimator applied "
            "to that gain by city-year (`S001.implied_index_gain.by_city_year`) on the mart's "
            "controls",
    "s000": "the targets are the truth file's `S000.index_effects`: each estimator applied to "
            "the gain the planted convergence (and, for the mechanisms, the planted rise of "
            "patents and the tertiary share) brings, on a reference digital-infrastructure index "
            "the generator computes from its own world",
    "s002": "the targets are the truth file's `S002.effects`: each estimator applied to the "
            "synchronization gain the pilots' pull on the business cycle brings, against the "
            "same world without it, on the pairs at or above each threshold of pre-pilot ties",
    "s004": "the targets are the planted cluster effects (GDP growth +0.03 entrepreneurial, "
            "+0.02 other; ln rural income +0.12 entrepreneurial; urban income untouched; the "
            "truth file's `S004`) projected on the clusters the firm records show, with county "
            "and year fixed effects",
}


def write_report(name: str, stats: dict, truth: dict, work: Path, out_dir: Path) -> Path:
    study = load_study(name)
    rows = _rows(work, name)
    wild = rows["wild_p"].notna().any()
    table = []
    targets = TARGETS[name] or (lambda *_: [])
    for label, t, column, term, target in targets(truth, work / f"{name}.duckdb"):
        r = _row(rows, t, column, term)
        covered = "yes" if r["ci_low"] < target < r["ci_high"] else "**no**"
        table.append([label, f"{t} ({column})", f"{target:.5g}", f"{r['estimate']:.5g}",
                      f"{r['std_error']:.3g}", f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]",
                      covered, f"{r['p']:.3g}", *([f"{r['wild_p']:.3g}"] if wild else [])])
    publish = work / "publish" / name
    figure = out_dir / f"{name}_{FIGURE[name]}.png"
    shutil.copyfile(publish / f"{FIGURE[name]}.png", figure)
    mart = study.mart
    parts = [
        f"# {name.upper()} on the full embedded default\n",
        f"{study.name}: {yaml_title(name)}. Tables as `make demo` "
        f"publishes them (`data/publish/{name}/`), produced by `bench/bench_studies.py --report` "
        f"on {dt.date.today().isoformat()} on a 2-core, 24 GB machine: {stats['rows'][mart]:,} "
        f"rows of `{mart}`, {stats['specs']} specifications, {stats['seconds']:.1f} s for the "
        f"whole study.\n",
        *([f"**Planted values and estimates.** For each estimate, {WHAT[name]}; an estimate "
           "differs from its target by noise only, so the 95% CI should hold it (about one "
           "in twenty may not).\n",
           tabulate(table, headers=["effect", "table (column)", "target", "estimate", "s.e.",
                                    "95% CI", "covered", "p",
                                    *(["wild bootstrap p"] if wild else [])],
                    tablefmt="github", disable_numparse=True) + "\n"] if table else
          [f"**Planted.** {WHAT[name]}\n"]),
        f"![{FIGURE[name]}]({figure.name})\n"]
    for t in study.tables:
        stems = [t["table"], *(f"{t['table']}_{f}" for f in t.get("frames", {}))]
        stems += sorted(p.stem for p in publish.glob(f"{t['table']}_*.md")
                        if p.stem not in stems and t.get("split_by"))
        for stem in stems:
            if (publish / f"{stem}.md").exists():
                parts.append((publish / f"{stem}.md").read_text(encoding="utf-8"))
    path = out_dir / f"{name}_full_default.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def yaml_title(name: str) -> str:
    return yaml.safe_load((STUDIES_DIR / f"{name}.yml").read_text(encoding="utf-8"))["title"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--studies", nargs="+", default=list(STUDIES), choices=STUDIES)
    ap.add_argument("--work", type=Path, help="keep the scratch databases and files here")
    ap.add_argument("--report", type=Path, help="write the report pages into this folder")
    ap.add_argument("--truth", type=Path, help="the truth file of the full default (--report)")
    args = ap.parse_args()
    if args.report and not args.truth:
        ap.error("--report needs --truth")
    source = str(warehouse.warehouse_path())
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results, table = {}, []
        for name in args.studies:
            # a fresh process per study, so that each peak memory is the study's own
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                stats = pool.submit(run_study, name, source, str(work)).result()
            results[name] = stats
            table.append([f"{name}: whole study ({stats['specs']} specs, write + render)",
                          f"{stats['seconds']:.2f}", f"{stats['peak_gb']:.2f}"])
            table += [[f"  table {t}", f"{s:.2f}", ""] for t, s in stats["tables"].items()]
            print(f"{name}: {stats['seconds']:.1f} s, peak {stats['peak_gb']:.2f} GB", flush=True)
        print(f"data: {source}")
        print(tabulate(table, headers=["step", "seconds", "peak GB"], tablefmt="github"))
        if args.report:
            truth = json.loads(args.truth.read_text(encoding="utf-8"))
            args.report.mkdir(parents=True, exist_ok=True)
            for name, stats in results.items():
                print("wrote", write_report(name, stats, truth, work, args.report))


if __name__ == "__main__":
    main()
