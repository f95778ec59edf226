"""``models_py.lineage`` inside a replication package, where there is no dbt project.

The package builder copies this file to ``code/models_py/lineage.py``, beside the estimation
code, and writes ``code/lineage.json``: for each relation the study reads, the columns dbt
documents for it, the raw tables it is built from and their sources, as the project's
``models_py.lineage`` answered them from dbt's manifest when the package was built. The study
file's checks (``models_py.estimate.schema``) ask the same questions of it and get the same
answers.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

LINEAGE = Path(__file__).resolve().parents[1] / "lineage.json"


@functools.cache
def _recorded() -> dict:
    return json.loads(LINEAGE.read_text(encoding="utf-8"))


def relations() -> list[str]:
    """Every relation the package records, as ``schema.name``."""
    return sorted(_recorded()["relations"])


def columns(relation: str) -> list[str] | None:
    """The documented columns of a relation, or None when the package does not record it."""
    found = _recorded()["relations"].get(relation)
    return None if found is None else list(found["columns"])


def raw_tables(relations_: list[str]) -> list[str]:
    """The raw tables the relations are built from."""
    recorded = _recorded()["relations"]
    unknown = [r for r in relations_ if r not in recorded]
    if unknown:
        raise KeyError(f"relations {unknown} are not recorded in {LINEAGE}")
    return sorted({t for r in relations_ for t in recorded[r]["raw_tables"]})


def sources(relations_: list[str]) -> list[str]:
    """The raw sources the relations are built from, in the project's order of sources."""
    found = {s for r in relations_ for s in _recorded()["relations"][r]["sources"]}
    return [s for s in _recorded()["source_order"] if s in found]
