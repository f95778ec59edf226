"""Replication packages: built for every study from the session's warehouse, each one's
``reproduce.py`` run from a copy in a new folder, by the project's Python with its packages but
nothing of the project importable, reproduces every exhibit; and after one raw file changes and
the study is refreshed, `make replication` builds a package whose checksums and exhibits follow
the change."""
from __future__ import annotations

import csv
import hashlib
import io
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from dagster_project.jobs import source_selection
from dagster_project.resources import resources
from models_py.estimate.specs import load_study, study_names
from models_py.replication import build
from ops_support import PROJECT
from support import YEARBOOK_2014, decode, executable_assets, failure_message

GDP = "地区生产总值(万元)_全市"     # whole-city GDP: in the resilience index and the controls


@pytest.fixture(scope="module")
def packages(warehouse, tmp_path_factory) -> dict[str, build.Package]:
    """Every study's package, built from the session's warehouse (which it only reads),
    without the build's own run of reproduce.py: the tests run it, from a copy."""
    out = tmp_path_factory.mktemp("replication")
    with duckdb.connect(str(warehouse.db), read_only=True) as con:
        return {name: build.build(con, load_study(name), warehouse.publish_dir, out,
                                  warehouse.raw_dir, check=False) for name in study_names()}


SECTIONS = ("## Data availability and provenance statements", "### Licence for data",
            "## Dataset list", "## Computational requirements",
            "## List of tables and figures, and programs", "## Randomness",
            "## Instructions to replicators")


def test_every_package_reproduces_every_exhibit_outside_the_project(packages, warehouse,
                                                                    tmp_path):
    for name, package in packages.items():
        copy = tmp_path / name
        shutil.copytree(package.folder, copy)
        for module in ("models_py", "dagster_project"):        # the project is not there
            found = build.replicator_run(copy, "-c", f"import {module}")
            assert found.returncode != 0 and "ModuleNotFoundError" in found.stderr, name
        done = build.replicator_run(copy, "reproduce.py")
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        lines = done.stdout.splitlines()
        study = load_study(name)
        expected = ([f"table {t['table']} " for t in study.tables]
                    + [f"figure {f['figure']} " for f in study.figures])
        assert [line.split("(")[0] for line in lines[:-1]] == expected, (name, lines)
        assert all(": reproduced (" in line for line in lines[:-1]), (name, lines)
        assert lines[-1].startswith(f"{len(expected)} of {len(expected)} exhibits reproduced")
        # the re-estimated tables render as published, byte for byte
        for table in (copy / "outputs").glob("*.md"):
            assert (copy / "reproduced" / table.name).read_text() == table.read_text(), table
        listed = checksums(copy)
        assert listed == package.files and "README.md" in listed
        assert all(hashlib.sha256((copy / f).read_bytes()).hexdigest() == h
                   for f, h in listed.items())
        text = (copy / "README.md").read_text(encoding="utf-8")
        assert [s for s in SECTIONS if s in text] == list(SECTIONS), name
        assert "PLACEHOLDER: licence statement to be filled in by the user" in text
        assert "**embedded default**" in text and "runtime was not measured" in text

    # only what the study reads: every row of its mart, the columns its tables read
    data = pd.read_parquet(packages["s001"].folder / "data" / "marts.city_year.parquet")
    mart = warehouse.query("SELECT * FROM marts.city_year")
    assert len(data) == len(mart) and set(data.columns) < set(mart.columns)
    assert {"resilience_index", "did", "city_id", "year"} <= set(data.columns)
    assert "interpolated" not in data.columns

    # a packaged number one part in a million off is found, named and fails the run
    copy = tmp_path / "s004"
    table = copy / "results" / "s004_growth.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * REPLACE (CASE WHEN estimate IS NOT NULL THEN estimate * "
                    f"(1 + 1e-6) END AS estimate) FROM '{table}') TO '{table}.new' "
                    "(FORMAT parquet)")
    Path(f"{table}.new").replace(table)
    done = build.replicator_run(copy, "reproduce.py")
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    growth = next(line for line in done.stdout.splitlines() if line.startswith("table growth"))
    assert "NOT reproduced: largest relative difference 1e-06 in s004_growth" in growth
    assert "`estimate`" in growth


def checksums(folder: Path) -> dict[str, str]:
    """A package's ``SHA256SUMS``: file -> sha256."""
    return {f: h for h, f in (line.split("  ", 1) for line in
                              (folder / "SHA256SUMS").read_text().splitlines())}


def test_a_changed_raw_file_moves_the_package_checksums_and_exhibits(fresh_site, packages):
    """One value of the 2014 city yearbook changes; the year is loaded again and everything
    between it and S001 refreshed (in process), then `make replication STUDY=s001` builds the
    package: its record of the file, its analysis data and its results follow the change, its
    code does not, and its exhibits are the refreshed warehouse's and reproduce."""
    site, before = fresh_site, packages["s001"]
    raw_file = site.raw_dir / YEARBOOK_2014
    old_sha = hashlib.sha256(raw_file.read_bytes()).hexdigest()
    change_a_value_s001_reads(raw_file)
    new_sha = hashlib.sha256(raw_file.read_bytes()).hexdigest()

    from dagster_project.definitions import defs
    result = dg.materialize(
        executable_assets(defs), raise_on_error=False,
        selection=source_selection("city_yearbook") & dg.AssetSelection.groups("s001").upstream(),
        resources=resources(site.db, site.raw_dir, site.root / "publish"),
        run_config={"ops": {"load_city_yearbook": {"config": {"year": 2014}}}})
    assert result.success, failure_message(result)
    out = site.root / "replication"
    done = subprocess.run(["make", "-s", "-C", str(PROJECT), "replication", "STUDY=s001"],
                          env=site.env(REPLICATION_DIR=str(out)), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    after = out / "s001"
    assert (out / "s001.zip").stat().st_size > 0

    readme_before = (before.folder / "README.md").read_text(encoding="utf-8")
    readme_after = (after / "README.md").read_text(encoding="utf-8")
    assert f"`{YEARBOOK_2014}` | `{old_sha}`" in readme_before
    assert f"`{YEARBOOK_2014}` | `{new_sha}`" in readme_after and old_sha not in readme_after
    moved = {f for f, h in checksums(after).items() if before.files.get(f) != h}
    assert {"data/marts.city_year.parquet", "results/s001_baseline.parquet"} <= moved
    assert not [f for f in moved if f.startswith("code/") or f == "reproduce.py"], moved

    query = 'SELECT "column", term, estimate, std_error FROM {} ORDER BY "column", term'
    with duckdb.connect(str(site.db), read_only=True) as con:
        refreshed = con.execute(query.format("results.s001_baseline")).df()
        packaged = con.execute(query.format(
            f"'{after / 'results' / 's001_baseline.parquet'}'")).df()
        earlier = con.execute(query.format(
            f"'{before.folder / 'results' / 's001_baseline.parquet'}'")).df()
    pd.testing.assert_frame_equal(packaged, refreshed)
    assert (packaged["estimate"] != earlier["estimate"]).any()
    lines = readme_after[readme_after.index("Its output:"):].splitlines()
    assert any(line.startswith("table baseline (results/s001_baseline): reproduced")
               for line in lines)
    assert "exhibits reproduced in" in readme_after


def change_a_value_s001_reads(path: Path) -> None:
    """Raise the whole-city GDP of the yearbook file's first city by 30%, in the file's own
    encoding and layout."""
    text, encoding = decode(path.read_bytes())
    rows = list(csv.reader(io.StringIO(text)))
    header = next(k for k, row in enumerate(rows) if GDP in row)
    cell = rows[header + 1][rows[header].index(GDP)]
    rows[header + 1][rows[header].index(GDP)] = f"{float(cell.replace(',', '')) * 1.3:.1f}"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n" if "\r\n" in text else "\n").writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))


def test_reproduction_compares_infinite_bounds_and_seeded_rows_exactly():
    """An Anderson–Rubin set that is the whole line has infinite bounds: the same infinity is
    reproduced, the opposite one is not; a seeded column's numbers must be equal."""
    import numpy as np

    from models_py.replication.reproduce import compare

    packaged = pd.DataFrame({"column": [1, 2], "value": [np.inf, 0.5]})
    assert compare(packaged, packaged.copy(), set(), "t").relative == 0
    flipped = packaged.assign(value=[-np.inf, 0.5])
    assert compare(packaged, flipped, set(), "t").relative == 1
    nudged = packaged.assign(value=[np.inf, 0.5 * (1 + 1e-12)])
    assert compare(packaged, nudged, set(), "t").relative < 1e-8    # within the tolerance
    assert compare(packaged, nudged, {2}, "t").relative == 1        # seeded: exactly
