"""Regression specifications as data: a study's YAML (models_py/studies/<study>.yml) checked and
expanded into a :class:`~models_py.estimate.study.Study` with one
:class:`~models_py.estimate.study.Spec` per table column.

A spec names its estimator kind, outcome, regressors, control groups (expanded to variables
through the study's ``control_groups``), fixed effects, cluster variable, sample (a pandas
``query`` expression over the mart) and kind-specific ``options``; nothing about estimation
lives here. Every field of a column overrides its table's, which override the study's
``defaults``; ``options`` merge key by key the same way, starting from the study's ``panel``
(unit, time, treatment timing).

A table either lists its ``columns`` or generates them with ``expand``: every combination of
the values of its keys, in order, each key setting fields of the column from templates::

    expand:
      regressor: {values: [connectivity_hsr, connectivity_i], set: {regressors: ["{value}"]}}
      tier: {values: {seed: ref_distance_tier, column: tier},
             set: {sample: "distance_tier == '{value}'"}}

A value is a scalar (``{value}`` in the templates) or a mapping (its keys in the templates);
templates may also name the column's current fields (``"{outcome}{suffix}"``). A ``sample``
template is combined with the column's sample by ``and``. ``values: {seed, column}`` takes the
values from a reference table (a dbt seed), so a list such as the distance tiers has one home.
A table with ``common_sample: true`` estimates every column on the rows complete in the
variables of all its columns (an IV table's first stage on the second stage's sample).

Every study file is checked against its declared schema (``models_py.estimate.schema``) as it
is loaded: a misspelt key, a wrong type, an unknown kind or option, a variable that is not a
column of the mart, a missing label, a figure reading nothing each stop the load with a
:class:`~models_py.estimate.schema.StudyFileError` listing every problem of the file. A
study's raw sources are not declared: they are derived from dbt's lineage of the relations its
tables read (``models_py.lineage``).

The study files are read from ``STUDIES_DIR`` (default ``models_py/studies``).
"""
from __future__ import annotations

import itertools
import os
from dataclasses import replace
from pathlib import Path

import yaml

from models_py import reference
from models_py.estimate import schema
from models_py.estimate.study import Spec, Study, and_

STUDIES_DIR = Path(__file__).resolve().parents[1] / "studies"   # the shipped study files
# libyaml's parser where PyYAML was built with it: the same documents, read several times faster
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SPEC_FIELDS = ("kind", "outcome", "regressors", "controls", "fixed_effects", "cluster", "sample",
               "label", "options")


def expansion_values(spec) -> list:
    """The values of one ``expand`` key: a list, or ``{seed, column}`` read from a seed."""
    if isinstance(spec, dict) and "seed" in spec:
        return list(reference.table(spec["seed"])[spec["column"]])
    if isinstance(spec, list):
        return spec
    raise ValueError(f"expand values must be a list or {{seed, column}}, got {spec!r}")


def _fill(template, fields: dict):
    if isinstance(template, str):
        return template.format(**fields)
    if isinstance(template, list):
        return [_fill(t, fields) for t in template]
    return template


def _apply(key: str, rule: dict, value, col: dict, meta: dict) -> None:
    """Set the fields of a column that one value of an ``expand`` key determines."""
    fields = {**{k: v for k, v in col.items() if isinstance(v, str)},
              **(value if isinstance(value, dict) else {"value": value})}
    for name, template in rule["set"].items():
        filled = _fill(template, fields)
        col[name] = and_(col.get("sample", ""), filled) if name == "sample" else filled
    meta[key] = value.get("label", str(value)) if isinstance(value, dict) else value


def _columns(table: dict, expanded: dict) -> list[tuple[dict, dict]]:
    if "columns" in table:
        return [(dict(c), {}) for c in table["columns"]]
    keys = list(table["expand"])
    values = [expansion_values(table["expand"][k]["values"]) for k in keys]
    for k, v in zip(keys, values):
        expanded[(table["table"], k)] = v
    out = []
    for n, combo in enumerate(itertools.product(*values), start=1):
        col, meta = {"column": n, **({"outcome": table["outcome"]} if "outcome" in table
                                     else {})}, {}
        for k, v in zip(keys, combo):
            _apply(k, table["expand"][k], v, col, meta)
        if "label" in table and "label" not in col:
            col["label"] = _fill(table["label"], {**col, **{k: str(v) for k, v in meta.items()}})
        out.append((col, meta))
    return out


def _merge(*levels: dict) -> dict:
    """Spec fields of the study defaults, table and column, later levels winning; ``options``
    merge key by key."""
    out: dict = {"options": {}}
    for level in levels:
        for k, v in level.items():
            if k == "options":
                out["options"] = {**out["options"], **(v or {})}
            elif k in SPEC_FIELDS or k in ("column", "mart"):
                out[k] = v
    return out


def load_study(name: str = "s003", path: Path | None = None) -> Study:
    """Read, check and expand a study's YAML; raise ``schema.StudyFileError`` listing every
    problem of the file (each naming the table, column, key and the closest valid key)."""
    path = Path(path or studies_dir() / f"{name.lower()}.yml")
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    problems = schema.shape_problems(doc, path)
    if problems:
        raise schema.StudyFileError(path, problems)
    defaults = {**doc.get("defaults", {}), "options": {**doc.get("panel", {}),
                                                      **doc.get("defaults", {}).get("options", {})}}
    groups = doc.get("control_groups", {})
    specs, tables, expanded = [], [], {}
    for table in doc["tables"]:
        info = {k: v for k, v in table.items() if k not in ("columns", "expand")}
        info.setdefault("type", "regression")
        tables.append(info)
        if "columns" not in table and "expand" not in table:
            continue
        table_level = {k: v for k, v in table.items() if k != "label"}
        merged = []
        for col, meta in _columns(table, expanded):
            c = _merge(defaults, table_level, col)
            c["sample"] = and_(defaults.get("sample", ""), table.get("sample", ""),
                               col.get("sample", ""))
            place = schema.where(path, table["table"], c.get("column"))
            problems += [f"{place}: missing key `{k}`" for k in ("kind", "outcome") if not c.get(k)]
            problems += [f"{place}: key `controls`: no control group {g!r}"
                         f"{schema.suggestion(g, groups)} (control_groups: {list(groups)})"
                         for g in c.get("controls", []) if g not in groups]
            options, wrong = schema.options(c.get("kind"), c["options"], place)
            problems += wrong
            if options is not None and c.get("outcome"):
                merged.append((c, meta, options))
        table_specs = [_spec(doc, table, c, meta, options, groups) for c, meta, options in merged]
        if table.get("common_sample"):
            common = tuple(dict.fromkeys(v for s in table_specs for v in s.variables))
            table_specs = [replace(s, complete=common) for s in table_specs]
        specs += table_specs
    study = Study(name=doc["study"], mart=doc["mart"], labels=doc.get("labels", {}),
                  names=doc.get("names", {}), control_groups=groups, tables=tables,
                  figures=doc.get("figures", []), specs=specs, expansions=expanded)
    problems += schema.reference_problems(study, path)
    if problems:
        raise schema.StudyFileError(path, problems)
    return study


def _spec(doc: dict, table: dict, c: dict, meta: dict, options, groups: dict) -> Spec:
    """One column's spec from its merged fields."""
    return Spec(
        study=doc["study"], table=table["table"], column=int(c["column"]), kind=c["kind"],
        outcome=c["outcome"], regressors=tuple(c.get("regressors", [])),
        controls=tuple(c.get("controls", [])),
        control_vars=tuple(v for g in c.get("controls", []) if g in groups for v in groups[g]),
        fixed_effects=tuple(c.get("fixed_effects", [])), cluster=c.get("cluster") or "",
        sample=c["sample"], label=str(c.get("label", "")),
        mart=c.get("mart") or table.get("mart") or doc["mart"], options=options, meta=meta)


def studies_dir() -> Path:
    """The folder of the study files: ``STUDIES_DIR``, default ``models_py/studies``."""
    return Path(os.environ.get("STUDIES_DIR", STUDIES_DIR)).resolve()


def load_studies() -> list[Study]:
    """Every study of the study folder, checked; one error lists the problems of every file
    that fails its checks."""
    studies, failed = [], []
    for name in study_names():
        try:
            studies.append(load_study(name))
        except schema.StudyFileError as exc:
            failed.append(str(exc))
    if failed:
        raise ValueError("study files with problems (nothing was run):\n" + "\n".join(failed))
    return studies


def study_names() -> list[str]:
    """Every study with a YAML file in the study folder, e.g. ``["s001", "s003"]``."""
    return sorted(p.stem for p in studies_dir().glob("*.yml"))
