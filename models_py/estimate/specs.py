"""Regression specifications as data: a study's YAML (models_py/studies/<study>.yml) expanded
into one :class:`Spec` per table column.

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
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from models_py import reference
from models_py.ingest import SOURCES

STUDIES_DIR = Path(__file__).resolve().parents[1] / "studies"

SPEC_FIELDS = ("kind", "outcome", "regressors", "controls", "fixed_effects", "cluster", "sample",
               "label", "options")
TABLE_TYPES = ("regression", "descriptives", "frame")


@dataclass(frozen=True)
class Spec:
    study: str
    table: str
    column: int
    kind: str                            # estimator kind (models_py.estimate.estimators)
    outcome: str
    regressors: tuple[str, ...]
    controls: tuple[str, ...]            # control groups, e.g. ("city1", "city2")
    control_vars: tuple[str, ...]        # the variables of those groups
    fixed_effects: tuple[str, ...]
    cluster: str                         # CRV1 cluster variable, "a+b" two-way; "" = HC1
    sample: str                          # pandas query; "" = all rows
    label: str
    mart: str = ""                       # the relation the spec is estimated on
    options: dict = field(default_factory=dict, hash=False, compare=False)
    meta: dict = field(default_factory=dict, hash=False, compare=False)  # expansion values

    @property
    def formula(self) -> str:
        """The pyfixest formula ``outcome ~ regressors + controls | fixed effects``."""
        rhs = " + ".join([*self.regressors, *self.control_vars]) or "1"
        fe = " + ".join(self.fixed_effects)
        return f"{self.outcome} ~ {rhs}" + (f" | {fe}" if fe else "")

    @property
    def vcov(self) -> dict | str:
        """pyfixest's vcov argument: CRV1 by the cluster variable(s), else HC1."""
        return {"CRV1": self.cluster} if self.cluster else "hetero"

    @property
    def variables(self) -> list[str]:
        """Mart columns of the formula, fixed effects and cluster (interaction terms and two-way
        clusters split)."""
        names = [self.outcome, *self.regressors, *self.control_vars, *self.fixed_effects,
                 *self.cluster.split("+")]
        return list(dict.fromkeys(v.strip() for n in names if n for v in n.split(":")))


@dataclass
class Study:
    name: str
    mart: str
    sources: list[str]                   # raw sources (keys of models_py.ingest.SOURCES)
    labels: dict
    names: dict                          # variable -> how prose names it (table notes)
    control_groups: dict
    tables: list[dict]                   # table-level data (title, type, figure inputs, ...)
    figures: list[dict]
    specs: list[Spec]
    expansions: dict = field(default_factory=dict)   # (table, key) -> expanded values

    def table_specs(self, table: str) -> list[Spec]:
        return [s for s in self.specs if s.table == table]

    def table_info(self, table: str) -> dict:
        try:
            return next(t for t in self.tables if t["table"] == table)
        except StopIteration:
            raise KeyError(f"study {self.name} has no table {table!r} (tables: "
                           f"{[t['table'] for t in self.tables]})") from None

    def table_relations(self, table: str) -> list[str]:
        """Every warehouse relation a table reads: its mart(s), its ``source`` and any spec
        option naming a ``relation``."""
        info = self.table_info(table)
        out = [info.get("source") or info.get("mart") or self.mart]
        for s in self.table_specs(table):
            out.append(s.mart)
            out += [v["relation"] for v in s.options.values()
                    if isinstance(v, dict) and "relation" in v]
        return list(dict.fromkeys(out))

    def label(self, name: str) -> str:
        return str(self.labels.get(name, name))


def and_(*conditions: str) -> str:
    """Combine pandas query conditions with ``and`` (empty ones dropped)."""
    parts = [c for c in conditions if c]
    return " and ".join(f"({c})" if len(parts) > 1 else c for c in parts)


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
    if not isinstance(rule, dict) or "set" not in rule:
        raise ValueError(f"expand key {key!r} needs 'values' and 'set' (got {rule!r})")
    fields = {**{k: v for k, v in col.items() if isinstance(v, str)},
              **(value if isinstance(value, dict) else {"value": value})}
    for name, template in rule["set"].items():
        if name not in SPEC_FIELDS:
            raise ValueError(f"expand key {key!r} sets {name!r}: expected one of {SPEC_FIELDS}")
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
    """Read and expand a study's YAML; raise ValueError naming the file, table and column of
    anything missing or unknown."""
    path = Path(path or STUDIES_DIR / f"{name.lower()}.yml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    defaults = {**doc.get("defaults", {}), "options": {**doc.get("panel", {}),
                                                      **doc.get("defaults", {}).get("options", {})}}
    groups = doc.get("control_groups", {})
    specs, tables, expanded = [], [], {}
    for table in doc["tables"]:
        info = {k: v for k, v in table.items() if k not in ("columns", "expand")}
        info.setdefault("type", "regression")
        if info["type"] not in TABLE_TYPES:
            raise ValueError(f"{path}: table {table['table']!r}: type {info['type']!r} is not "
                             f"one of {TABLE_TYPES}")
        tables.append(info)
        if "columns" not in table and "expand" not in table:
            continue
        table_level = {k: v for k, v in table.items() if k != "label"}
        for col, meta in _columns(table, expanded):
            c = _merge(defaults, table_level, col)
            c["sample"] = and_(defaults.get("sample", ""), table.get("sample", ""),
                               col.get("sample", ""))
            where = f"{path}: table {table['table']!r} column {c.get('column')}"
            missing = [k for k in ("kind", "outcome") if not c.get(k)]
            if missing:
                raise ValueError(f"{where}: missing {missing}")
            unknown = [g for g in c.get("controls", []) if g not in groups]
            if unknown:
                raise ValueError(f"{where}: control groups {unknown} not in control_groups "
                                 f"{list(groups)}")
            specs.append(Spec(
                study=doc["study"], table=table["table"], column=int(c["column"]),
                kind=c["kind"], outcome=c["outcome"], regressors=tuple(c.get("regressors", [])),
                controls=tuple(c.get("controls", [])),
                control_vars=tuple(v for g in c.get("controls", []) for v in groups[g]),
                fixed_effects=tuple(c.get("fixed_effects", [])), cluster=c.get("cluster") or "",
                sample=c["sample"], label=str(c.get("label", "")),
                mart=c.get("mart") or table.get("mart") or doc["mart"],
                options=c["options"], meta=meta))
    sources = list(doc.get("sources", []))
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValueError(f"{path}: sources {unknown} are not raw sources (known: "
                         f"{', '.join(SOURCES)})")
    return Study(name=doc["study"], mart=doc["mart"], sources=sources,
                 labels=doc.get("labels", {}), names=doc.get("names", {}),
                 control_groups=groups, tables=tables, figures=doc.get("figures", []),
                 specs=specs, expansions=expanded)


def study_names() -> list[str]:
    """Every study with a YAML file in models_py/studies/, e.g. ``["s001", "s003"]``."""
    return sorted(p.stem for p in STUDIES_DIR.glob("*.yml"))
