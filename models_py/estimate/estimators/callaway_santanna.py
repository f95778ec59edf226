"""Callaway and Sant'Anna (2021): group-time average treatment effects ATT(g, t) of staggered
adoption and their aggregations, as R's ``did`` package (2.5.0) computes them.

For each cohort g (units first treated in period g) and period t, ATT(g, t) compares the
change of the outcome of cohort g from a base period to t with that of a comparison group:
units never treated (``control_group: never_treated``) or also those not yet treated by the
later of the two periods (``not_yet_treated``). The base period is g - 1 for t >= g; before
adoption it is t - 1 (``base_period: varying``, ``did``'s default: each pre-period estimate is
a one-period placebo) or g - 1 as well (``universal``: long differences, ATT(g, g - 1) = 0 is
the reference, as in a TWFE event study). Each comparison is one two-period DID on the units
of cohort g and the comparison group, with the covariates (the spec's controls, taken in the
earlier of the two periods) entering as Sant'Anna and Zhao (2020) do it (``method``):

- ``reg``: outcome regression, the comparison group's change predicted from the covariates;
- ``ipw``: inverse probability weighting by a logit propensity score (Hajek weights);
- ``dr``: doubly robust, both together (DRDID's ``drdid_panel``).

Each ATT(g, t) comes with its influence function over the units, so that every aggregation
(``simple``, ``group``, ``dynamic`` event time, ``calendar``, weighted by cohort size with the
weights' own estimation error) and the joint pre-test of the pre-period ATT(g, t) get analytical
standard errors: the variance of a mean of influence functions, summed within clusters when
the spec clusters by a variable coarser than the unit (one-way, two-way or dyadic: the meats
of :mod:`.variance`). The uniform
(simultaneous) 95% band of the event-time effects takes its critical value from a multiplier
bootstrap (Mammen weights drawn per cluster of the spec's first cluster variable, ``reps``
draws from ``seed``). The panel is balanced first: units missing the outcome or a covariate
in some period are left out (statistic ``units_dropped``), as are units treated in the first period (no
pre-period); units first treated after the last period count as never treated.

The table reports the event-time (dynamic) effects within the spec's ``window`` (event times
outside it are left out, not binned: ``did``'s ``min_e``/``max_e``). Statistics: ``att`` and
``att_se`` (the simple aggregation), ``pretrend_f``/``pretrend_p`` (chi-squared / leads: the
event-time effects before adoption jointly zero, as the TWFE column's row), ``gt_pretest_w``/
``gt_pretest_p`` (``did``'s pre-test over every pre-period ATT(g, t), where their covariance is
not singular), ``uniform_critical_value`` and ``units_dropped``. Frame ``group_time``: every
ATT(g, t) with its standard error. A cell whose comparison units the propensity score trims
away entirely has no estimate and is left out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import stats as sps

from models_py.estimate.estimators import timing
from models_py.estimate.estimators.errors import NotEstimable
from models_py.estimate.estimators.variance import Codes, cluster_codes, meat
from models_py.estimate.study import Spec
from models_py.estimate.tidy import Estimate, inferred_terms, wald_test

LABEL = "Callaway–Sant'Anna"
PS_CEILING = 1 - 1e-6    # DRDID caps propensity scores here
PS_TRIM = 0.995          # comparison units with a larger score get no weight (DRDID's trim.level)


class Options(timing.Panel):
    """The comparison group, the two-period estimator, the base period before adoption, and
    the multiplier bootstrap of the uniform band (module doc)."""
    control_group: Literal["never_treated", "not_yet_treated"] = "never_treated"
    method: Literal["dr", "ipw", "reg"] = "dr"
    base_period: Literal["varying", "universal"] = "varying"
    reps: int = Field(999, ge=0)   # multiplier-bootstrap draws of the uniform band (0: none)
    seed: int = 20240601


# ------------------------------------------------------------------------------ two-period DID

class Separation(ValueError):
    """The covariates (nearly) separate a cohort from its comparison units: the logit
    propensity score does not exist."""


def _logit(d: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fitted probabilities of a logit of d on x (Newton's method) and (X'WX / n)^-1, the
    Hessian that maps a unit's score into its influence on the coefficients."""
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-x @ beta))
        hessian = (x * (p * (1 - p))[:, None]).T @ x
        if np.linalg.cond(hessian) > 1e12:
            raise Separation()
        step = np.linalg.solve(hessian, x.T @ (d - p))
        beta += step
        if np.abs(step).max() < 1e-12:
            break
    else:
        raise Separation()
    p = 1 / (1 + np.exp(-x @ beta))
    return p, np.linalg.inv((x * (p * (1 - p))[:, None]).T @ x / len(d))


def _comparison_regression(dy: np.ndarray, d: np.ndarray, x: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray]:
    """The comparison group's outcome change regressed on x (OLS on d = 0): every unit's
    prediction, and each unit's influence on the coefficients (n x k)."""
    control = d == 0
    beta = np.linalg.lstsq(x[control], dy[control], rcond=None)[0]
    fitted = x @ beta
    xpx = x[control].T @ x[control] / len(d)
    influence = ((control * (dy - fitted))[:, None] * x) @ np.linalg.inv(xpx)
    return fitted, influence


def _propensity(d: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Capped propensity scores, the trimming indicator and each unit's influence on the
    logit coefficients."""
    p, hessian = _logit(d, x)
    p = np.minimum(p, PS_CEILING)
    keep = np.where(d == 1, True, p < PS_TRIM).astype(float)
    return p, keep, ((d - p)[:, None] * x) @ hessian


def did_reg(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Outcome-regression DID (DRDID's ``reg_did_panel``): the ATT and its influence function."""
    fitted, ols = _comparison_regression(dy, d, x)
    eta_t, eta_c = np.mean(d * dy) / d.mean(), np.mean(d * fitted) / d.mean()
    inf_t = d * (dy - eta_t) / d.mean()
    inf_c = (d * (fitted - eta_c) + ols @ (d[:, None] * x).mean(axis=0)) / d.mean()
    return eta_t - eta_c, inf_t - inf_c


def did_ipw(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Inverse-probability-weighted DID (DRDID's ``std_ipw_did_panel``)."""
    return _weighted(dy, d, x, np.zeros_like(dy), np.zeros((len(dy), x.shape[1])))


def did_dr(dy: np.ndarray, d: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Doubly robust DID (DRDID's ``drdid_panel``)."""
    return _weighted(dy, d, x, *_comparison_regression(dy, d, x))


def _weighted(dy, d, x, fitted, ols) -> tuple[float, np.ndarray]:
    """The propensity-weighted DID of the change net of ``fitted`` (zero: IPW; the comparison
    regression: doubly robust), with ``ols`` that regression's influence on its coefficients."""
    p, keep, ps = _propensity(d, x)
    w_t, w_c = keep * d, keep * p * (1 - d) / (1 - p)
    net = dy - fitted
    eta_t, eta_c = np.mean(w_t * net) / w_t.mean(), np.mean(w_c * net) / w_c.mean()
    inf_t = (w_t * (net - eta_t) - ols @ (w_t[:, None] * x).mean(axis=0)) / w_t.mean()
    inf_c = (w_c * (net - eta_c) + ps @ ((w_c * (net - eta_c))[:, None] * x).mean(axis=0)
             - ols @ (w_c[:, None] * x).mean(axis=0)) / w_c.mean()
    return eta_t - eta_c, inf_t - inf_c


METHODS = {"reg": did_reg, "ipw": did_ipw, "dr": did_dr}


# ------------------------------------------------------------------------------ ATT(g, t)

@dataclass
class WidePanel:
    """A balanced panel in wide form: outcome (units x periods), covariates (name -> units x
    periods) and each unit's cohort (inf: never treated)."""
    units: np.ndarray
    periods: np.ndarray
    y: np.ndarray
    covariates: dict[str, np.ndarray]
    cohort: np.ndarray
    dropped: int = 0


def wide_panel(data: pd.DataFrame, outcome: str, unit: str, period: str, cohort: str,
               covariates: list[str] = ()) -> WidePanel:
    """The balanced wide panel of a long frame: units observed in every period with every
    value, except those treated in the first period; cohorts after the last period become
    never treated. A missing cohort marks a never-treated unit."""
    columns = [outcome, *covariates]
    wide = data.pivot_table(index=unit, columns=period, values=columns, aggfunc="first",
                            dropna=False).sort_index()
    periods = np.sort(data[period].unique()).astype(float)
    wide = wide.reindex(columns=pd.MultiIndex.from_product([columns, periods]))
    cohorts = data.groupby(unit)[cohort].first().reindex(wide.index).to_numpy(float)
    cohorts = np.where(np.isnan(cohorts) | (cohorts > periods[-1]), np.inf, cohorts)
    keep = wide.notna().all(axis=1).to_numpy() & (cohorts > periods[0])
    return WidePanel(units=wide.index.to_numpy()[keep], periods=periods,
                 y=wide[outcome].to_numpy(float)[keep],
                 covariates={c: wide[c].to_numpy(float)[keep] for c in covariates},
                 cohort=cohorts[keep], dropped=int((~keep).sum()))


@dataclass
class GroupTime:
    """ATT(g, t) (``table``: group, time, base, att) and their influence functions (units x
    cells, scaled as ``did``'s: a cell's n1 units carry n / n1 times their two-period one)."""
    table: pd.DataFrame
    influence: np.ndarray
    cohort: np.ndarray


def _period_pairs(g: float, periods: np.ndarray, base_period: str) -> list[tuple[int, int]]:
    """(current, base) period indices of cohort g's ATT(g, t)."""
    last_pre = int(np.flatnonzero(periods < g)[-1])
    start = 1 if base_period == "varying" else 0
    cells = []
    for i in range(start, len(periods)):
        post = periods[i] >= g
        cells.append((i, last_pre if post or base_period == "universal" else i - 1))
    return cells


def _group_time_att(panel: WidePanel, g: float, i: int, b: int, control_group: str,
                    estimator) -> tuple[float, np.ndarray] | None:
    """ATT(g, t) of period index i against base index b and its influence function over all
    units; None when no comparison unit is left (none exists, or the propensity score trims
    them all)."""
    comparison = ~np.isfinite(panel.cohort)
    if control_group == "not_yet_treated":
        comparison |= (panel.cohort > panel.periods[max(i, b)]) & (panel.cohort != g)
    if not comparison.any():
        return None
    cell = (panel.cohort == g) | comparison
    early = min(i, b)
    x = np.column_stack([np.ones(cell.sum())]
                        + [v[cell, early] for v in panel.covariates.values()])
    d = (panel.cohort[cell] == g).astype(float)
    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            att, inf = estimator(panel.y[cell, i] - panel.y[cell, b], d, x)
    except Separation:
        raise NotEstimable(
            f"ATT(g={g:g}, t={panel.periods[i]:g}): the covariates "
            f"{', '.join(panel.covariates)} separate the cohort's {int(d.sum())} units from "
            f"their {int((1 - d).sum())} comparison units, so the propensity score of method "
            "'ipw' or 'dr' does not exist; use method 'reg' or fewer covariates") from None
    if not np.isfinite(att):
        return None
    influence = np.zeros(len(panel.units))
    influence[cell] = len(panel.units) / cell.sum() * inf
    return float(att), influence


def att_gt(panel: WidePanel, control_group: str = "never_treated", method: str = "dr",
           base_period: str = "varying") -> GroupTime:
    """Every ATT(g, t) of a balanced panel that has comparison units, with its influence
    function (with the universal base period, ATT(g, g - 1) = 0 is the reference)."""
    rows, columns = [], []
    for g in np.unique(panel.cohort[np.isfinite(panel.cohort)]):
        for i, b in _period_pairs(g, panel.periods, base_period):
            found = (0.0, np.zeros(len(panel.units))) if i == b else _group_time_att(
                panel, g, i, b, control_group, METHODS[method])
            if found:
                rows.append({"group": g, "time": panel.periods[i], "base": panel.periods[b],
                             "att": found[0]})
                columns.append(found[1])
    if not any(r["time"] != r["base"] for r in rows):
        raise NotEstimable(f"no ATT(g, t) has comparison units ({control_group.replace('_', '-')}"
                         f"; {int((~np.isfinite(panel.cohort)).sum())} of "
                         f"{len(panel.units)} units never treated)")
    return GroupTime(pd.DataFrame(rows), np.column_stack(columns), panel.cohort)


# ------------------------------------------------------------------------------ inference

UNCLUSTERED = Codes("none", ())
SE_FLOOR = 1e-8   # a clustered variance below this share of the unclustered one is not one


def variance(influence: np.ndarray, clusters: Codes | None = None) -> np.ndarray:
    """Covariance of the estimates whose influence functions are the columns of ``influence``
    (units x k): the :func:`.variance.meat` of psi over the units' clusters (sum over units of
    psi psi' without) / n^2."""
    return meat(influence, clusters or UNCLUSTERED) / len(influence) ** 2


def pretest(gt: GroupTime, clusters: Codes | None = None) -> dict[str, float]:
    """Wald test that every pre-period ATT(g, t) is zero (the reference cells excluded):
    W, its chi-squared p-value and the number of restrictions."""
    pre = ((gt.table["time"] < gt.table["group"]) & (gt.table["time"] != gt.table["base"])
           ).to_numpy()
    if not pre.any():
        return {}
    names = [str(k) for k in np.flatnonzero(pre)]
    v = variance(gt.influence[:, pre], clusters)
    if np.linalg.eigvalsh(v).min() <= 1e-14 * np.abs(v).max():
        return {}                 # singular, as did's rcond check: no test
    w = wald_test(pd.Series(gt.table["att"].to_numpy()[pre], index=names),
                  pd.DataFrame(v, index=names, columns=names), names)
    return {"W": w["f"] * w["k"], "p": w["p"], "k": float(w["k"])}


def multiplier_critical_value(influence: np.ndarray, cluster: np.ndarray | None, reps: int,
                              seed: int, level: float = 0.95) -> float:
    """The critical value of a uniform band over the columns of ``influence``: the ``level``
    quantile of max |bootstrap estimate / bootstrap standard error| over ``reps`` draws of
    Mammen multipliers, one per cluster (per unit without one, as ``did``'s ``mboot``), each
    estimate's bootstrap standard error its interquartile range over that of the normal."""
    sums = influence
    if cluster is not None:
        sums = np.zeros((cluster.max() + 1, influence.shape[1]))
        np.add.at(sums, cluster, influence)
    rng = np.random.default_rng(seed)
    kappa = (np.sqrt(5) + 1) / 2
    draws = np.where(rng.random((reps, len(sums))) < kappa / np.sqrt(5), 1 - kappa, kappa)
    boot = draws @ sums / len(influence)
    quantile = lambda x, q: np.quantile(x, q, axis=0, method="inverted_cdf")  # noqa: E731
    spread = (quantile(boot, 0.75) - quantile(boot, 0.25)) / (sps.norm.ppf(0.75)
                                                              - sps.norm.ppf(0.25))
    live = spread > 0
    return float(quantile(np.abs(boot[:, live] / spread[live]).max(axis=1), level))


# ------------------------------------------------------------------------------ aggregations

@dataclass
class Aggregation:
    """One aggregation: its elements (``egt`` the group, event time or period; ``att``) with
    their influence functions (units x elements), and the overall ATT with its own."""
    elements: pd.DataFrame
    influence: np.ndarray
    overall: float
    overall_influence: np.ndarray


def _weight_influence(cells: np.ndarray, pg: np.ndarray, gt: GroupTime) -> np.ndarray:
    """The influence of estimating the cohort-size weights pg[cells] / sum(pg[cells]) (``did``'s
    ``wif``): units x cells."""
    groups = gt.table["group"].to_numpy()[cells]
    member = (gt.cohort[:, None] == groups[None, :]).astype(float) - pg[cells][None, :]
    total = pg[cells].sum()
    return member / total - member.sum(axis=1, keepdims=True) * (pg[cells] / total ** 2)[None, :]


def _weighted_mean(gt: GroupTime, cells: np.ndarray, pg: np.ndarray, with_wif: bool = True
                   ) -> tuple[float, np.ndarray]:
    """The pg-weighted mean of the selected ATT(g, t) and its influence function."""
    att = gt.table["att"].to_numpy()
    w = pg[cells] / pg[cells].sum()
    influence = gt.influence[:, cells] @ w
    if with_wif:
        influence = influence + _weight_influence(cells, pg, gt) @ att[cells]
    return float(w @ att[cells]), influence


def aggregate(gt: GroupTime, kind: str, min_e: float = -np.inf, max_e: float = np.inf
              ) -> Aggregation:
    """``simple``, ``group``, ``dynamic`` (event times min_e..max_e) or ``calendar``
    aggregation of ATT(g, t) with cohort-size weights, as ``did``'s ``aggte``."""
    table = gt.table
    g, t = table["group"].to_numpy(), table["time"].to_numpy()
    pg = np.array([np.mean(gt.cohort == x) for x in g])
    post = g <= t
    if kind == "simple":
        att, inf = _weighted_mean(gt, np.flatnonzero(post), pg)
        return Aggregation(pd.DataFrame(columns=["egt", "att"]), np.zeros((len(inf), 0)),
                           att, inf)
    if kind == "dynamic":
        keys, member = np.unique(t - g), lambda e: (t - g) == e
        keys = keys[(keys >= min_e) & (keys <= max_e)]
    elif kind == "group":
        keys, member = np.unique(g), lambda x: (g == x) & post
    elif kind == "calendar":
        keys, member = np.unique(t[t >= g.min()]), lambda x: (t == x) & post
    else:
        raise ValueError(f"unknown aggregation {kind!r}: simple, group, dynamic or calendar")
    parts = [_weighted_mean(gt, np.flatnonzero(member(k)), pg, with_wif=kind != "group")
             for k in keys]
    elements = pd.DataFrame({"egt": keys, "att": [a for a, _ in parts]})
    influence = np.column_stack([i for _, i in parts])
    if kind == "group":            # across groups, weighted by their size
        size = np.array([np.mean(gt.cohort == k) for k in keys])
        overall = GroupTime(elements.rename(columns={"egt": "group"}), influence, gt.cohort)
        att, inf = _weighted_mean(overall, np.arange(len(keys)), size)
    else:                          # the plain mean (of the post-period event times)
        use = keys >= 0 if kind == "dynamic" else np.ones(len(keys), bool)
        att, inf = float(elements["att"][use].mean()), influence[:, use].mean(axis=1)
    return Aggregation(elements, influence, att, inf)


def standard_errors(influence: np.ndarray, clusters: Codes | None = None) -> np.ndarray:
    """The standard errors of the estimates with these influence functions (columns); NaN
    where the variance is not positive (a reference cell), or is a vanishing share of the
    unclustered one (a two-way or dyadic meat, a difference of sums, that cancels to nothing
    or below: one comparison unit whose influence the treated units offset within a city)."""
    psi = influence.reshape(len(influence), -1)
    v = np.diag(variance(psi, clusters))
    return np.sqrt(np.where(v > SE_FLOOR * np.diag(variance(psi)), v, np.nan))


# ------------------------------------------------------------------------------ the kind

def columns(spec: Spec) -> list[str]:
    return [timing.unit(spec), timing.period(spec), timing.cohort(spec)]


def unit_clusters(spec: Spec, data: pd.DataFrame, units: np.ndarray) -> Codes:
    """Cluster codes per unit of the spec's cluster variable(s) (constant within a unit)."""
    names = list(spec.clustering.columns)
    if not names:
        return UNCLUSTERED
    by_unit = data.groupby(timing.unit(spec))[names].first().reindex(units)
    return cluster_codes(by_unit, spec.cluster)


def event_time_effects(gt: GroupTime, spec: Spec, clusters: Codes
                       ) -> tuple[pd.DataFrame, np.ndarray]:
    """The term rows of the dynamic aggregation within the spec's window (the universal base
    period's reference left out) and their influence functions."""
    lo, hi = timing.window(spec) if spec.options.window else (-np.inf, np.inf)
    dynamic = aggregate(gt, "dynamic", lo, hi)
    events = dynamic.elements["egt"]
    shown = ((events != timing.reference(spec)) if spec.options.base_period == "universal"
             else events == events).to_numpy()
    influence = dynamic.influence[:, shown]
    terms = inferred_terms([f"{timing.EVENT_TIME}::{e:g}" for e in events[shown]],
                           events[shown], dynamic.elements["att"][shown],
                           standard_errors(influence, clusters))
    return terms, influence


def leads_test(terms: pd.DataFrame, influence: np.ndarray, clusters: Codes
               ) -> dict[str, float]:
    """Wald test (chi-squared) that every event-time effect before adoption is zero, as the
    table's pre-trend row; none when their covariance is not positive definite (a two-way
    clustered covariance need not be)."""
    leads = (terms["event_time"] < 0).to_numpy()
    v = variance(influence[:, leads], clusters)
    if not leads.any() or np.linalg.eigvalsh(v).min() <= 0:
        return {}
    names = terms["term"][leads].tolist()
    w = wald_test(terms.set_index("term")["estimate"], pd.DataFrame(v, names, names), names)
    return {"pretrend_f": w["f"], "pretrend_p": w["p"], "pretrend_leads": float(w["k"])}


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    opt = spec.options
    panel = wide_panel(data, spec.outcome, timing.unit(spec), timing.period(spec),
                       timing.cohort(spec), list(spec.control_vars))
    gt = att_gt(panel, opt.control_group, opt.method, opt.base_period)
    clusters = unit_clusters(spec, data, panel.units)
    terms, influence = event_time_effects(gt, spec, clusters)
    simple = aggregate(gt, "simple")
    stats = {"att": simple.overall,
             "att_se": float(standard_errors(simple.overall_influence, clusters)[0]),
             "units_dropped": float(panel.dropped), **leads_test(terms, influence, clusters)}
    if opt.base_period == "universal":
        stats["reference_period"] = float(timing.reference(spec))
    group_time = pretest(gt, clusters)
    if group_time:
        stats.update(gt_pretest_w=group_time["W"], gt_pretest_p=group_time["p"])
    if opt.reps:
        stats["uniform_critical_value"] = multiplier_critical_value(
            influence, clusters.arrays[0] if clusters.arrays else None, opt.reps, opt.seed)
    frame = gt.table.assign(std_error=standard_errors(gt.influence, clusters))
    covariates = f", covariates {' + '.join(spec.control_vars)}" if spec.control_vars else ""
    return Estimate(terms=terms, n_obs=int(panel.y.size), formula=(
        f"ATT(g,t) of {spec.outcome}: {opt.method}, {opt.control_group.replace('_', '-')}, "
        f"{opt.base_period} base period{covariates}"),
        n_clusters=clusters.count,
        statistics=stats, frames={"group_time": frame})
