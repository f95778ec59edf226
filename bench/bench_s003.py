"""Benchmark of study S003 at full size.

One pair-panel fit (IT_direction on connectivity_HSR + 12 controls | pair + period, CRV1 by
pair) in pyfixest, next to the same fit in linearmodels (AbsorbingLS, and PanelOLS), then the
wall time of the whole study (every spec fitted, results written to DuckDB, tables and figures
rendered).

Data: marts.city_pair_period of WAREHOUSE_PATH if it holds a full-size panel (>100k rows);
otherwise a synthetic panel with the same structure built in memory: 272 cities -> 73,712
ordered pairs x 2 periods = 147,424 rows.

    .venv/bin/python bench/bench_s003.py [--repeat 3] [--skip-absorbing]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

from models_py import reference, warehouse  # noqa: E402
from models_py.estimate import run  # noqa: E402
from models_py.estimate.estimators import ols, sample_frame  # noqa: E402
from models_py.estimate.specs import load_study  # noqa: E402

CONTROLS = ["ed", "u", "fi", "hc", "ft", "ge"]
FACTORS = ["labor", "fcapital", "ccapital", "flc", "clc", "tech"]


def synthetic_panel(n_cities: int = 272, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(85, 125, n_cities), rng.uniform(20, 48, n_cities)
    i, j = np.where(~np.eye(n_cities, dtype=bool))
    npair = len(i)
    rows = []
    city = {v: rng.normal(size=(n_cities, 2)) for v in CONTROLS + [f"factor_{f}" for f in FACTORS]
            + ["gdppc", "pop"]}
    dist = np.hypot(lon[i] - lon[j], (lat[i] - lat[j])) * 100.0 + 5
    tiers = reference.distance_tiers()    # beyond the last tier: no tier
    tier = pd.cut(dist, [*tiers["lower_km"], tiers["upper_km"].iloc[-1]],
                  labels=list(tiers["tier"]), right=False)
    pair_level = rng.normal(size=npair)
    hsr0 = rng.poisson(0.05, npair).astype(float)
    for p in (1, 2):
        hsr = hsr0 + (p == 2) * rng.binomial(1, 0.05, npair) * rng.uniform(0.2, 1, npair)
        info = np.clip(rng.normal(1.7, 1.3, npair) + 0.1 * p, 0, None)
        z = pair_level + 0.3 * hsr + 0.4 * info + rng.normal(size=npair)
        d = {"pair_id": [f"{a}_{b}" for a, b in zip(i, j)] if p == 1 else None,
             "period_id": np.full(npair, p, dtype=np.int32), "city_i": i, "city_j": j,
             "connectivity_hsr": hsr, "connectivity_i": info, "connectivity_double": hsr * info,
             "distance_km": dist, "distance_tier": tier.astype(str),
             "it": np.sign(z) * np.log1p(np.abs(z) * 1e3), "it_direction": (z > 0).astype(int)}
        for c in ("labor", "capital", "technology"):
            zc = z + rng.normal(size=npair)
            d[f"it_{c}"] = np.sign(zc) * np.log1p(np.abs(zc) * 1e3)
        gi, gj = city["gdppc"][i, p - 1], city["gdppc"][j, p - 1]
        d["gradient_gdppc"] = np.where(gi > gj, "down", "up")
        d["gradient_pop"] = np.where(city["pop"][i, p - 1] > city["pop"][j, p - 1], "down", "up")
        for v in CONTROLS + [f"factor_{f}" for f in FACTORS]:
            d[f"{v}_i"], d[f"{v}_j"] = city[v][i, p - 1], city[v][j, p - 1]
        rows.append(pd.DataFrame(d))
    rows[1]["pair_id"] = rows[0]["pair_id"].values
    return pd.concat(rows, ignore_index=True)


def full_mart() -> pd.DataFrame | None:
    path = warehouse.warehouse_path()
    if not path.exists():
        return None
    try:
        with warehouse.connect(path, read_only=True) as con:
            df = con.execute("SELECT * FROM marts.city_pair_period").df()
    except Exception:
        return None
    return df if len(df) > 100_000 else None


def timed(fn, repeat: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-absorbing", action="store_true",
                    help="skip linearmodels AbsorbingLS (slow with ~74k absorbed levels)")
    ap.add_argument("--skip-study", action="store_true")
    args = ap.parse_args()

    df = full_mart()
    source = f"marts.city_pair_period of {warehouse.warehouse_path()}"
    if df is None:
        t0 = time.perf_counter()
        df = synthetic_panel()
        source = f"synthetic panel built in {time.perf_counter() - t0:.1f}s"
    study = load_study("s003")
    spec = study.table_specs("baseline")[1]
    data = sample_frame(df, spec)
    x = [*spec.regressors, *spec.control_vars]
    print(f"data: {source}; {len(data):,} rows, {data['pair_id'].nunique():,} pairs")

    t0 = time.perf_counter()
    ols.feols(spec.formula, data, spec)
    first = time.perf_counter() - t0
    t_pf, model = timed(lambda: ols.feols(spec.formula, data, spec), args.repeat)
    table = [["pyfixest feols (first call, compiles)", f"{first:.2f}", ""],
             ["pyfixest feols (median, warm)", f"{t_pf:.2f}",
              f"{model.coef()['connectivity_hsr']:.6f} ({model.se()['connectivity_hsr']:.6f})"]]

    from linearmodels import AbsorbingLS, PanelOLS
    panel = data.set_index(["pair_id", "period_id"])
    t_po, po = timed(lambda: PanelOLS(panel[spec.outcome], panel[x], entity_effects=True,
                                      time_effects=True).fit(cov_type="clustered",
                                                             cluster_entity=True), args.repeat)
    table.append(["linearmodels PanelOLS (median)", f"{t_po:.2f}",
                  f"{po.params['connectivity_hsr']:.6f} ({po.std_errors['connectivity_hsr']:.6f})"])
    if not args.skip_absorbing:
        absorb = pd.DataFrame({"pair": pd.Categorical(data["pair_id"]),
                               "period": pd.Categorical(data["period_id"])})
        clusters = pd.Categorical(data["pair_id"]).codes
        t_ab, ab = timed(lambda: AbsorbingLS(data[spec.outcome], data[x], absorb=absorb).fit(
            cov_type="clustered", clusters=clusters), args.repeat)
        table.append(["linearmodels AbsorbingLS (median)", f"{t_ab:.2f}",
                      f"{ab.params['connectivity_hsr']:.6f} "
                      f"({ab.std_errors['connectivity_hsr']:.6f})"])

    print(tabulate(table, headers=["step", "seconds", "connectivity_HSR coef (SE)"],
                   tablefmt="github"), flush=True)
    if not args.skip_study:
        with tempfile.TemporaryDirectory() as tmp:
            con = warehouse.connect(Path(tmp) / "bench.duckdb")
            warehouse.replace_tables(con, "marts", {"city_pair_period": df})
            t0 = time.perf_counter()
            run.run_study(con, study, Path(tmp) / "publish")
            wall = time.perf_counter() - t0
            con.close()
        table.append([f"whole study ({len(study.specs)} specs; write + render)",
                      f"{wall:.2f}", ""])
    print(tabulate(table, headers=["step", "seconds", "connectivity_HSR coef (SE)"],
                   tablefmt="github"))


if __name__ == "__main__":
    main()
