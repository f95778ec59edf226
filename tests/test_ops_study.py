"""`make study STUDY=s004 TABLE=growth`, as an operator runs it on a site whose warehouse is
built: the table is estimated again from the current warehouse and published (its results
rows, files, the study's collected coefficients and the analysts' copy), as one recorded
Dagster run of exactly those assets."""
from __future__ import annotations

import subprocess

import duckdb

from ops_support import PROJECT, runs


def _rows(db, sql: str):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def written(folder) -> dict[str, int]:
    """Each file of a folder and its modification time (ns); empty when there is no folder."""
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} if folder.exists() else {}


def test_make_study_republishes_one_table_from_the_current_warehouse(refresh_site, warehouse):
    site = refresh_site
    with duckdb.connect(str(site.db)) as con:       # results the command must write again
        con.execute("DELETE FROM results.s004_growth")
        con.execute("""DELETE FROM results.s004_coefficients WHERE "table" = 'growth'""")
    copy_inode = site.copy.stat().st_ino
    files = site.root / "publish" / "s004"
    before = written(files)    # what earlier refreshes of the shared site published
    done = subprocess.run(["make", "-s", "-C", str(PROJECT), "study", "STUDY=s004",
                           "TABLE=growth"], env=site.env(), capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    query = ("""SELECT "column", term, estimate, std_error, n_obs FROM {} """
             """WHERE "table" = 'growth' ORDER BY "column", term""")
    expected = warehouse.query(query.format("results.s004_growth"))
    assert len(expected)
    for db in (site.db, site.copy):                 # the warehouse and the analysts' copy
        assert _rows(db, query.format("results.s004_growth")).equals(expected)
        assert _rows(db, query.format("results.s004_coefficients")).equals(expected)
    assert site.copy.stat().st_ino != copy_inode    # the copy was published again
    after = written(files)    # the table's files were written again, no other file was
    assert sorted(n for n in after if after[n] != before.get(n)) == \
        ["growth.html", "growth.md", "growth.tex"]
    assert "| Cluster " in (files / "growth.md").read_text(encoding="utf-8")

    last = runs(site)[-1]
    assert last["status"] == "SUCCESS"
    published = {"analyst_snapshot", "results__s004_coefficients", "results__s004_growth"}
    assert published <= set(last["succeeded"])
    others = set(last["started"]) - published         # no other table, no load, no dbt
    assert all("freshness" in step for step in others), others
