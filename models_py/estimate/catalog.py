"""What every study publishes, listed from a warehouse and a publish folder.

``python -m models_py.estimate.catalog [warehouse] [publish folder]`` prints which raw sources
each study needs, then, for each study in the order of its YAML, every table and figure with
its results tables (schema ``results``) and its files (in ``<publish folder>/<study>/``). The
README's two lists are this output for the small default, and a test keeps them equal.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from models_py import warehouse
from models_py.estimate.run import RESULTS_SCHEMA, results_table
from models_py.estimate.specs import load_study, study_names
from models_py.estimate.study import Study

TABLE_FILES = ("md", "html", "tex")
FIGURE_FILES = ("png", "svg")


def _owner(stem: str, ids: list[str]) -> str | None:
    """The table or figure id a file stem belongs to: the id itself or ``<id>_<part>``
    (a table's panels and frames), the longest such id when several match."""
    owners = [i for i in ids if stem == i or stem.startswith(f"{i}_")]
    return max(owners, key=len) if owners else None


def _files(folder: Path, ids: list[str], extensions: tuple[str, ...]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {i: [] for i in ids}
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        owner = _owner(path.stem, ids)
        if path.suffix.lstrip(".") in extensions and owner:
            found[owner].append(path.name)
    return found


def _grouped(names: list[str]) -> str:
    """``a.md, a.html, a.tex`` -> ``a.{md,html,tex}``, stems in order."""
    stems: dict[str, list[str]] = {}
    for name in names:
        stem, ext = name.rsplit(".", 1)
        stems.setdefault(stem, []).append(ext)
    return ", ".join(f"`{s}.{{{','.join(sorted(e))}}}`" for s, e in stems.items())


def collected(study: Study) -> list[str]:
    """The results tables that collect every table's coefficients and statistics."""
    return [results_table(study, "coefficients"), results_table(study, "statistics")]


@dataclass
class Exhibit:
    """One table or figure of a study: its Dagster asset, results tables and files."""
    kind: str                 # "table" or "figure"
    id: str                   # its name in the study file
    title: str
    asset: str                # its Dagster asset key, e.g. ``results/s001_baseline``
    results: list[str]        # its results tables (schema ``results``)
    files: list[str]          # its files, by name, in the study's publish folder


def exhibits(study: Study, result_tables: list[str], folder: Path) -> list[Exhibit]:
    """Every table and figure of a study, in the order of its file: each table with those
    of ``result_tables`` it wrote (the table, its statistics and frames) and its files in
    ``folder``, each figure with its files."""
    name = study.name.lower()
    table_ids = [t["table"] for t in study.tables]
    figure_ids = [f["figure"] for f in study.figures]
    table_files = _files(folder, table_ids, TABLE_FILES)
    figure_files = _files(folder, figure_ids, FIGURE_FILES)
    results: dict[str, list[str]] = {i: [] for i in table_ids}
    for table in result_tables:
        if table.startswith(f"{name}_") and table not in collected(study):
            owner = _owner(table, [results_table(study, i) for i in table_ids])
            if owner:
                results[owner.removeprefix(f"{name}_")].append(table)
    return [*(Exhibit("table", t["table"], t["title"],
                      f"results/{results_table(study, t['table'])}", results[t["table"]],
                      table_files[t["table"]]) for t in study.tables),
            *(Exhibit("figure", f["figure"], f["title"], f"figures/{name}_{f['figure']}", [],
                      figure_files[f["figure"]]) for f in study.figures)]


def study_outputs(con: duckdb.DuckDBPyConnection, study: Study, publish_dir: Path) -> str:
    """One study's outputs as a Markdown table."""
    present = warehouse.table_names(con, RESULTS_SCHEMA)
    folder = Path(publish_dir) / study.name.lower()
    lines = [f"**{study.name}** (asset group `{study.name.lower()}`, files in "
             f"`data/publish/{study.name.lower()}/`)", "",
             "| output | Dagster asset | warehouse tables (`results.`) | files |",
             "|---|---|---|---|"]
    for e in exhibits(study, present, folder):
        title = e.title if e.kind == "table" else f"Figure: {e.title}"
        results = ", ".join(f"`{n}`" for n in e.results)
        lines.append(f"| {title} | `{e.asset}` |{f' {results} ' if results else ' '}| "
                     f"{_grouped(e.files)} |")
    union = [n for n in sorted(collected(study)) if n in present]
    lines.append(f"| Every coefficient and statistic of the study's regression tables | "
                 f"`results/{results_table(study, 'coefficients')}` | "
                 f"{', '.join(f'`{n}`' for n in union)} | |")
    return "\n".join(lines)


def sources_table() -> str:
    """Which raw sources each study needs (derived from the lineage of the relations its
    tables read), as a Markdown table."""
    studies = [load_study(n) for n in study_names()]
    sources = list(dict.fromkeys(src for s in studies for src in s.sources))
    lines = ["| source | " + " | ".join(s.name for s in studies) + " |",
             "|---|" + "---|" * len(studies)]
    for src in sources:
        lines.append(f"| `{src}` | " + " | ".join("needed" if src in s.sources else ""
                                                    for s in studies) + " |")
    return "\n".join(lines)


def catalog(con: duckdb.DuckDBPyConnection, publish_dir: Path) -> str:
    """Every study's outputs, in study order."""
    return "\n\n".join(study_outputs(con, s, publish_dir) for s in map(load_study, study_names()))


if __name__ == "__main__":
    db = sys.argv[1] if len(sys.argv) > 1 else "data/warehouse.duckdb"
    folder = sys.argv[2] if len(sys.argv) > 2 else "data/publish"
    with duckdb.connect(db, read_only=True) as connection:
        print(sources_table(), catalog(connection, Path(folder)), sep="\n\n")
