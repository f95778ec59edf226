"""Benchmark of study S001 on the full default.

1. The 500-draw placebo (randomization inference over re-drawn adoption schedules) as the
   study runs it: every draw's coefficient by Frisch-Waugh-Lovell after one batch demeaning
   (models_py/estimate/estimators/placebo.py), against a loop of 500 pyfixest ``feols`` fits
   of the same draws. Both in this process; the coefficients must agree to 1e-8.
2. The wall time of the whole study: every table, figure and the collected results, written
   to a scratch DuckDB file holding copies of the marts S001 reads.

Data: the marts of WAREHOUSE_PATH (run ``make demo`` first), opened read-only.

    .venv/bin/python bench/bench_s001.py [--draws 500] [--skip-study]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from models_py import warehouse  # noqa: E402
from models_py.estimate import run  # noqa: E402
from models_py.estimate.estimators import placebo, sample_frame, timing  # noqa: E402
from models_py.estimate.specs import load_study  # noqa: E402

FEOLS_TOL = 1e-12     # fixed-effect tolerance of the reference fits


def read_marts(study) -> dict[str, pd.DataFrame]:
    path = warehouse.warehouse_path()
    relations = {r for t in study.tables for r in study.table_relations(t["table"])}
    with warehouse.connect(path, read_only=True) as con:
        return {r: con.execute(f"SELECT * FROM {r}").df() for r in sorted(relations)}


def loop_of_fits(data: pd.DataFrame, spec, draws: int, seed: int) -> np.ndarray:
    """One pyfixest feols per re-drawn schedule: the reference the batch must reproduce."""
    data = placebo.drop_singletons(data, list(spec.fixed_effects))
    units, cohorts = timing.unit_cohorts(data, spec)
    schedule = placebo.drawn_cohorts(cohorts, draws, seed)
    unit_index = pd.Index(units).get_indexer(data[timing.unit(spec)])
    years = data[timing.period(spec)].to_numpy(float)
    formula = spec.formula.replace(f"~ {spec.regressors[0]} ", "~ placebo_did ", 1)
    out = np.empty(draws)
    for k in range(draws):
        with np.errstate(invalid="ignore"):
            d = (years >= schedule[k][unit_index]).astype(float)
        fit = pf.feols(formula, data=data.assign(placebo_did=d), fixef_tol=FEOLS_TOL)
        out[k] = fit.coef()["placebo_did"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--skip-study", action="store_true")
    args = ap.parse_args()

    study = load_study("s001")
    marts = read_marts(study)
    spec = study.table_specs("placebo")[0]
    seed = spec.options.seed
    data = sample_frame(marts[spec.mart], spec)
    print(f"data: {spec.mart} of {warehouse.warehouse_path()}; {len(data):,} city-years, "
          f"{data['city_id'].nunique()} cities; {spec.formula}", flush=True)

    t0 = time.perf_counter()
    batch, _ = placebo.placebo_coefficients(data, spec, args.draws, seed)
    t_batch = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop = loop_of_fits(data, spec, args.draws, seed)
    t_loop = time.perf_counter() - t0
    diff = float(np.abs(batch - loop).max())
    table = [[f"placebo, {args.draws} draws: batch demeaning + FWL (the study)", f"{t_batch:.2f}"],
             [f"placebo, {args.draws} draws: loop of pyfixest feols", f"{t_loop:.2f}"],
             ["speed-up (loop / batch)", f"{t_loop / t_batch:.1f}x"],
             ["largest |coefficient difference|", f"{diff:.2e}"]]
    print(tabulate(table, headers=["step", "seconds"], tablefmt="github"), flush=True)
    if diff > 1e-8:
        raise SystemExit(f"placebo coefficients differ from pyfixest by {diff:.2e} (> 1e-8)")

    if not args.skip_study:
        with tempfile.TemporaryDirectory() as tmp:
            con = warehouse.connect(Path(tmp) / "bench.duckdb")
            for relation, frame in marts.items():
                schema, name = relation.split(".")
                warehouse.replace_tables(con, schema, {name: frame})
            t0 = time.perf_counter()
            runs = run.run_study(con, study, Path(tmp) / "publish", progress=None)
            wall = time.perf_counter() - t0
            con.close()
        table.append([f"whole study ({len(study.specs)} specs, {len(runs)} tables, "
                      f"{len(study.figures)} figures; write + render)", f"{wall:.2f}"])
        for name, r in runs.items():
            table.append([f"  table {name}", f"{r.seconds:.2f}"])
    print(tabulate(table, headers=["step", "seconds"], tablefmt="github"))


if __name__ == "__main__":
    main()
