"""Every key of a study file is checked against its declared schema (models_py.estimate.schema):
a misspelt key at study, table, column, option and figure level, a wrong type, an unknown kind,
a variable that is not a column of the mart, an undefined control group, a figure or sample
referring to nothing and a missing label each stop the load with a message naming the file,
table, column, key and the closest valid key; every problem of a file is reported at once; a
broken study file stops the Dagster definitions from loading and the refresh's preflight; a
table's code version follows its own entry only."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from models_py.estimate import schema
from models_py.estimate.specs import STUDIES_DIR, load_study

PROJECT = Path(__file__).resolve().parents[1]

STUDY = """
study: T001
title: A test study
mart: marts.city_year
panel: {unit: city_id, time: year, cohort: first_treated_year, treatment: did, group: treated}
control_groups:
  controls: [log_economic_density, infrastructure]
defaults: {kind: ols, outcome: resilience_index, regressors: [did], controls: [controls],
           fixed_effects: [city_id, year], cluster: city_id}
labels: {did: DID, resilience_index: Resilience, controls: Controls, city_id: City FE,
         year: Year FE, ri_p: Randomization p}
names: {city_id: city, year: year, province_id: province}
tables:
  - table: baseline
    title: Baseline
    columns:
      - {column: 1, controls: []}
      - {column: 2, cluster: province_id, sample: "is_megacity_or_super_large == True"}
  - table: psm
    title: Matching
    kind: psm_did
    options: {caliper: 0.05}
    columns:
      - {column: 1}
  - table: placebo
    title: Placebo
    kind: placebo
    statistics: [ri_p]
    columns:
      - {column: 1}
figures:
  - {figure: placebo, kind: placebo, title: Placebo, table: placebo, term: did}
"""


def problems(tmp_path, *edits: tuple[str, str]) -> str:
    """The error of loading the test study with each (old, new) edit applied."""
    text = STUDY
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "t001.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(schema.StudyFileError) as error:
        load_study(path=path)
    message = str(error.value)
    assert str(path) in message
    return message


def test_the_test_study_passes(tmp_path):
    path = tmp_path / "t001.yml"
    path.write_text(STUDY, encoding="utf-8")
    study = load_study(path=path)
    assert [s.kind for s in study.specs] == ["ols", "ols", "psm_did", "placebo"]
    assert study.table_specs("psm")[0].options.caliper == 0.05


@pytest.mark.parametrize("edit, expected", [
    (("labels:", "labls:"), "t001.yml: unknown key `labls` (did you mean `labels`?)"),
    (("    title: Matching", "    titel: Matching"),
     "table 'psm': unknown key `titel` (did you mean `title`?)"),
    (("{column: 2, cluster: province_id", "{column: 2, clustr: province_id"),
     "table 'baseline' column 2: unknown key `clustr` (did you mean `cluster`?)"),
    (("caliper: 0.05", "calipr: 0.05"),
     "table 'psm' column 1 (psm_did): unknown key `options.calipr` (did you mean `caliper`?)"),
    (("table: placebo, term", "tabel: placebo, term"),
     "figure 'placebo': unknown key `tabel` (did you mean `table`?)"),
    (("{column: 1, controls: []}", "{column: one, controls: []}"),
     "table 'baseline' column one: key `column`: Input should be a valid integer"),
    (("    title: Matching", "    title: Matching\n    type: regresion"),
     "table 'psm': key `type`: 'regresion' is not one of regression, descriptives, frame (did "
     "you mean `regression`?)"),
    (("kind: psm_did", "kind: psm_dd"),
     "table 'psm' column 1: key `kind`: unknown estimator kind 'psm_dd' (did you mean "
     "`psm_did`?)"),
    (("{column: 1, controls: []}", "{column: 1, controls: [], outcome: resilience_indx}"),
     "table 'baseline' column 1: key `outcome`: 'resilience_indx' is not a column of "
     "marts.city_year (did you mean `resilience_index`?)"),
    (("is_megacity_or_super_large == True", "is_megacity == True"),
     "table 'baseline' column 2: key `sample`: 'is_megacity' is not a column of "
     "marts.city_year (did you mean `is_megacity_or_super_large`?)"),
    (("controls: [controls],", "controls: [control],"),
     "table 'psm' column 1: key `controls`: no control group 'control' (did you mean "
     "`controls`?)"),
    (("ri_p: Randomization p", "p: Randomization p"),
     "table 'placebo': key `labels`: no label for the statistic 'ri_p' (add `ri_p: ...` under "
     "`labels`)"),
    (("did: DID, ", ""),
     "table 'baseline' column 1: key `labels`: no label for the term 'did' (add `did: ...`"),
    (("table: placebo, term", "table: placeb, term"),
     "figure 'placebo': key `table`: no table 'placeb' (did you mean `placebo`?)"),
])
def test_a_bad_key_names_file_table_column_key_and_suggestion(tmp_path, edit, expected):
    assert expected in problems(tmp_path, edit)


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    message = problems(tmp_path, ("{column: 2, cluster: province_id", "{column: 2, clustr: x"),
                       ("    title: Matching", "    titel: Matching"), ("labels:", "labls:"))
    assert "4 problem(s)" in message and "`clustr`" in message and "`titel`" in message
    assert "table 'psm': missing key `title`" in message and "`labls`" in message
    message = problems(tmp_path, ("caliper: 0.05", "calipr: 0.05"),
                       ("{column: 1, controls: []}", "{column: 1, outcome: resilience_indx}"))
    assert "`options.calipr`" in message and "'resilience_indx'" in message


def test_a_broken_study_file_stops_the_definitions_and_the_preflight(tmp_path, monkeypatch):
    folder = tmp_path / "studies"
    folder.mkdir()
    (folder / "s001.yml").write_text((STUDIES_DIR / "s001.yml").read_text(encoding="utf-8"))
    (folder / "s004.yml").write_text(
        (STUDIES_DIR / "s004.yml").read_text(encoding="utf-8").replace(
            "  cluster: county_id\n", "  clustr: county_id\n"), encoding="utf-8")
    env = {**os.environ, "STUDIES_DIR": str(folder)}
    loaded = subprocess.run([sys.executable, "-c", "import dagster_project.definitions"],
                            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert loaded.returncode != 0
    assert "s004.yml: unknown key `defaults.clustr` (did you mean `cluster`?)" in loaded.stderr
    assert "s001.yml" not in loaded.stderr          # the good file passes

    from dagster_project import preflight
    monkeypatch.setenv("STUDIES_DIR", str(folder))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "never_opened"))
    assert preflight.main() == 3                    # before the instance or warehouse is opened
    assert not (tmp_path / "never_opened").exists()


def test_editing_one_table_changes_its_code_version_only(tmp_path):
    from dagster_project.assets.studies import table_asset

    doc = yaml.safe_load((STUDIES_DIR / "s004.yml").read_text(encoding="utf-8"))
    path = tmp_path / "s004.yml"

    def versions(document) -> dict[str, str]:
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        study = load_study(path=path)
        return {t["table"]: schema.code_version(study, t["table"]) for t in study.tables}

    before = versions(doc)
    assert len(set(before.values())) == len(before)
    growth = next(t for t in doc["tables"] if t["table"] == "growth")
    growth["columns"][0]["cluster"] = "year"
    doc["names"]["year"] = "year"
    after = versions(doc)
    assert [t for t in before if before[t] != after[t]] == ["growth"]
    doc["defaults"]["fixed_effects"] = ["county_id"]    # inherited by every regression table
    changed = [t for t, v in versions(doc).items() if v != after[t]]
    assert changed == ["growth", "inequality", "entrepreneurial", "channel", "event_study"]

    study = load_study("s004")
    asset = table_asset(study, "growth")
    assert set(asset.code_versions_by_key.values()) == {schema.code_version(study, "growth")}


def kind_modules(kind: str) -> set[str]:
    """The estimation modules an estimator kind's code version hashes (its file's closure)."""
    import inspect

    from models_py import source_code
    from models_py.estimate import estimators

    path = Path(inspect.getfile(estimators.KINDS[kind]))
    return set(source_code.module_closure(path, "models_py.estimate"))


def test_a_kinds_code_version_covers_the_estimation_modules_it_runs():
    """A table's code version hashes its kinds' files and the estimation modules they import,
    so an edit of the IV diagnostics or of the shared variance code marks the IV tables stale,
    while modules a kind does not run leave its tables alone."""
    def closure(kind: str) -> set[str]:
        return {m.rsplit(".", 1)[-1] for m in kind_modules(kind)}

    assert {"iv_diagnostics", "variance", "within", "tidy"} <= closure("iv")
    assert not {"callaway_santanna", "iv_diagnostics"} & closure("ols")
    assert not {m for m in kind_modules("ols") if m.startswith("models_py.estimate.honest_did")}
    assert "__init__" not in closure("iv")    # the dispatch imports every kind: never followed


def test_the_event_studies_code_version_covers_every_honest_did_module():
    """The event studies' code version hashes every module of the HonestDiD package: a
    package's ``__init__`` is never followed, so an importer of the package alone (``from
    models_py.estimate import honest_did``) would leave the sensitivity code out of it."""
    from models_py import source_code

    package = source_code.module_file("models_py.estimate.honest_did").parent
    modules = {f"models_py.estimate.honest_did.{p.stem}" for p in package.glob("*.py")
               if p.name != "__init__.py"}
    assert {"models_py.estimate.honest_did.sets", "models_py.estimate.honest_did.normals"} \
        <= modules
    for kind in ("event_study", "did_imputation"):
        assert not modules - kind_modules(kind), (kind, sorted(modules - kind_modules(kind)))
