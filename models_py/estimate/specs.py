"""Regression specifications as data: a study's YAML (models_py/studies/<study>.yml) expanded
into one :class:`Spec` per table column.

A spec names its outcome, regressors, control groups (expanded to variables through the study's
``control_groups``), fixed effects, cluster variable and sample (a pandas ``query`` expression
over the mart); nothing about estimation lives here.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import yaml

STUDIES_DIR = Path(__file__).resolve().parents[1] / "studies"


@dataclass(frozen=True)
class Spec:
    study: str
    table: str
    column: int
    outcome: str
    regressors: tuple[str, ...]
    controls: tuple[str, ...]            # control groups, e.g. ("city1", "city2")
    control_vars: tuple[str, ...]        # the variables of those groups
    fixed_effects: tuple[str, ...]
    cluster: str
    sample: str                          # pandas query; "" = all rows
    label: str
    meta: dict = field(default_factory=dict, hash=False, compare=False)  # expansion keys

    @property
    def formula(self) -> str:
        rhs = " + ".join([*self.regressors, *self.control_vars])
        fe = " + ".join(self.fixed_effects)
        return f"{self.outcome} ~ {rhs}" + (f" | {fe}" if fe else "")

    @property
    def variables(self) -> list[str]:
        return list(dict.fromkeys([self.outcome, *self.regressors, *self.control_vars,
                                   *self.fixed_effects, self.cluster]))


@dataclass
class Study:
    name: str
    mart: str
    labels: dict
    control_groups: dict
    descriptives: dict
    tables: list[dict]            # table-level data (title, figure, ...)
    specs: list[Spec]

    def table_specs(self, table: str) -> list[Spec]:
        return [s for s in self.specs if s.table == table]

    def table_info(self, table: str) -> dict:
        return next(t for t in self.tables if t["table"] == table)

    def label(self, name: str) -> str:
        return self.labels.get(name, name)


def _and(*conditions: str) -> str:
    parts = [c for c in conditions if c]
    return " and ".join(f"({c})" if len(parts) > 1 else c for c in parts)


# How one value of an `expand:` key sets the fields of a column.
def _apply(key: str, value, col: dict, meta: dict) -> None:
    if key == "factor":
        col["outcome"] = value
        meta["factor"] = value
    elif key == "city":
        col["outcome"] = col["outcome"] + value["suffix"]
        col["label"] = value["label"]
        meta["city"] = value["label"]
    elif key == "regressor":
        col["regressors"] = [value]
        meta["regressor"] = value
    elif key == "tier":
        col["sample"] = _and(col.get("sample", ""), f"distance_tier == '{value}'")
        meta["tier"] = value
    elif key == "gradient":
        col["sample"] = _and(col.get("sample", ""), f"gradient_gdppc == '{value}'")
        meta["gradient"] = value
    else:
        raise ValueError(f"unknown expand key {key!r}: expected factor, city, regressor, tier "
                         "or gradient")


def _columns(table: dict) -> list[tuple[dict, dict]]:
    if "columns" in table:
        return [(dict(c), {}) for c in table["columns"]]
    keys = list(table["expand"])
    out = []
    for n, combo in enumerate(itertools.product(*(table["expand"][k] for k in keys)), start=1):
        col, meta = {"column": n}, {}
        for k, v in zip(keys, combo):
            _apply(k, v, col, meta)
        col.setdefault("label", " ".join(str(meta[k]) for k in ("gradient", "tier")
                                         if k in meta) or meta.get("regressor", ""))
        out.append((col, meta))
    return out


def load_study(name: str = "s003", path: Path | None = None) -> Study:
    path = Path(path or STUDIES_DIR / f"{name.lower()}.yml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    defaults, groups = doc["defaults"], doc["control_groups"]
    specs, tables = [], []
    for table in doc["tables"]:
        tables.append({k: v for k, v in table.items() if k not in ("columns", "expand")})
        base = {**defaults, **{k: v for k, v in table.items()
                               if k in ("outcome", "regressors", "controls", "fixed_effects",
                                        "cluster", "sample")}}
        for col, meta in _columns(table):
            c = {**base, **col}
            c["sample"] = _and(base.get("sample", ""), col.get("sample", ""))
            missing = [k for k in ("outcome", "regressors") if not c.get(k)]
            if missing:
                raise ValueError(f"{path}: table {table['table']!r} column {c['column']}: "
                                 f"missing {missing}")
            unknown = [g for g in c["controls"] if g not in groups]
            if unknown:
                raise ValueError(f"{path}: table {table['table']!r} column {c['column']}: control "
                                 f"groups {unknown} not in control_groups {list(groups)}")
            specs.append(Spec(
                study=doc["study"], table=table["table"], column=int(c["column"]),
                outcome=c["outcome"], regressors=tuple(c["regressors"]),
                controls=tuple(c["controls"]),
                control_vars=tuple(v for g in c["controls"] for v in groups[g]),
                fixed_effects=tuple(c["fixed_effects"]), cluster=c["cluster"],
                sample=c.get("sample") or "", label=str(c.get("label", "")), meta=meta))
    return Study(name=doc["study"], mart=doc["mart"], labels=doc.get("labels", {}),
                 control_groups=groups, descriptives=doc.get("descriptives", {}),
                 tables=tables, specs=specs)
