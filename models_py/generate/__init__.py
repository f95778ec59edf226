"""The embedded default: raw files of every source in the shapes of the raw-source contract,
with planted effects written to a truth file that the pipeline never reads.

``python -m models_py.generate --scale full --out data/raw --truth data/truth.json``
(``--s001-null`` for the S001 null variant).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from models_py.generate import city_sources, s003_sources
from models_py.generate.latent import city_latent
from models_py.generate.scale import get_scale

# Written at the top of the landing folder (where no loader looks): says the folder is the
# embedded default and how it was generated, for the provenance a replication package states.
MARKER = "EMBEDDED_DEFAULT.json"


def generate(out_dir: Path, truth_path: Path, scale: str = "small", seed: int = 20240601,
             s001_null: bool = False, ceads_format: str | None = None) -> dict:
    """Write every raw source under ``out_dir`` and the planted truth to ``truth_path``; the
    CEADs tables as ``ceads_format`` ("xlsx", "csv", "parquet"; default Parquet at full scale,
    xlsx at small).

    ``truth_path`` must lie outside ``out_dir``: the pipeline reads everything under the raw
    folder, and the truth is for tests only. ``s001_null`` writes the S001 null variant: the
    same world without any effect of the big data pilot zones (the truth's S001 section says
    ``"variant": "null"`` and every S001 effect is zero). The folder's :data:`MARKER` records
    the generation's settings. Returns the truth dictionary.
    """
    out_dir, truth_path = Path(out_dir).resolve(), Path(truth_path).resolve()
    if out_dir in truth_path.parents:
        raise ValueError(f"truth file {truth_path} must not lie inside the raw folder {out_dir}")
    sc = get_scale(scale)
    latent = city_latent(sc.city_ids, seed)
    started = time.perf_counter()
    truth: dict = {"scale": scale, "seed": seed}
    truth.update(city_sources.write_all(out_dir, sc, latent, seed, s001_null))
    truth.update(s003_sources.write_all(out_dir, sc, latent, seed, ceads_format))
    truth["seconds"] = round(time.perf_counter() - started, 1)
    settings = {"generator": "python -m models_py.generate", "scale": scale, "seed": seed,
                "s001_null": s001_null, "ceads_format": ceads_format}
    (out_dir / MARKER).write_text(json.dumps(settings, indent=2), encoding="utf-8")
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=2), encoding="utf-8")
    return truth
