"""Coverage bench: do the studies' 95% confidence intervals hold what the generator planted?

For each seed the script writes the small embedded default (``models_py.generate``; the CEADs
tables as Parquet, which load in a second where the xlsx take minutes), builds the
warehouse relations the studies read with real Dagster (the raw loads, the input-output step
and the dbt build; no quality checks, no study assets, no analysts' copy), then fits only the
study tables that hold a target, in this one process, without writing results or rendering
files. It prints:

- for each study and target (the targets of ``bench_studies.TARGETS``, stated by the seed's
  truth file), the share of seeds whose 95% CI holds the target; the share whose CI holds the
  mean of the targets over the seeds; the mean estimate minus the target, the ratio of the
  mean standard error to the spread of estimate minus target across seeds (each seed's world
  has a target of its own) and the share of seeds whose estimate differs from zero at 5% (the
  power against the planted effect).

  The two coverages answer two questions. A seed's target is the estimator applied to what
  was planted in that seed's world: the effect of its own cities, whose planted effects differ
  (S001's scale with each city's size and capacities). A clustered standard error treats the
  clusters as drawn from a population, so with effects that differ across clusters its
  interval is built for the population's effect, which the mean of the targets over seeds
  estimates, and holds a world's own effect more often than 95% (Abadie, Athey, Imbens and
  Wooldridge); where effects are alike, the two coverages agree;
- with ``--null``, on the S001 null variant of every seed (no pilot-zone effect planted), each
  test's rejection rate at 5%: the DID coefficients of the target tables and the mechanisms,
  the event studies' pre-trend tests and the randomization test of the placebo.

S003 plants signs, not values, and has no targets here. The wild cluster bootstrap is turned
off (it gives p-values, not the CIs measured here), so each seed costs the data build and the
fits only.

    .venv/bin/python bench/bench_coverage.py [--seeds 50] [--first-seed 1]
        [--studies s000 s001 s002 s004] [--null] [--work DIR] [--json FILE]
    .venv/bin/python bench/bench_coverage.py --summarize FILE [FILE ...]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")
warnings.filterwarnings("ignore")

from bench_studies import TARGETS, without_bootstrap  # noqa: E402
from dagster_project.resources import resources  # noqa: E402
from models_py.estimate import run  # noqa: E402
from models_py.estimate.specs import load_study, study_names  # noqa: E402
from models_py.generate import generate  # noqa: E402

STUDIES = tuple(name for name, targets in TARGETS.items() if targets)
NULL_STUDY = "s001"
# The S001 tests whose rejection rate the null variant measures, beside its target rows:
# (table, column, term) of DID coefficients, and (table, statistic) of test p-values.
NULL_COEFFICIENTS = (("mechanisms", 1, "did"), ("mechanisms", 2, "did"))
NULL_STATISTICS = (("event_study", "pretrend_p"), ("placebo", "ri_p"))


def build_warehouse(raw: Path, db: Path) -> None:
    """The relations the studies read, materialized by the project's Dagster assets: the raw
    loads, the input-output step and the whole dbt build (its relationship tests span the
    project); no study asset, no analysts' copy, no quality checks."""
    from dagster_project.definitions import defs

    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.is_executable]
    studies = dg.AssetSelection.groups(*(n.lower() for n in study_names()))
    selection = dg.AssetSelection.all() - studies - dg.AssetSelection.keys("analyst_snapshot")
    dg.materialize(assets, selection=selection, raise_on_error=True,
                   resources=resources(db, raw, db.parent / "publish"))


def fit_tables(con, name: str, tables: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coefficient and statistic rows of the named tables of a study (nothing written)."""
    study = load_study(name)
    study = dataclasses.replace(study, specs=[without_bootstrap(s) for s in study.specs])
    rows, stats = [], []
    for table in sorted(tables):
        r, s, _ = run.estimate_table(run.table_inputs(con, study, table), study, table)
        rows.append(r)
        stats.append(s)
    return pd.concat(rows, ignore_index=True), pd.concat(stats, ignore_index=True)


def pick(rows: pd.DataFrame, table: str, column: int, term: str) -> pd.Series:
    r = rows[(rows["table"] == table) & (rows["column"] == column) & (rows["term"] == term)]
    if len(r) != 1:
        raise LookupError(f"{table} ({column}) {term}: {len(r)} rows")
    return r.iloc[0]


def one_seed(seed: int, studies: list[str], work: Path, null: bool) -> list[dict]:
    """Every target row of the studies on one seed (and, with ``null``, the S001 null tests)."""
    out = []
    variants = [(False, studies)] + ([(True, [NULL_STUDY])] if null else [])
    for s001_null, names in variants:
        base = work / f"seed{seed}{'_null' if s001_null else ''}"
        truth = generate(base / "raw", base / "truth.json", "small", seed, s001_null=s001_null,
                         ceads_format="parquet")
        db = base / "warehouse.duckdb"
        build_warehouse(base / "raw", db)
        with duckdb.connect(str(db), read_only=True) as con:
            for name in names:
                targets = TARGETS[name](truth, db)
                tables = {t for _, t, *_ in targets}
                if s001_null:
                    tables |= {t for t, *_ in NULL_COEFFICIENTS} | {t for t, _ in NULL_STATISTICS}
                rows, stats = fit_tables(con, name, tables)
                for label, table, column, term, target in targets:
                    r = pick(rows, table, column, term)
                    out.append({"variant": "null" if s001_null else "planted", "study": name,
                                "target": label, "seed": seed, "value": target,
                                "estimate": r["estimate"], "se": r["std_error"], "p": r["p"],
                                "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                                "covered": bool(r["ci_low"] < target < r["ci_high"])})
                if s001_null:
                    out += null_tests(rows, stats, seed)
        shutil.rmtree(base)
    return out


def null_tests(rows: pd.DataFrame, stats: pd.DataFrame, seed: int) -> list[dict]:
    """The p-values of the S001 null variant's other tests on one seed."""
    out = [{"variant": "null", "study": NULL_STUDY, "target": f"{t} ({c}) {term}", "seed": seed,
            "p": pick(rows, t, c, term)["p"]} for t, c, term in NULL_COEFFICIENTS]
    for table, statistic in NULL_STATISTICS:
        s = stats[(stats["table"] == table) & (stats["statistic"] == statistic)]
        out += [{"variant": "null", "study": NULL_STUDY, "seed": seed, "p": v,
                 "target": f"{table} ({c}) {statistic}"} for c, v in zip(s["column"], s["value"])]
    return out


def summary(results: pd.DataFrame) -> tuple[str, str]:
    """The coverage table of the planted variant and the rejection table of the null one."""
    planted = results[results["variant"] == "planted"]
    cover = []
    for (study, target), g in planted.groupby(["study", "target"], sort=False):
        error = g["estimate"] - g["value"]       # each seed's world has its own target
        spread = error.std()
        mean = g["value"].mean()
        population = ((g["ci_low"] < mean) & (mean < g["ci_high"])).mean() \
            if {"ci_low", "ci_high"} <= set(g) and g["ci_low"].notna().all() else float("nan")
        cover.append([study.upper(), target, len(g), f"{100 * g['covered'].mean():.0f}%",
                      f"{100 * population:.0f}%" if population == population else "-",
                      f"{error.mean():+.3g}",
                      f"{g['se'].mean() / spread:.2f}" if spread > 0 else "-",
                      f"{100 * (g['p'] < 0.05).mean():.0f}%"])
    null = results[results["variant"] == "null"]
    reject = [[target, len(g), f"{100 * (g['p'] < 0.05).mean():.0f}%"]
              for target, g in null.groupby("target", sort=False)]
    return (tabulate(cover, headers=["study", "target", "seeds", "95% CI coverage",
                                     "of the mean target", "mean estimate − target",
                                     "mean s.e. / sd of estimate − target",
                                     "p < 0.05"],
                     tablefmt="github", disable_numparse=True),
            tabulate(reject, headers=["S001 null variant: test", "seeds", "rejects at 5%"],
                     tablefmt="github", disable_numparse=True) if reject else "")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--studies", nargs="+", default=list(STUDIES), choices=STUDIES)
    ap.add_argument("--null", action="store_true", help="also the S001 null variant")
    ap.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    ap.add_argument("--json", type=Path, help="write every seed's rows here as well")
    ap.add_argument("--summarize", type=Path, nargs="+", metavar="JSON",
                    help="only print the tables of rows written by --json (several runs' files "
                         "together, e.g. seeds run in parts)")
    args = ap.parse_args()
    if args.summarize:
        results = [row for path in args.summarize for row in json.loads(path.read_text())]
        print("\n\n".join(summary(pd.DataFrame(results))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        results = []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            t0 = time.perf_counter()
            results += one_seed(seed, args.studies, work, args.null)
            print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
            if args.json:
                args.json.write_text(json.dumps(results, default=float, indent=1))
    cover, reject = summary(pd.DataFrame(results))
    print(cover)
    print(reject)


if __name__ == "__main__":
    main()
