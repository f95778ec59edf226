"""What the warehouse's relations are and what they are built from, read from dbt's manifest.

dbt's manifest (``dbt/target/manifest.json``, written by ``dbt parse``) knows every model and
seed with its documented columns and the relations it reads; the input-output step
(``models_py.io``) is the one relation built outside dbt, from the raw tables of one source.
From these two the studies learn which columns a mart has (to check a study file) and which
raw tables and sources a relation is built from (a study's sources, the audit record); the
Dagster asset graph is built from the same manifest, so the two agree.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

from models_py.audit import table_source
from models_py.ingest import SOURCES
from models_py.io.pipeline import SOURCE as IO_SOURCE

MANIFEST = Path(__file__).resolve().parents[1] / "dbt" / "target" / "manifest.json"
IO_SCHEMA = "io"


@functools.cache
def _index(path: Path, modified: int) -> tuple[dict[str, dict], dict[str, str]]:
    """The manifest's models, seeds and sources by id, and ``schema.name`` -> id."""
    found = json.loads(path.read_text(encoding="utf-8"))
    nodes = {**found["nodes"], **found["sources"]}
    ids = {f"{n['schema']}.{n.get('alias') or n.get('identifier') or n['name']}": uid
           for uid, n in nodes.items() if n["resource_type"] in ("model", "seed", "source")}
    return nodes, ids


def _manifest() -> tuple[dict[str, dict], dict[str, str]]:
    """dbt's manifest, indexed (read again when the file changes)."""
    if not MANIFEST.exists():
        raise FileNotFoundError(f"{MANIFEST} is missing: run `make dbt/target/manifest.json` "
                                "(dbt parse) first")
    return _index(MANIFEST, MANIFEST.stat().st_mtime_ns)


def relations() -> list[str]:
    """Every relation dbt knows (models, seeds, the raw and io sources), as ``schema.name``."""
    return sorted(_manifest()[1])


def columns(relation: str) -> list[str] | None:
    """The documented columns of a relation (``dbt/models/**/*.yml``, the seeds' own
    ``_seeds.yml``), or None when dbt does not know it."""
    nodes, ids = _manifest()
    return None if relation not in ids else list(nodes[ids[relation]].get("columns", {}))


def raw_tables(relations_: list[str]) -> list[str]:
    """The raw tables (``raw.<table>``) the relations are built from: up dbt's lineage to the
    raw sources, and from ``io.*`` to the tables of the source the input-output step reads."""
    nodes, ids = _manifest()
    unknown = [r for r in relations_ if r not in ids]
    if unknown:
        raise KeyError(f"relations {unknown} are not in dbt's manifest")
    raw, stack, seen = set(), [ids[r] for r in relations_], set()
    while stack:
        uid = stack.pop()
        if uid in seen:
            continue
        seen.add(uid)
        node = nodes[uid]
        if node["resource_type"] == "source":
            if node["schema"] == IO_SCHEMA:
                raw.update(f"raw.{t}" for t in SOURCES[IO_SOURCE].tables)
            else:
                raw.add(f"raw.{node['name']}")
            continue
        stack.extend(node.get("depends_on", {}).get("nodes", []))
    return sorted(raw)


def sources(relations_: list[str]) -> list[str]:
    """The raw sources (keys of ``models_py.ingest.SOURCES``, in their order) whose tables the
    relations are built from."""
    found = {table_source(t) for t in raw_tables(relations_)}
    return [s for s in SOURCES if s in found]
