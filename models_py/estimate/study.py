"""A study and its specs as data: :class:`Study` (tables, figures, labels, the specs of its
columns) and :class:`Spec` (one table column: estimator kind, outcome, regressors, controls,
fixed effects, cluster, sample, the kind's validated options). ``models_py.estimate.specs``
builds them from a study file; the estimator kinds, the renderers and the figures read them.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from models_py import lineage


@dataclass(frozen=True)
class Clustering:
    """What a spec's ``cluster`` asks of its standard errors: ``kind`` "none"
    (heteroskedasticity-robust), "one-way", "two-way" (``a+b``: Cameron, Gelbach and Miller)
    or "dyadic" (``dyadic(a, b)``: rows are pairs of members a and b, and every two rows that
    share a member, in either role, may be correlated: Cameron and Miller's dyadic-robust
    variance); ``columns`` the cluster variables."""
    kind: str
    columns: tuple[str, ...]


_DYADIC = re.compile(r"dyadic\(\s*(\w+)\s*,\s*(\w+)\s*\)")


def clustering(cluster: str) -> Clustering:
    """Parse a ``cluster`` value: "" (none), ``a``, ``a+b`` or ``dyadic(a, b)``; anything else
    is a ValueError naming it."""
    text = (cluster or "").strip()
    if not text:
        return Clustering("none", ())
    dyadic = _DYADIC.fullmatch(text)
    if dyadic:
        return Clustering("dyadic", dyadic.groups())
    names = tuple(n.strip() for n in text.split("+"))
    if len(names) > 2 or not all(n.isidentifier() for n in names):
        raise ValueError(f"cluster {cluster!r}: expected a column, two joined by '+' (two-way) "
                         f"or dyadic(a, b) (pairs of members a and b)")
    return Clustering("one-way" if len(names) == 1 else "two-way", names)


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
    cluster: str                         # see clustering(); "" = HC1
    sample: str                          # pandas query; "" = all rows
    label: str
    mart: str = ""                       # the relation the spec is estimated on
    complete: tuple[str, ...] = ()       # other columns a row needs (a table's common sample)
    options: object = field(default=None, hash=False, compare=False)  # the kind's Options
    meta: dict = field(default_factory=dict, hash=False, compare=False)  # expansion values

    @property
    def formula(self) -> str:
        """The pyfixest formula ``outcome ~ regressors + controls | fixed effects``."""
        rhs = " + ".join([*self.regressors, *self.control_vars]) or "1"
        fe = " + ".join(self.fixed_effects)
        return f"{self.outcome} ~ {rhs}" + (f" | {fe}" if fe else "")

    @property
    def clustering(self) -> Clustering:
        return clustering(self.cluster)

    @property
    def vcov(self) -> dict | str:
        """pyfixest's vcov argument: CRV1 by the cluster variable(s), else HC1. A dyadic spec
        is fitted clustered by its first member (``ols.feols`` then replaces the covariance
        with the dyadic-robust one)."""
        c = self.clustering
        if c.kind == "none":
            return "hetero"
        return {"CRV1": c.columns[0] if c.kind == "dyadic" else self.cluster}

    @property
    def variables(self) -> list[str]:
        """Mart columns of the formula, fixed effects and cluster (interaction terms and two-way
        clusters split)."""
        names = [self.outcome, *self.regressors, *self.control_vars, *self.fixed_effects,
                 *self.clustering.columns, *self.complete]
        return list(dict.fromkeys(v.strip() for n in names if n for v in n.split(":")))


@dataclass
class Study:
    name: str
    mart: str
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
            out += [s.mart, *s.options.relations()]
        return list(dict.fromkeys(out))

    def table_sources(self, table: str) -> list[str]:
        """The raw sources a table is built from (dbt's lineage of the relations it reads)."""
        return lineage.sources(self.table_relations(table))

    @property
    def relations(self) -> list[str]:
        """Every warehouse relation the study's tables read, in the order they first appear."""
        return list(dict.fromkeys(relation for t in self.tables
                                  for relation in self.table_relations(t["table"])))

    @property
    def sources(self) -> list[str]:
        """The raw sources the study needs: those of its tables, derived from the lineage."""
        return lineage.sources(self.relations)

    def label(self, name: str) -> str:
        return str(self.labels.get(name, name))


def sample_columns(sample: str) -> list[str]:
    """The names a sample filter (a pandas query) mentions."""
    words = sample.replace("(", " ").replace(")", " ").split()
    return [w for w in words if w.isidentifier() and not keyword.iskeyword(w)]


def and_(*conditions: str) -> str:
    """Combine pandas query conditions with ``and`` (empty ones dropped)."""
    parts = [c for c in conditions if c]
    return " and ".join(f"({c})" if len(parts) > 1 else c for c in parts)
