"""The audit trail from a published coefficient to the raw files behind it.

On the session's warehouse (the small default, every asset materialized once): the rows of a
published S003 table and of every study's collected coefficients carry an audit record whose
relations are those the table reads, whose raw tables are those upstream of the relations in
dbt's manifest (through the input-output step for the transfer), and whose files, checksums and
load times are those of the sources' last loads in ``raw._load_log`` (and the files' sha256 on
disk); the table asset's materialization metadata shows the same record. On a warehouse of
its own, the record follows a source through a reload with a changed file and an absent source.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from dagster_project.resources import dbt_project
from models_py import audit, ingest
from models_py.estimate.specs import load_study, study_names


def _audits(warehouse, table: str) -> list[dict]:
    rows = warehouse.query(f'SELECT DISTINCT audit FROM results."{table}"')
    return [json.loads(a) for a in rows["audit"]]


def _manifest_raw_tables(relations: list[str]) -> list[str]:
    """The raw tables behind ``relations``, walked up dbt's manifest independently of the
    asset graph; ``io.transfer`` is computed from the CEADs tables the ceads_mrio source loads."""
    manifest = json.loads(Path(dbt_project.manifest_path).read_text(encoding="utf-8"))
    nodes = {**manifest["nodes"], **manifest["sources"]}
    by_relation = {f"{n['schema']}.{n.get('alias') or n['name']}": uid
                   for uid, n in nodes.items() if n["resource_type"] in ("model", "seed")}
    raw, stack, seen = set(), [by_relation[r] for r in relations if r in by_relation], set()
    while stack:
        uid = stack.pop()
        if uid in seen:
            continue
        seen.add(uid)
        node = nodes[uid]
        if node["resource_type"] == "source":
            if node["source_name"] == "raw":
                raw.add(f"raw.{node['name']}")
            elif (node["source_name"], node["name"]) == ("io", "transfer"):
                raw.update(f"raw.{t}" for t in ingest.SOURCES["ceads_mrio"].tables)
            else:
                raise AssertionError(f"unexpected source {uid}")
            continue
        stack.extend(node.get("depends_on", {}).get("nodes", []))
    return sorted(raw)


def _latest_log(warehouse, source: str, file: str) -> dict:
    """The latest row of ``file`` in raw._load_log."""
    return warehouse.query("SELECT source, file, sha256, bytes, loaded_at FROM raw._load_log "
                           "WHERE source = ? AND file = ? ORDER BY loaded_at DESC LIMIT 1",
                           [source, file]).iloc[0].to_dict()


def _row_files(warehouse, raw_tables: list[str]) -> set[str]:
    """The files the rows of ``raw_tables`` name (those tables with a source_file column)."""
    with_files = set(warehouse.query(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'raw' "
        "AND column_name = 'source_file'")["table_name"])
    parts = [f"SELECT DISTINCT source_file FROM {t}" for t in raw_tables
             if t.removeprefix("raw.") in with_files]
    return set(warehouse.query(" UNION ".join(parts))["source_file"])


def test_a_published_table_carries_its_lineage_down_to_the_raw_files(warehouse):
    study = load_study("s003")
    relations = study.table_relations("baseline")
    (record,) = _audits(warehouse, "s003_baseline")   # one record on every row

    assert record["models"] == sorted(relations) and "marts.city_pair_period" in relations
    assert record["raw_tables"] == _manifest_raw_tables(relations)
    assert {"raw.baidu_index", "raw.ceads_intermediate", "raw.city_yearbook"} <= set(
        record["raw_tables"])
    assert record["absent_sources"] == []

    sources = {audit.table_source(t) for t in record["raw_tables"]}
    assert set(study.table_sources("baseline")) == sources == {f["source"] for f in
                                                                record["raw_files"]}
    listed = [f["file"] for f in record["raw_files"]]
    assert len(listed) == len(set(listed)) and _row_files(warehouse, record["raw_tables"]) <= set(
        listed)
    assert any(f.startswith("ceads/") for f in listed)     # traced through raw.ceads_row_totals
    for mine in record["raw_files"]:
        log = _latest_log(warehouse, mine["source"], mine["file"])
        assert (mine["sha256"], mine["bytes"]) == (log["sha256"], log["bytes"])
        assert mine["loaded_at"] == log["loaded_at"].isoformat(timespec="microseconds")
        on_disk = hashlib.sha256((warehouse.raw_dir / mine["file"]).read_bytes()).hexdigest()
        assert mine["sha256"] == on_disk


def test_every_collected_coefficient_carries_an_audit_record(warehouse):
    for name in study_names():
        study = load_study(name)
        rows = warehouse.query(f'SELECT "table", audit FROM results."{name}_coefficients"')
        assert len(rows) and rows["audit"].notna().all(), name
        for table, text in rows.drop_duplicates().itertuples(index=False):
            record = json.loads(text)
            assert record["models"] == sorted(study.table_relations(table))
            assert record["raw_tables"] == _manifest_raw_tables(record["models"])
            files = {f["source"] for f in record["raw_files"]}
            assert set(study.table_sources(table)) == files, (name, table)
            assert files <= set(study.sources), (name, table)


def test_a_study_s_sources_are_what_its_lineage_needs():
    """A study's sources are derived from dbt's lineage of the relations its tables read, so
    the README's table, the partial-folder skip and the audit records use one list; S004's
    county marts do not reach the city yearbooks or EPS (dim_county takes city names from
    the reference tables)."""
    for name in study_names():
        study = load_study(name)
        relations = [r for t in study.tables for r in study.table_relations(t["table"])]
        needed = {audit.table_source(t) for t in _manifest_raw_tables(relations)}
        assert study.sources == [s for s in ingest.SOURCES if s in needed], name
    assert load_study("s004").sources == ["county_yearbook", "asif"]


def test_the_materialization_metadata_shows_the_same_record(warehouse):
    (event,) = [e for e in warehouse.materializations()
                if e.asset_key.path == ["results", "s003_baseline"]]
    metadata = event.materialization.metadata
    assert metadata["audit"].value == _audits(warehouse, "s003_baseline")[0]
    lineage = metadata["lineage"].value
    for f in metadata["audit"].value["raw_files"]:
        assert f"| {f['file']} | `{f['sha256']}` |" in lineage


@pytest.fixture
def hsr_warehouse(warehouse, tmp_path):
    """A copy of the small default's HSR files and a warehouse that loaded them once."""
    raw = tmp_path / "raw"
    shutil.copytree(warehouse.raw_dir / "hsr", raw / "hsr")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ingest.write(con, ingest.load("hsr", raw), raw)
    yield con, raw
    con.close()


def test_the_record_follows_the_last_load_of_each_source(hsr_warehouse):
    con, raw = hsr_warehouse
    first = audit.record(con, ["marts.x"], ["raw.hsr_station", "hsr_line_stage"])
    assert first["raw_tables"] == ["raw.hsr_line_stage", "raw.hsr_station"]
    assert sorted(f["file"] for f in first["raw_files"]) == ["hsr/hsr_lines.csv",
                                                             "hsr/hsr_stations.csv"]

    lines = raw / "hsr" / "hsr_lines.csv"          # the test's own copy of the file
    lines.write_bytes(lines.read_bytes() + b"\n")
    ingest.write(con, ingest.load("hsr", raw), raw)
    second = audit.record(con, ["marts.x"], ["raw.hsr_station"])
    changed = {f["file"]: f for f in second["raw_files"]}
    assert len(second["raw_files"]) == 2     # the earlier load's rows are not listed
    assert changed["hsr/hsr_lines.csv"]["sha256"] == hashlib.sha256(lines.read_bytes()).hexdigest()
    assert changed["hsr/hsr_lines.csv"]["loaded_at"] > first["raw_files"][0]["loaded_at"]

    shutil.rmtree(raw / "hsr")
    ingest.write(con, ingest.load("hsr", raw), raw)
    gone = audit.record(con, ["marts.x"], ["raw.hsr_station"])
    assert gone["raw_files"] == [] and gone["absent_sources"] == ["hsr"]
    with pytest.raises(KeyError, match="raw.nowhere"):
        audit.table_source("raw.nowhere")
