"""City, county, EPS, policy-text and firm-record sources of the embedded default.

``write_all`` builds the latent worlds (:mod:`models_py.generate.city_world`,
:mod:`models_py.generate.county_world`) and writes, under the raw folder:

- ``yearbook/city_yearbook_<YYYY>.xlsx|.csv`` for every city year and
  ``yearbook/county_yearbook_<YYYY>.xlsx|.csv`` for every county year
  (:mod:`models_py.generate.yearbook_files`);
- ``eps/*.xlsx|.csv``: long and wide EPS exports (city, province and national series;
  :mod:`models_py.generate.eps_files`);
- ``policy_texts/index.csv`` and one text per document of the cross-border e-commerce pilots
  (:mod:`models_py.generate.policy_files`);
- ``asif/asif_<YYYY>.csv|.parquet``: firm records of every county year
  (:mod:`models_py.generate.firm_record_files`).

It returns the truth of studies S000, S001, S002 and S004: for each estimand the sign ("+", "-"
or "0"), the planted value and how it enters the data.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from tqdm import tqdm

from models_py import reference
from models_py.generate import business_cycle, eps_files, policy_files, yearbook_files
from models_py.generate.business_cycle import TOOL_TYPES
from models_py.generate.city_world import build_city_world, yearbook_listing
from models_py.generate.county_world import build_county_world
from models_py.generate.firm_record_files import write_asif
from models_py.generate.scale import Scale

FOLDERS = ("yearbook", "eps", "policy_texts", "asif")


def write_all(out_dir: Path, sc: Scale, latent: pd.DataFrame, seed: int,
              s001_null: bool = False) -> dict:
    """Write every file of these sources under ``out_dir``; return the truth sections
    ``{"S000": ..., "S001": ..., "S002": ..., "S004": ...}`` (JSON-serialisable).
    ``s001_null``: the S001 null variant (no pilot-zone effect planted)."""
    out_dir = Path(out_dir)
    for folder in FOLDERS:
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    world = build_city_world(sc, latent, seed, s001_null)
    county = build_county_world(sc, latent, seed)
    docs = policy_files.policy_documents(world, seed, last_year=max(sc.city_years))

    tasks = [lambda y=y: yearbook_files.write_city_yearbook(out_dir, world, y, seed)
             for y in sc.city_years]
    tasks += [lambda y=y: yearbook_files.write_county_yearbook(out_dir, county, y, seed)
              for y in sc.county_years]
    tasks += [lambda w=w: w(out_dir, world, seed) for w in eps_files.EPS_WRITERS]
    tasks += [lambda: policy_files.write_policy_index(out_dir, docs)]
    tasks += [lambda n=n, t=t: policy_files.write_policy_text(out_dir, n, t)
              for n, t in zip(docs["文件名"], docs["text"])]
    tasks += [lambda y=y: write_asif(out_dir, county, y) for y in sc.county_years]
    for task in tqdm(tasks, desc="city sources", unit="file", disable=sc.name != "full"):
        task()

    truth = world.truth
    truth["S002"]["policy_texts"] = _policy_truth(world, docs)
    roster = reference.cities().set_index("city_id").loc[world.cities["city_id"]]
    listed = yearbook_listing(roster, sc.city_years)
    truth["S002"]["effects"] = business_cycle.pair_effects(world, docs, listed)
    truth["S002"]["city_growth"] = business_cycle.city_growth(world, listed)
    truth["S004"] = county.truth
    return truth


def _policy_truth(world, docs: pd.DataFrame) -> dict:
    """The keyword dictionary and, per pilot city, its planted rates and realized counts."""
    counts = docs.groupby("city_id")[list(TOOL_TYPES)].sum()
    n_docs = docs.groupby("city_id").size()
    cities = {}
    for p in world.pilots.itertuples():
        cities[p.city_id] = {
            "policy_year": int(p.policy_year),
            "rates": {"supply": round(float(p.rate_supply), 4),
                      "environment": round(float(p.rate_environment), 4),
                      "demand": round(float(p.rate_demand), 4)},
            "multiplier": round(float(p.multiplier), 4),
            "documents": int(n_docs.get(p.city_id, 0)),
            "keywords": {t: int(counts.loc[p.city_id, t]) if p.city_id in counts.index else 0
                         for t in TOOL_TYPES},
        }
    return {
        "keywords": policy_files.policy_tools(),
        "documents": int(len(docs)),
        "cities": cities,
        "how": "each document holds Poisson(rate_k) sentences with a keyword of tool type k; "
               "a city's effect multiplier is the mean of rate_k / E[rate]",
    }
