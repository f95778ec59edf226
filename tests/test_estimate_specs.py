"""Spec expansion: a study YAML into one Spec per table column (defaults, table and column
levels, options, control groups, expand keys with list, mapping and seed values), and the
errors that name the file, table and column of a bad spec."""
from __future__ import annotations

import pytest
import yaml

from models_py import reference
from models_py.estimate.specs import and_, load_study, study_names

BASE = {
    "study": "T001", "mart": "marts.m", "sources": ["eps"],
    "panel": {"unit": "u", "time": "t", "window": [-2, 2]},
    "control_groups": {"g1": ["a1", "a2"], "g2": ["b1"]},
    "defaults": {"kind": "ols", "outcome": "y", "regressors": ["x"], "controls": ["g1"],
                 "fixed_effects": ["u", "t"], "cluster": "u", "sample": "t > 2000",
                 "options": {"draws": 10}},
}


def load(tmp_path, tables, **top):
    doc = {**BASE, **top, "tables": tables}
    path = tmp_path / "study.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_study(path=path)


def test_levels_override_and_options_merge(tmp_path):
    study = load(tmp_path, [{
        "table": "t1", "title": "T", "outcome": "z", "sample": "big", "options": {"seed": 3},
        "columns": [{"column": 1}, {"column": 2, "controls": ["g1", "g2"], "cluster": "",
                                    "kind": "iv", "options": {"draws": 20},
                                    "sample": "east", "label": "East"}]}])
    one, two = study.table_specs("t1")
    assert (one.outcome, one.regressors, one.control_vars, one.cluster) == ("z", ("x",),
                                                                          ("a1", "a2"), "u")
    assert one.options == {"unit": "u", "time": "t", "window": [-2, 2], "draws": 10, "seed": 3}
    assert two.options["draws"] == 20 and two.kind == "iv" and two.vcov == "hetero"
    assert two.control_vars == ("a1", "a2", "b1") and two.controls == ("g1", "g2")
    assert one.sample == "(t > 2000) and (big)"
    assert two.sample == "(t > 2000) and (big) and (east)"
    assert one.formula == "z ~ x + a1 + a2 | u + t" and one.vcov == {"CRV1": "u"}
    assert one.mart == "marts.m" and study.sources == ["eps"]


def test_interaction_terms_name_their_columns(tmp_path):
    study = load(tmp_path, [{"table": "t1", "title": "T", "columns": [
        {"column": 1, "regressors": ["x", "x:big"], "controls": []}]}])
    spec = study.specs[0]
    assert spec.variables == ["y", "x", "big", "u", "t"]
    assert spec.formula == "y ~ x + x:big | u + t"


def test_expand_lists_mappings_and_seed_values(tmp_path):
    study = load(tmp_path, [{
        "table": "grid", "title": "G", "label": "{side} {tier}",
        "expand": {
            "factor": {"values": ["f1", "f2"], "set": {"outcome": "{value}"}},
            "side": {"values": [{"suffix": "_i", "label": "origin"},
                                {"suffix": "_j", "label": "destination"}],
                     "set": {"outcome": "{outcome}{suffix}"}},
            "tier": {"values": {"seed": "ref_distance_tier", "column": "tier"},
                     "set": {"sample": "distance_tier == '{value}'",
                             "regressors": ["x_{value}"]}}}}])
    tiers = list(reference.distance_tiers()["tier"])
    specs = study.table_specs("grid")
    assert len(specs) == 2 * 2 * len(tiers)
    assert [s.column for s in specs] == list(range(1, len(specs) + 1))
    first, last = specs[0], specs[-1]
    assert first.outcome == "f1_i" and last.outcome == "f2_j"
    assert first.sample == f"(t > 2000) and (distance_tier == '{tiers[0]}')"
    assert first.regressors == (f"x_{tiers[0]}",)
    assert first.meta == {"factor": "f1", "side": "origin", "tier": tiers[0]}
    assert first.label == f"origin {tiers[0]}" and last.label == f"destination {tiers[-1]}"
    assert study.expansions[("grid", "tier")] == tiers


def test_expanded_seed_values_follow_the_seed(tmp_path, monkeypatch):
    """Change the tier seed and the expansion (and so S003's tables and figures) follows."""
    changed = reference.distance_tiers().iloc[:2].assign(tier=["near", "far"])
    real = reference.table

    def table(name):
        return changed if name == "ref_distance_tier" else real(name)
    monkeypatch.setattr(reference, "table", table)
    s003 = load_study("s003")
    assert [s.meta["tier"] for s in s003.table_specs("distance_tiers")] == ["near", "far"] * 2
    assert s003.expansions[("distance_tiers", "tier")] == ["near", "far"]


def test_errors_name_file_table_and_column(tmp_path):
    with pytest.raises(ValueError, match=r"study.yml: table 't1' column 2: control groups "
                                         r"\['g9'\] not in control_groups"):
        load(tmp_path, [{"table": "t1", "title": "T", "columns": [
            {"column": 1}, {"column": 2, "controls": ["g9"]}]}])
    with pytest.raises(ValueError, match=r"table 't1' column 1: missing \['outcome'\]"):
        load(tmp_path, [{"table": "t1", "title": "T", "outcome": "",
                         "columns": [{"column": 1}]}])
    with pytest.raises(ValueError, match="expand key 'k' sets 'colour'"):
        load(tmp_path, [{"table": "t1", "title": "T",
                         "expand": {"k": {"values": [1], "set": {"colour": "{value}"}}}}])
    with pytest.raises(ValueError, match="type 'pie' is not one of"):
        load(tmp_path, [{"table": "t1", "title": "T", "type": "pie"}])


def test_and_combines_conditions():
    assert and_("", "a") == "a"
    assert and_("a", "", "b") == "(a) and (b)"
    assert and_() == ""


def test_every_study_yaml_loads_and_names_known_sources():
    from models_py.ingest import SOURCES

    assert {"s001", "s003"} <= set(study_names())
    for name in study_names():
        study = load_study(name)
        assert study.specs, name
        assert study.sources and set(study.sources) <= set(SOURCES), (name, study.sources)
        for fig in study.figures:
            assert fig["kind"] in {"profile", "event_study", "placebo", "sensitivity"}
