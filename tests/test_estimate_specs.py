"""Spec expansion: a study YAML into one Spec per table column (defaults, table and column
levels, options, control groups, expand keys with list, mapping and seed values, a common
sample). The checks of a study file are in tests/test_study_schema.py."""
from __future__ import annotations

import pytest
import yaml

from models_py import reference
from models_py.estimate.specs import load_study, study_names
from models_py.estimate.study import and_

BASE = {
    "study": "T001", "title": "A test study", "mart": "marts.city_year",
    "panel": {"unit": "city_id", "time": "year", "cohort": "first_treated_year",
              "window": [-2, 2]},
    "control_groups": {"g1": ["log_economic_density", "infrastructure"], "g2": ["fdi_to_gdp"]},
    "defaults": {"kind": "placebo", "outcome": "resilience_index", "regressors": ["did"],
                 "controls": ["g1"], "fixed_effects": ["city_id", "year"], "cluster": "city_id",
                 "sample": "year > 2012", "options": {"draws": 10}},
    "labels": {"resilience_index": "Resilience", "talent_share": "Talent", "did": "DID",
               "is_megacity_or_super_large": "Large", "did:is_megacity_or_super_large": "DID x",
               "g1": "Controls 1", "g2": "Controls 2", "city_id": "City FE", "year": "Year FE"},
    "names": {"city_id": "city", "year": "year"},
}


def load(tmp_path, tables, **top):
    doc = {**BASE, **top, "tables": tables}
    path = tmp_path / "study.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_study(path=path)


def test_levels_override_and_options_merge(tmp_path):
    study = load(tmp_path, [{
        "table": "t1", "title": "T", "outcome": "talent_share",
        "sample": "is_megacity_or_super_large == True", "options": {"seed": 3},
        "columns": [{"column": 1}, {"column": 2, "controls": ["g1", "g2"], "cluster": "",
                                    "options": {"draws": 20}, "sample": "did == 1",
                                    "label": "Treated"}]}])
    one, two = study.table_specs("t1")
    assert (one.outcome, one.regressors, one.cluster) == ("talent_share", ("did",), "city_id")
    assert one.control_vars == ("log_economic_density", "infrastructure")
    assert one.options.model_dump() == {**one.options.model_dump(), "unit": "city_id",
                                        "time": "year", "window": (-2, 2), "draws": 10,
                                        "seed": 3}
    assert two.options.draws == 20 and two.options.seed == 3 and two.vcov == "hetero"
    assert two.control_vars == ("log_economic_density", "infrastructure", "fdi_to_gdp")
    assert two.controls == ("g1", "g2")
    assert one.sample == "(year > 2012) and (is_megacity_or_super_large == True)"
    assert two.sample == "(year > 2012) and (is_megacity_or_super_large == True) and (did == 1)"
    assert one.formula == ("talent_share ~ did + log_economic_density + infrastructure | "
                           "city_id + year") and one.vcov == {"CRV1": "city_id"}
    assert one.mart == "marts.city_year" and study.sources == ["city_yearbook", "eps"]


def test_interaction_terms_name_their_columns(tmp_path):
    study = load(tmp_path, [{"table": "t1", "title": "T", "kind": "ols", "options": {}, "columns": [
        {"column": 1, "regressors": ["did", "did:is_megacity_or_super_large"], "controls": []}]}],
        defaults={**BASE["defaults"], "options": {}})
    spec = study.specs[0]
    assert spec.variables == ["resilience_index", "did", "is_megacity_or_super_large",
                              "city_id", "year"]
    assert spec.formula == ("resilience_index ~ did + did:is_megacity_or_super_large | "
                            "city_id + year")


def test_a_common_sample_needs_every_column_s_variables(tmp_path):
    """``common_sample``: a first stage without the outcome is estimated on the rows the
    second stage has too."""
    study = load(tmp_path, [{"table": "iv", "title": "T", "common_sample": True, "columns": [
        {"column": 1, "kind": "ols", "outcome": "did", "regressors": ["talent_share"],
         "options": {}},
        {"column": 2, "kind": "iv", "options": {"instruments": ["talent_share"]}}]}],
        defaults={**BASE["defaults"], "options": {}})
    first, second = study.table_specs("iv")
    assert "resilience_index" in first.variables and first.outcome == "did"
    assert set(first.variables) == set(second.variables)


def test_expand_lists_mappings_and_seed_values(tmp_path):
    study = load(tmp_path, [{
        "table": "grid", "title": "G", "label": "{side} {tier}", "mart": "marts.city_pair_period",
        "kind": "ols", "controls": [], "fixed_effects": ["pair_id"], "cluster": "pair_id",
        "sample": "", "expand": {
            "factor": {"values": ["factor_labor", "factor_tech"], "set": {"outcome": "{value}"}},
            "side": {"values": [{"suffix": "_i", "label": "origin"},
                                {"suffix": "_j", "label": "destination"}],
                     "set": {"outcome": "{outcome}{suffix}"}},
            "tier": {"values": {"seed": "ref_distance_tier", "column": "tier"},
                     "set": {"sample": "distance_tier == '{value}'"}},
            "regressor": {"values": ["hsr", "i"],
                          "set": {"regressors": ["connectivity_{value}"]}}}}],
        defaults={}, panel={},
        labels={**BASE["labels"], **{f"factor_{f}_{c}": f for f in ("labor", "tech")
                                      for c in "ij"},
                "connectivity_hsr": "HSR", "connectivity_i": "I", "pair_id": "Pair FE"},
        names={"pair_id": "pair"})
    tiers = list(reference.distance_tiers()["tier"])
    specs = study.table_specs("grid")
    assert len(specs) == 2 * 2 * len(tiers) * 2
    assert [s.column for s in specs] == list(range(1, len(specs) + 1))
    first, last = specs[0], specs[-1]
    assert first.outcome == "factor_labor_i" and last.outcome == "factor_tech_j"
    assert first.sample == f"distance_tier == '{tiers[0]}'"
    assert first.meta == {"factor": "factor_labor", "side": "origin", "tier": tiers[0],
                          "regressor": "hsr"}
    assert first.regressors == ("connectivity_hsr",) and last.regressors == ("connectivity_i",)
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


def test_and_combines_conditions():
    assert and_("", "a") == "a"
    assert and_("a", "", "b") == "(a) and (b)"
    assert and_() == ""


def test_every_shipped_study_file_passes_its_checks():
    from models_py.ingest import SOURCES

    assert {"s001", "s003"} <= set(study_names())
    for name in study_names():
        study = load_study(name)
        assert study.specs, name
        assert study.sources and set(study.sources) <= set(SOURCES), (name, study.sources)
