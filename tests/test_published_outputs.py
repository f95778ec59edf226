"""The README lists every published output of every study, as the pipeline publishes them."""
from __future__ import annotations

import re
from pathlib import Path

import duckdb

from models_py.estimate.catalog import catalog, sources_table

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_section(name: str) -> str:
    found = re.search(rf"<!-- {name}:begin -->\n(.*)\n<!-- {name}:end -->",
                      README.read_text(encoding="utf-8"), re.S)
    assert found, f"README has no <!-- {name}:begin --> ... <!-- {name}:end --> section"
    return found.group(1)


def test_readme_lists_the_sources_each_study_needs():
    table = sources_table()
    assert "| `asif` |  |  |  |  | needed |" in table          # S004 alone reads firm records
    assert readme_section("sources") == table, (
        "the README's table of sources per study differs from the studies' YAML; "
        "regenerate it with `python -m models_py.estimate.catalog`")


def test_readme_lists_what_the_studies_publish(warehouse):
    listed = readme_section("catalog")
    with duckdb.connect(str(warehouse.db), read_only=True) as con:
        published = catalog(con, warehouse.publish_dir)
    for study in ("S000", "S001", "S002", "S003", "S004"):
        assert f"**{study}**" in published
    for row in published.splitlines():
        if row.startswith("| ") and not row.startswith(("| output", "| Every coefficient")):
            files = row.strip("|").split("|")[-1].strip()
            assert files.startswith("`"), f"an output without files: {row}"
    assert listed == published, (
        "the README's list of published outputs differs from what the studies publish; "
        "regenerate it with `python -m models_py.estimate.catalog`")
