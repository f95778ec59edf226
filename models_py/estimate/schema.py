"""The declared schema of a study file, and the checks every study file passes before use.

A study file (``models_py/studies/<study>.yml``) is checked in two steps, and every problem of
the file is reported at once (:class:`StudyFileError`), each naming the file, the table and
column (or figure), the key, and the closest valid key or name:

1. its shape, against the pydantic models below (:class:`StudyFile` and what it holds): an
   unknown key (``clustr`` for ``cluster``), a wrong type, a missing required key;
2. once expanded into specs (``models_py.estimate.specs``), what it refers to: each spec's
   estimator kind, its ``options`` against the kind's own ``Options`` model (the one place a
   kind declares its options, with types and defaults), every variable, sample filter and
   fixed effect against the columns dbt documents for the mart (``models_py.lineage``; columns
   a kind derives itself, such as event time, are allowed), control groups, figures and the
   tables and expansion keys they read, and a label for every outcome, term, control group,
   fixed effect and statistic a table prints.

Nothing here estimates: the checks need the study file and dbt's manifest, not the warehouse.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import inspect
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from models_py import lineage, source_code
from models_py.estimate import estimators, figures
from models_py.estimate.estimators.timing import Panel
from models_py.estimate.study import clustering, sample_columns

SpecField = Literal["kind", "outcome", "regressors", "controls", "fixed_effects", "cluster",
                    "sample", "label", "options", "mart"]


class StudyFileError(ValueError):
    """A study file that does not pass its checks; the message lists every problem."""

    def __init__(self, path: Path, problems: list[str]):
        self.problems = list(dict.fromkeys(problems))
        super().__init__(f"{path}: {len(self.problems)} problem(s):\n  "
                         + "\n  ".join(self.problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpecFields(_Strict):
    """The fields of a spec, at any level: the study's ``defaults``, a table, a column."""
    kind: str | None = None                 # estimator kind (models_py.estimate.estimators)
    outcome: str | None = None
    regressors: list[str] | None = None
    controls: list[str] | None = None       # control groups (the study's control_groups)
    fixed_effects: list[str] | None = None
    cluster: str | None = None              # study.clustering: "", a, a+b, dyadic(a, b)
    sample: str | None = None               # pandas query over the mart
    options: dict[str, Any] | None = None   # checked against the kind's Options per spec
    mart: str | None = None                 # the relation, when not the study's mart

    @field_validator("cluster")
    @classmethod
    def _cluster_grammar(cls, value: str | None) -> str | None:
        clustering(value or "")           # a ValueError names the value and the forms
        return value


class Column(SpecFields):
    column: int
    label: str | None = None                # printed above the outcome


class SeedValues(_Strict):
    seed: str                               # a dbt seed (reference table)
    column: str


class Expansion(_Strict):
    values: list[Any] | SeedValues
    set: dict[SpecField, Any]               # templates of spec fields


class Frame(_Strict):
    """An extra frame of a table printed as its own table (placebo draws, balance, ...)."""
    title: str
    show: dict[str, str]                    # frame column -> header
    note: str = ""
    formats: dict[str, str] | None = None   # frame column -> Python format


class Table(SpecFields):
    table: str
    title: str
    type: Literal["regression", "descriptives", "frame"] = "regression"
    label: str | None = None                # column label template of an expanded table
    note: str = ""
    statistics: list[str] = []              # diagnostic statistics printed as rows
    terms: list[str] | None = None          # the terms printed (default: every reported one)
    split_by: str | None = None             # an expand key: one printed table per value
    common_sample: bool = False             # every column on the rows complete in all columns
    columns: list[Column] | None = None
    expand: dict[str, Expansion] | None = None
    frames: dict[str, Frame] = {}
    variables: list[str] | None = None      # descriptives: the variables summarized
    source: str | None = None               # frame table: the relation printed
    show: dict[str, str] | None = None
    formats: dict[str, str] | None = None


class Series(_Strict):
    table: str
    column: int = 1
    label: str


class Panels(_Strict):
    by: str                                 # "term" or an expand key of the table
    values: list[Any]
    titles: dict[str, str] = {}


class Figure(_Strict):
    """A figure drawn from stored results (``models_py.estimate.figures``)."""
    figure: str
    kind: str
    title: str
    table: str | None = None
    series: list[Series] | None = None
    term: str | None = None
    x: str | None = None
    x_format: str | None = None
    x_labels: dict[str, str] | None = None
    x_label: str | None = None
    y_label: str | None = None
    ci: Literal[90, 95] = 95
    panels: Panels | None = None


class StudyFile(_Strict):
    study: str
    title: str
    mart: str                               # the relation most tables read
    aliases: dict[str, Any] = {}            # values named once, used with YAML anchors
    panel: Panel = Panel()                  # treatment timing: options of every spec
    control_groups: dict[str, list[str]] = {}
    defaults: SpecFields = SpecFields()
    labels: dict[str, str] = {}             # how names are printed
    names: dict[str, str] = {}              # how table notes name clusters and fixed effects
    tables: list[Table]
    figures: list[Figure] = []


# ------------------------------------------------------------------------------ messages

def suggestion(name: str, valid) -> str:
    """`` (did you mean `x`?)`` for the closest valid name, else ``""``."""
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.5)
    return f" (did you mean `{close[0]}`?)" if close else ""


def where(path: Path, table: str | None = None, column: int | None = None,
          figure: str | None = None) -> str:
    """``file: table 't' column 2``: the place a problem is reported at."""
    parts = [str(path)]
    if table is not None:
        parts.append(f"table {table!r}" + (f" column {column}" if column is not None else ""))
    if figure is not None:
        parts.append(f"figure {figure!r}")
    return ": ".join(parts)


def _is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _unwrap(annotation):
    """What a field holds once through ``X | None`` and ``list[X]``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = next((a for a in args if _is_model(a)), args[0])
        elif origin is list:
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation


def _keys_at(loc: tuple, root: type[BaseModel] = None) -> list[str]:
    """The valid keys of the mapping at ``loc`` under ``root`` (default: a study file)."""
    held: Any = root or StudyFile
    for part in loc:
        if isinstance(part, int):
            continue
        if typing.get_origin(held) is dict:         # part is a key of a mapping
            held = _unwrap(typing.get_args(held)[1])
        elif _is_model(held) and part in held.model_fields:
            held = _unwrap(held.model_fields[part].annotation)
    return list(held.model_fields) if _is_model(held) else []


def _place(doc: dict, path: Path, loc: tuple) -> tuple[str, tuple]:
    """Where in the file a pydantic error location points, and the key path under it."""
    def named(items, index, key):
        item = items[index] if isinstance(items, list) and index < len(items) else {}
        return item.get(key, f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"

    if len(loc) >= 2 and loc[0] == "tables" and isinstance(loc[1], int):
        table = doc["tables"][loc[1]] if loc[1] < len(doc["tables"]) else {}
        name = named(doc["tables"], loc[1], "table")
        if len(loc) >= 4 and loc[2] == "columns" and isinstance(loc[3], int):
            return where(path, name, named(table.get("columns") or [], loc[3], "column")), loc[4:]
        return where(path, name), loc[2:]
    if len(loc) >= 2 and loc[0] == "figures" and isinstance(loc[1], int):
        return where(path, figure=named(doc["figures"], loc[1], "figure")), loc[2:]
    return where(path), loc


def _problem(error: dict, place: str, key: tuple, valid: list[str]) -> str:
    """One pydantic error as a line: the key, what is wrong and the closest valid key."""
    name = ".".join(str(p) for p in key)
    if error["type"] == "extra_forbidden":
        return f"{place}: unknown key `{name}`{suggestion(key[-1], valid)}"
    if error["type"] == "missing":
        return f"{place}: missing key `{name}`"
    if error["type"] == "literal_error":           # one of fixed values: name the closest
        expected = re.findall(r"'([^']*)'", error["ctx"]["expected"])
        return (f"{place}: key `{name}`: {error['input']!r} is not one of {', '.join(expected)}"
                f"{suggestion(error['input'], expected)}")
    return f"{place}: key `{name}`: {error['msg']} (got {error.get('input')!r})"


def _loc(error: dict) -> tuple:
    """An error's location without pydantic's union-member tags (``list[any]``)."""
    return tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))


def shape_problems(doc, path: Path) -> list[str]:
    """The problems of a study file's shape (step 1 of the module doc)."""
    if not isinstance(doc, dict):
        return [f"{path}: a study file is a mapping with keys {list(StudyFile.model_fields)}"]
    try:
        StudyFile.model_validate(doc)
    except ValidationError as exc:
        out = []
        for e in exc.errors():
            loc = _loc(e)
            place, key = _place(doc, path, loc)
            out.append(_problem(e, place, key, _keys_at(loc[:-1])))
        return out
    return []


def options(kind: str | None, values: dict, place: str) -> tuple[Panel | None, list[str]]:
    """A spec's merged options validated against its kind's ``Options``: (the options, []), or
    (None, the problems) for an unknown kind or invalid options."""
    if kind not in estimators.KINDS:
        return None, [f"{place}: key `kind`: unknown estimator kind {kind!r}"
                      f"{suggestion(kind, estimators.KINDS)}; the kinds are "
                      f"{', '.join(estimators.KINDS)}"]
    model = estimators.KINDS[kind].Options
    try:
        return model.model_validate(values), []
    except ValidationError as exc:
        return None, [_problem(e, f"{place} ({kind})", ("options", *_loc(e)),
                               _keys_at(_loc(e)[:-1], model)) for e in exc.errors()]


# ------------------------------------------------------------------------------ references

def reference_problems(study, path: Path) -> list[str]:
    """What an expanded study refers to that does not exist or has no label (step 2 of the
    module doc). ``study`` is a ``models_py.estimate.study.Study``."""
    out = []
    for info in study.tables:
        out += _table_problems(study, info, path)
        for spec in study.table_specs(info["table"]):
            out += _spec_problems(study, spec, path)
    for fig in study.figures:
        out += _figure_problems(study, fig, path)
    return out


def _relation_columns(relation: str, place: str, key: str) -> tuple[list[str], list[str]]:
    """The documented columns of a relation, or the problem that dbt does not know it."""
    found = lineage.columns(relation)
    if found is None:
        return [], [f"{place}: key `{key}`: {relation!r} is not a relation of the dbt project"
                    f"{suggestion(relation, lineage.relations())}"]
    return found, []


def _not_columns(names, columns: list[str], relation: str, place: str, key: str) -> list[str]:
    return [f"{place}: key `{key}`: {n!r} is not a column of {relation}{suggestion(n, columns)}"
            for n in dict.fromkeys(names) if n not in columns]


def _unlabelled(study, names, place: str, what: str) -> list[str]:
    return [f"{place}: key `labels`: no label for the {what} {n!r}"
            f"{suggestion(n, study.labels) or f' (add `{n}: ...` under `labels`)'}"
            for n in dict.fromkeys(names) if n and n not in study.labels]


def _table_problems(study, info: dict, path: Path) -> list[str]:
    """A table's relation, variables, printed names and expand key references."""
    place, out = where(path, info["table"]), []
    if info["type"] == "descriptives":
        relation = info.get("mart") or study.mart
        columns, out = _relation_columns(relation, place, "mart")
        if not info.get("variables"):
            out.append(f"{place}: missing key `variables` (a descriptives table lists them)")
        elif columns:
            out += _not_columns(info["variables"], columns, relation, place, "variables")
            out += _not_columns(sample_columns(info.get("sample") or ""), columns, relation,
                                place, "sample")
        out += _unlabelled(study, info.get("variables") or [], place, "variable")
    elif info["type"] == "frame" and info.get("source"):
        columns, out = _relation_columns(info["source"], place, "source")
        if not info.get("show"):
            out.append(f"{place}: missing key `show` (the columns of {info['source']} printed)")
        elif columns:
            out += _not_columns(info["show"], columns, info["source"], place, "show")
    keys = [k for (t, k) in study.expansions if t == info["table"]]
    if info.get("split_by") and info["split_by"] not in keys:
        out.append(f"{place}: key `split_by`: {info['split_by']!r} is not an expand key of the "
                   f"table{suggestion(info['split_by'], keys)}")
    specs = study.table_specs(info["table"])
    if info["type"] == "regression" and specs:
        out += _unlabelled(study, info.get("statistics") or [], place, "statistic")
        out += _unlabelled(study, info.get("terms") or [], place, "term")
    return out


def _spec_problems(study, spec, path: Path) -> list[str]:
    """A spec's variables against its mart's columns, and the labels of what it prints."""
    place = where(path, spec.table, spec.column)
    columns, out = _relation_columns(spec.mart, place, "mart")
    try:
        read, every = estimators.mart_columns(spec), estimators.columns(spec)
    except KeyError as exc:            # a kind's required panel option is not set
        return out + [f"{place} ({spec.kind}): key `options`: {exc.args[0]}"]
    derived = [c for c in every if c not in read]
    split = lambda names, sep: [p.strip() for n in names for p in n.split(sep) if p]  # noqa: E731
    by_key = {"outcome": [spec.outcome], "regressors": split(spec.regressors, ":"),
              "fixed_effects": list(spec.fixed_effects), "cluster": list(spec.clustering.columns),
              **{f"control_groups.{g}": study.control_groups.get(g, []) for g in spec.controls}}
    by_key["sample"] = sample_columns(spec.sample)
    named = {n for names in by_key.values() for n in names}
    for field, value in spec.options:
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        by_key[f"options.{field}"] = [v for v in values if v in read and v not in named]
    if columns:
        allowed = [*columns, *derived]
        for key, names in by_key.items():
            out += _not_columns([n for n in names if n not in derived], allowed, spec.mart,
                                place, key)
    if study.table_info(spec.table)["type"] == "regression":
        out += _unlabelled(study, [spec.outcome], place, "outcome")
        out += _unlabelled(study, [*spec.regressors, *derived], place, "term")
        out += _unlabelled(study, spec.controls, place, "control group")
        out += _unlabelled(study, spec.fixed_effects, place, "fixed effect")
        out += [f"{place}: key `names`: no name for {n!r} (how the table names it in a note or "
                f"the 'Clustered by' row){suggestion(n, study.names)}"
                for n in dict.fromkeys([spec.cluster, *spec.fixed_effects])
                if n and n not in study.names]
    return out


def _figure_problems(study, fig: dict, path: Path) -> list[str]:
    """A figure's kind, the tables, columns and expand keys it reads, its printed names."""
    place = where(path, figure=fig["figure"])
    if fig["kind"] not in figures.KINDS:
        return [f"{place}: key `kind`: unknown figure kind {fig['kind']!r}"
                f"{suggestion(fig['kind'], figures.KINDS)}; the kinds are "
                f"{', '.join(figures.KINDS)}"]
    out = [f"{place}: missing key `{k}` (a {fig['kind']} figure needs it)"
           for k in figures.REQUIRED[fig["kind"]] if not fig.get(k)]
    tables = [t["table"] for t in study.tables]
    reads = [("table", fig["table"], None)] if fig.get("table") else []
    reads += [(f"series.{k}.table", s["table"], s.get("column", 1))
              for k, s in enumerate(fig.get("series") or [])]
    for key, table, column in reads:
        if table not in tables:
            out.append(f"{place}: key `{key}`: no table {table!r}{suggestion(table, tables)}")
        elif column is not None and column not in [s.column for s in study.table_specs(table)]:
            out.append(f"{place}: key `{key}`: table {table!r} has no column {column}")
    if fig["kind"] == "profile" and fig.get("table") in tables:
        keys = [k for (t, k) in study.expansions if t == fig["table"]]
        if fig.get("x") and fig["x"] not in keys:
            out.append(f"{place}: key `x`: {fig['x']!r} is not an expand key of table "
                       f"{fig['table']!r}{suggestion(fig['x'], keys)}")
        by = (fig.get("panels") or {}).get("by")
        if by and by != "term" and by not in keys:
            out.append(f"{place}: key `panels.by`: {by!r} is neither `term` nor an expand key "
                       f"of table {fig['table']!r}{suggestion(by, [*keys, 'term'])}")
        if not fig.get("x_label"):
            out += _unlabelled(study, [fig.get("x")], place, "expand key")
    if fig["kind"] == "placebo" and not fig.get("x_label"):
        out += _unlabelled(study, [fig.get("term")], place, "term")
    return out


# ------------------------------------------------------------------------------ versions

def _kind_source_hash(module: types.ModuleType) -> str:
    """A hash of an estimator kind's file and of the estimation modules it imports."""
    path = Path(inspect.getfile(module))
    files = [path, *source_code.module_closure(path, "models_py.estimate").values()]
    digest = hashlib.sha256()
    for file in sorted(set(files)):
        digest.update(file.read_bytes())
    return digest.hexdigest()


def code_version(study, table: str) -> str:
    """The code version of a table: a hash of its entry as its specs see it (the study's
    defaults and panel it inherits included, expansions expanded), the labels and names it
    may print, and the source of the estimator kinds it uses with the estimation modules they
    import (tidy, variance, ...). Editing one table's entry changes its version and no
    other's; editing a kind's code changes the version of every table using it."""
    specs = study.table_specs(table)
    entry = {"table": study.table_info(table), "specs": [
        {**{f.name: getattr(s, f.name) for f in dataclasses.fields(s)},
         "options": s.options.model_dump(), "columns": estimators.columns(s)} for s in specs]}
    words = set(re.findall(r"[\w:+]+", json.dumps(entry, sort_keys=True, default=str)))
    entry["labels"] = {k: v for k, v in study.labels.items() if k in words}
    entry["names"] = {k: v for k, v in study.names.items() if k in words}
    entry["kinds"] = {k: _kind_source_hash(estimators.KINDS[k])
                      for k in sorted({s.kind for s in specs})}
    text = json.dumps(entry, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
