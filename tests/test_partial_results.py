"""A refresh publishes what the data supports: `make refresh`, run as a user runs it, on a
landing folder copied from the small default with three defects, and on the small default with
one estimator made to raise.

The defective folder: every city yearbook file without its patents column (专利授权数), so
S000's innovation mechanism has no outcome; the yearbooks keep only four provinces with two or
more cities, so S000's baseline with controls has fewer provinces than coefficients; and the
EPS IP-protection index is the same for every city, so S001's split by it is constant. The
refresh exits 0, names those columns in its summary and in the published tables, and
publishes every other table and the analysts' copy.

The raising estimator: a ``sitecustomize`` on the refresh's PYTHONPATH makes the OLS fit of
S002's mechanisms table raise in `make refresh SOURCE=policy_texts` (S002's source). That
table's asset fails and keeps its earlier results, flagged stale; everything else of the
refresh is published with the analysts' copy; the command exits non-zero naming the table.
"""
from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl
import pytest

from models_py.estimate.specs import load_study, study_names
from ops_support import make_site, runs
from support import decode, digests

PATENTS = "专利授权数"
IP_PROTECTION = "知识产权保护指数"
TALENT_FILE = "eps/eps_city_talent_institutions.csv"
KEPT_PROVINCES = 4
# (study, table, column) -> what the reason must say
EXPECTED = {
    ("S000", "mechanisms", 1): ["log_patents_per_10k", PATENTS, "no values"],
    ("S000", "baseline", 2): ["too few clusters", "province_id"],
    ("S000", "baseline", 4): ["too few clusters", "province_id"],
    ("S001", "heterogeneity", 4): ["high_ip_protection == True", "keeps no rows"],
    ("S001", "heterogeneity", 6): ["high_ip_protection does not vary"],
}
FAULT = ("S002", "mechanisms")
FAULT_SOURCE = "policy_texts"        # the source whose refresh runs S002
SITECUSTOMIZE = '''
"""Makes the OLS fit of one study table raise, once the estimator module is imported."""
import importlib.abc
import importlib.util
import sys

TARGET = "models_py.estimate.estimators.ols"


class RaisingFit(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            fit = module.fit

            def raising(data, spec):
                if (spec.study, spec.table) == %r:
                    raise FloatingPointError("injected fault in the OLS fit")
                return fit(data, spec)
            module.fit = raising
        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, RaisingFit())
''' % (FAULT,)


# --- building the defective folder ------------------------------------------------------------

def yearbook_rows_to_drop(db: Path) -> dict[str, set[int]]:
    """File -> the rows of the cities to drop: in each province with two or more yearbook cities
    (municipalities aside) beyond the first four, every city but one."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("""
            WITH cities AS (
                SELECT DISTINCT y.city_id, c.province_id FROM raw.city_yearbook y
                JOIN reference.ref_city c USING (city_id) WHERE c.level <> 'municipality'),
            provinces AS (
                SELECT province_id, list(city_id ORDER BY city_id) AS ids FROM cities
                GROUP BY 1 HAVING count(*) >= 2 ORDER BY 1 OFFSET ?),
            dropped AS (SELECT unnest(ids[2:]) AS city_id FROM provinces)
            SELECT DISTINCT source_file, source_row FROM raw.city_yearbook
            JOIN dropped USING (city_id)""", [KEPT_PROVINCES]).fetchall()
    out: dict[str, set[int]] = {}
    for file, row in rows:
        out.setdefault(file, set()).add(row)
    return out


def _edit_rows(rows: list[list], drop: set[int]) -> list[list]:
    """Rows (1-based as the loader counts them) without ``drop`` and without the patents
    column, found in the header row."""
    header = next(r for r in rows if any(str(c or "").startswith(PATENTS) for c in r))
    col = next(k for k, c in enumerate(header) if str(c or "").startswith(PATENTS))
    return [r[:col] + r[col + 1:] for k, r in enumerate(rows, start=1) if k not in drop]


def edit_yearbook(path: Path, drop: set[int]) -> None:
    if path.suffix == ".csv":
        text, encoding = decode(path.read_bytes())
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(
            _edit_rows(list(csv.reader(io.StringIO(text))), drop))
        path.write_bytes(out.getvalue().encode("utf-8-sig" if encoding == "utf-8-sig"
                                              else encoding))
        return
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    rows = _edit_rows([list(r) for r in sheet.iter_rows(values_only=True)], drop)
    sheet.delete_rows(1, sheet.max_row)
    for row in rows:
        sheet.append(row)
    book.save(path)


def constant_ip_protection(path: Path) -> None:
    text, encoding = decode(path.read_bytes())
    rows = list(csv.reader(io.StringIO(text)))
    value = rows[0].index("数值"), rows[0].index("指标")
    for r in rows[1:]:
        if r[value[1]] == IP_PROTECTION:
            r[value[0]] = "50"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))


def defective_folder(raw: Path, db: Path, dest: Path) -> Path:
    """A copy of the small default's landing folder carrying the three defects."""
    shutil.copytree(raw, dest)
    drops = yearbook_rows_to_drop(db)
    for path in sorted((dest / "yearbook").glob("city_yearbook_*")):
        edit_yearbook(path, drops.get(f"yearbook/{path.name}", set()))
    constant_ip_protection(dest / TALENT_FILE)
    return dest


# --- reading what a refresh published -----------------------------------------------------------

def status(copy: Path) -> dict[tuple[str, str], tuple[str, str]]:
    with duckdb.connect(str(copy), read_only=True) as con:
        rows = con.execute('SELECT study, "table", status, reason FROM results._table_status'
                           ).fetchall()
    return {(s, t): (st, r) for s, t, st, r in rows}


def not_estimable_rows(copy: Path) -> dict[tuple[str, str, int], str]:
    """(study, table, column) -> reason of every not-estimable row of the collected results."""
    out = {}
    with duckdb.connect(str(copy), read_only=True) as con:
        for name in study_names():
            out.update({(s, t, c): r for s, t, c, r in con.execute(
                f'SELECT study, "table", "column", reason FROM results.{name}_coefficients '
                "WHERE status = 'not_estimable'").fetchall()})
    return out


def every_table() -> list[tuple[str, str]]:
    return [(load_study(n).name, t["table"]) for n in study_names()
            for t in load_study(n).tables]


@pytest.fixture(scope="module")
def defective(small_default, warehouse, tmp_path_factory):
    """`make refresh` of the defective folder, in a site starting from the session's warehouse
    and copy."""
    base = tmp_path_factory.mktemp("defective")
    raw = defective_folder(small_default[0], warehouse.db, base / "raw")
    site = make_site(base / "site", raw, warehouse.db)
    before = site.copy.stat().st_mtime_ns
    done = site.refresh()
    return site, done, before


def test_the_fixture_folder_is_untouched(defective, small_default, warehouse):
    assert digests(small_default[0]) == warehouse.raw_digests


def test_a_folder_the_data_cannot_fully_support_refreshes_to_the_end(defective):
    site, done, before = defective
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert site.copy.stat().st_mtime_ns != before        # the analysts' copy was published
    for (study, table, column), words in EXPECTED.items():
        line = next((ln for ln in done.stdout.splitlines()
                     if ln.strip().startswith(f"{table}:") and f"({column}) not estimable"
                     in ln), "")
        assert all(w in line for w in words), (study, table, column, done.stdout[-3000:])


def test_not_estimable_columns_are_in_the_tidy_rows_and_the_status_table(defective):
    site = defective[0]
    found = not_estimable_rows(site.copy)
    hit = {k[:2] for k in EXPECTED}
    # each defect makes exactly its columns not estimable (fewer cities may thin out others)
    assert {k for k in found if k[:2] in hit} == set(EXPECTED), found
    for key, words in EXPECTED.items():
        assert all(w in found[key] for w in words), (key, found[key])
    states = status(site.copy)
    for study, table in every_table():
        state = states[(study, table)][0]
        if (study, table) in hit:
            assert state == "not_estimable", (study, table)
        else:
            assert state in ("published", "not_estimable"), (study, table, state)


def test_published_tables_mark_the_columns_and_say_why(defective):
    publish = defective[0].root / "publish"
    for (study, table, column), words in EXPECTED.items():
        for ext in ("md", "html", "tex"):
            text = (publish / study.lower() / f"{table}.{ext}").read_text(encoding="utf-8")
            assert "not estimable" in text, (study, table, ext)
            note = text[text.index(f"Column ({column}) not estimable"):]
            assert words[0].replace("_", r"\_" if ext == "tex" else "_") in note[:400]


def test_every_other_table_and_figure_is_published(defective, warehouse):
    publish = defective[0].root / "publish"
    for study in study_names():
        assert ({p.name for p in (publish / study).iterdir()}
                == {p.name for p in (warehouse.publish_dir / study).iterdir()}), study


def test_the_estimable_checks_warn_naming_each_column(defective):
    with dg.DagsterInstance.from_config(str(defective[0].home)) as instance:
        for study, table in {k[:2] for k in EXPECTED}:
            key = dg.AssetCheckKey(dg.AssetKey(["results", f"{study.lower()}_{table}"]),
                                   "estimable")
            record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                [key])[key]
            evaluation = record.event.dagster_event.event_specific_data
            assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
            for column in [k[2] for k in EXPECTED if k[:2] == (study, table)]:
                assert f"{study} {table} ({column}):" in evaluation.description


# --- one estimator raises -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def faulty(warehouse, tmp_path_factory):
    """`make refresh SOURCE=policy_texts` of the small default with S002's mechanisms fit
    raising."""
    base = tmp_path_factory.mktemp("faulty")
    (base / "hook").mkdir()
    (base / "hook" / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    site = make_site(base / "site", warehouse.raw_dir, warehouse.db)
    done = site.refresh(SOURCE=FAULT_SOURCE, PYTHONPATH=str(base / "hook"))
    return site, done


def test_a_failing_table_fails_the_command_naming_it(faulty):
    done = faulty[1]
    assert done.returncode != 0
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("refresh failed:") and "results/s002_mechanisms" in last, last


def test_the_copy_is_published_with_the_failed_table_flagged_stale(faulty, warehouse):
    site = faulty[0]
    states = status(site.copy)
    state, reason = states[FAULT]
    assert state == "stale" and "injected fault in the OLS fit" in reason
    # the failed table keeps its earlier rows, in the warehouse and in the copy
    query = 'SELECT * FROM results.s002_mechanisms ORDER BY "column", term'
    with duckdb.connect(str(site.copy), read_only=True) as con:
        kept = con.execute(query).df()
    assert kept.equals(warehouse.query(query))
    # every other table of the study the refresh runs is published anew
    for study, table in every_table():
        if (study, table) != FAULT and study == FAULT[0]:
            assert states[(study, table)][0] == "published", (study, table)


def test_a_second_run_collects_the_studies_and_publishes_the_copy(faulty):
    refresh, publish = runs(faulty[0])[-2:]
    assert refresh["status"] == "FAILURE" and publish["status"] == "SUCCESS"
    assert "results__s002_mechanisms" in refresh["started"]
    assert "results__s002_mechanisms" not in refresh["succeeded"]
    assert "analyst_snapshot" not in refresh["started"]           # skipped by Dagster
    assert {"results__s002_coefficients", "analyst_snapshot"} <= set(publish["succeeded"])
