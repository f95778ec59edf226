"""Goodman-Bacon (2021) decomposition of the two-way fixed-effects DID estimate.

On a balanced panel with staggered, absorbing treatment (D_it = 1 from a unit's cohort on) and
unit and period fixed effects, the TWFE coefficient on D is a weighted average of every 2x2 DID
between two timing groups, of three types:

- ``treated vs never treated``: cohort k against the never-treated units, all periods;
- ``earlier vs later treated``: an earlier cohort k against a later cohort l while l is not yet
  treated (periods before l);
- ``later vs earlier treated``: the later cohort l against the earlier cohort k once k is
  treated (periods from k on): the comparison that biases TWFE when effects change over time.

With n_k the share of units in group k, D_k the share of periods it is treated and V the
variance of D net of unit and period means, the weights are (Goodman-Bacon's eq. 10)
s_kU = (n_k + n_U)^2 n_kU (1 - n_kU) D_k (1 - D_k) / V, s^k_kl = ((n_k + n_l)(1 - D_l))^2
n_kl (1 - n_kl) (D_k - D_l)/(1 - D_l) (1 - D_k)/(1 - D_l) / V and s^l_kl = ((n_k + n_l) D_k)^2
n_kl (1 - n_kl) (D_l / D_k) (D_k - D_l)/D_k / V, with n_ab = n_a / (n_a + n_b); they sum to
one and the weighted sum of the 2x2 estimates is the TWFE coefficient. The panel is the one
the Callaway–Sant'Anna kind uses (units observed in every period, none treated in the first;
:func:`.callaway_santanna.wide_panel`); controls are not part of this decomposition.

Terms: one per comparison type, its weighted mean estimate; statistics ``twfe`` (the weighted
sum) and ``weight_<type>``; frames ``comparisons`` (every 2x2) and ``summary`` (by type, and a
last row: the TWFE estimate).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from models_py.estimate.estimators import callaway_santanna, timing
from models_py.estimate.study import Spec
from models_py.estimate.tidy import TERM_COLUMNS, Estimate

LABEL = "Goodman-Bacon decomposition"
NEVER, EARLIER, LATER = ("treated vs never treated", "earlier vs later treated",
                         "later vs earlier treated")
TOTAL = "TWFE (weighted sum)"


class Options(timing.Panel):
    """No options beyond the panel's."""


def columns(spec: Spec) -> list[str]:
    return [timing.unit(spec), timing.period(spec), timing.cohort(spec)]


def treatment_variance(cohort: np.ndarray, periods: np.ndarray) -> float:
    """The variance of D_it net of unit and period means (the TWFE denominator over NT)."""
    d = (periods[None, :] >= cohort[:, None]).astype(float)
    net = d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + d.mean()
    return float((net ** 2).mean())


def _did(treated: np.ndarray, control: np.ndarray, pre: np.ndarray, post: np.ndarray) -> float:
    """A 2x2 DID of two groups' mean outcome paths over the periods ``pre`` and ``post``."""
    return float((treated[post].mean() - treated[pre].mean())
                 - (control[post].mean() - control[pre].mean()))


def decompose(panel: callaway_santanna.WidePanel) -> pd.DataFrame:
    """Every 2x2 comparison of a balanced panel: type, treated and control cohort (inf: never
    treated), estimate and weight."""
    periods, cohort = panel.periods, panel.cohort
    groups = np.unique(cohort)
    share = {g: float(np.mean(cohort == g)) for g in groups}
    treated_share = {g: float(np.mean(periods >= g)) for g in groups}
    path = {g: panel.y[cohort == g].mean(axis=0) for g in groups}
    v = treatment_variance(cohort, periods)
    rows = []
    for k in groups[np.isfinite(groups)]:
        nk, dk = share[k], treated_share[k]
        for other in groups[groups > k]:
            nl, dl = share[other], treated_share[other]
            pair = nk / (nk + nl) * (1 - nk / (nk + nl))
            before = periods < other
            if not np.isfinite(other):
                rows.append((NEVER, k, other, _did(path[k], path[other], periods < k,
                                                   periods >= k),
                             (nk + nl) ** 2 * pair * dk * (1 - dk) / v))
                continue
            rows.append((EARLIER, k, other,
                         _did(path[k], path[other], before & (periods < k),
                              before & (periods >= k)),
                         ((nk + nl) * (1 - dl)) ** 2 * pair * (dk - dl) / (1 - dl)
                         * (1 - dk) / (1 - dl) / v))
            after = periods >= k
            rows.append((LATER, other, k,
                         _did(path[other], path[k], after & before, after & ~before),
                         ((nk + nl) * dk) ** 2 * pair * (dl / dk) * (dk - dl) / dk / v))
    return pd.DataFrame(rows, columns=["type", "treated", "control", "estimate", "weight"])


def summary(comparisons: pd.DataFrame) -> pd.DataFrame:
    """By comparison type: the number of 2x2s, their total weight and weighted mean estimate."""
    by = comparisons.assign(product=comparisons["estimate"] * comparisons["weight"]).groupby(
        "type", sort=False)
    out = pd.DataFrame({"comparisons": by.size(), "weight": by["weight"].sum(),
                        "estimate": by["product"].sum() / by["weight"].sum()})
    return out.reset_index()


def with_total(types: pd.DataFrame, twfe: float) -> pd.DataFrame:
    """The summary by type with a last row, the TWFE estimate: every comparison, weight one."""
    total = pd.DataFrame({"type": [TOTAL], "comparisons": [int(types["comparisons"].sum())],
                          "weight": [float(types["weight"].sum())], "estimate": [twfe]})
    return pd.concat([types, total], ignore_index=True)


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    if spec.control_vars:
        raise ValueError("the Goodman-Bacon decomposition is of the TWFE estimate without "
                         f"controls; set `controls: []` (got {', '.join(spec.control_vars)})")
    panel = callaway_santanna.wide_panel(data, spec.outcome, timing.unit(spec),
                                         timing.period(spec), timing.cohort(spec))
    comparisons = decompose(panel)
    types = summary(comparisons)
    terms = pd.DataFrame({"term": types["type"], "estimate": types["estimate"]}).reindex(
        columns=TERM_COLUMNS)
    twfe = float((comparisons["estimate"] * comparisons["weight"]).sum())
    stats = {"twfe": twfe, "units_dropped": float(panel.dropped),
             **{f"weight_{t.split()[0]}": float(w) for t, w in zip(types["type"],
                                                                   types["weight"])}}
    shown = comparisons.replace({"control": {np.inf: np.nan}})
    return Estimate(terms=terms, n_obs=int(panel.y.size),
                    formula=f"{spec.outcome} ~ D | {timing.unit(spec)} + {timing.period(spec)}",
                    statistics=stats, frames={"comparisons": shown,
                                              "summary": with_total(types, twfe)})
