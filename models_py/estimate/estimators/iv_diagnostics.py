"""Instrument strength, identification and weak-instrument-robust inference of a 2SLS fit with
one endogenous regressor d, L excluded instruments Z, k controls and fixed effects.

Everything is computed on the rows pyfixest fits (singletons of a fixed effect dropped), on y,
d and Z partialled on the controls and the fixed effects (demeaned by the fixed effects, then
residualized on the demeaned controls; a constant when there are no fixed effects): ỹ, d̃, Z̃. The first stage is d̃ = Z̃ pi + u. Three variance conventions appear:

- **The spec's variance** (HC1 without a cluster, CRV1 one- or two-way with one): the meat
  (:func:`.variance.cluster_sums`) times pyfixest's small-sample factor of the first-stage
  regression (read from that fit), tests against F(L, df) with pyfixest's df (G - 1 clustered,
  N - K otherwise). It gives
  ``first_stage_f`` = pi' V^-1 pi / L, the robust first-stage F;
  ``effective_f``, Montiel Olea and Pflueger's effective F, pi' Q pi / tr(V Q) with
  Q = Z̃'Z̃ (equal to the first-stage F with one instrument);
  and the Anderson-Rubin test of beta = b0: the Wald F of Z̃ in the regression of ỹ - b0 d̃ on
  Z̃ (``ar_p`` at b0 = 0), whose acceptance region at 5% is the AR confidence set
  [``ar_low``, ``ar_high``] (analytic with one instrument, where it is an interval, the whole
  line (-inf, inf) or the union of two rays, reported as ``ar_low`` > ``ar_high``: the set is
  (-inf, ar_high] with [ar_low, inf); with several instruments the hull of the accepted points
  of a grid, refined at its edges).
- **ivreghdfe's convention** for the Kleibergen-Paap rk statistics (ranktest: no small-sample
  factor in the meat): ``kp_wald`` = pi' V0^-1 pi with V0 = (Z̃'Z̃)^-1 meat(Z̃ u) (Z̃'Z̃)^-1,
  the rk Wald statistic with one endogenous regressor, and its F as ivreghdfe scales it,
  ``kp_f`` = kp_wald / L * (N - L - k - a) / N without clusters and
  kp_wald / L * (N - L - k - a) / (N - 1) * (G - 1) / G with G clusters (the smaller
  dimension of two), where a counts the absorbed degrees of freedom as reghdfe does
  (:func:`absorbed_dof`); ``kp_lm``, the rk LM underidentification statistic,
  (Z̃'d̃)' meat(Z̃ d̃)^-1 (Z̃'d̃) with the first stage's residual under pi = 0, chi2 with L
  degrees of freedom (``kp_lm_p``).
- **Hansen's J** (overidentified only, L > 1) as ivreg2 reports it for a robust 2SLS fit: the
  two-step efficient GMM objective, with the meat of the 2SLS residuals as weight,
  J = (Z̃'e)' meat^-1 (Z̃'e) at the two-step estimate, chi2 with L - 1 degrees of freedom
  (``hansen_j``, ``hansen_j_p``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

from models_py.estimate import pyfixest_model
from models_py.estimate.estimators import ols, variance, within
from models_py.estimate.study import Spec, clustering

LEVEL = 0.95
GRID_POINTS = 2001      # AR set with several instruments: grid over beta_2SLS +- GRID_WIDTH se
GRID_WIDTH = 50.0


@dataclass
class Partialled:
    """y, d and Z partialled on the controls and fixed effects, and the first stage on them."""
    y: np.ndarray
    d: np.ndarray
    z: np.ndarray
    pi: np.ndarray          # first-stage coefficients of the instruments
    bread: np.ndarray       # (Z̃'Z̃)^-1


def partialled(data: pd.DataFrame, outcome: str, endogenous: str, instruments: list[str],
               controls: list[str], fixed_effects: list[str]) -> Partialled:
    """ỹ, d̃, Z̃ and the first stage (module doc)."""
    stacked = data[[outcome, endogenous, *instruments, *controls]].to_numpy(float)
    if fixed_effects:
        stacked = within.demeaned(stacked, within.fixed_effect_codes(data, fixed_effects))
    else:
        stacked = stacked - stacked.mean(axis=0)
    head, x = stacked[:, :2 + len(instruments)], stacked[:, 2 + len(instruments):]
    if x.shape[1]:
        head = head - x @ np.linalg.lstsq(x, head, rcond=None)[0]
    y, d, z = head[:, 0], head[:, 1], head[:, 2:]
    bread = np.linalg.inv(z.T @ z)
    return Partialled(y, d, z, bread @ z.T @ d, bread)


def absorbed_dof(data: pd.DataFrame, fixed_effects: list[str], cluster: str) -> int:
    """The degrees of freedom the fixed effects absorb, counted as reghdfe counts them for
    ivreghdfe's small-sample scaling: every level of the first fixed effect, one less for each
    later one (assuming connected levels), none for a fixed effect nested in a cluster
    variable; at least 1 (the constant)."""
    clusters = clustering(cluster).columns
    total = 0
    for k, name in enumerate(fixed_effects):
        nested = any(data.groupby(name)[c].nunique().max() == 1 for c in clusters)
        if not nested:
            total += data[name].nunique() - (1 if k else 0)
    return max(total, 1)


def _meat(scores: np.ndarray, data: pd.DataFrame, cluster: str) -> np.ndarray:
    return variance.cluster_sums(scores, data, cluster)[0]


def kleibergen_paap(p: Partialled, data: pd.DataFrame, cluster: str, controls: int,
                    absorbed: int) -> dict[str, float]:
    """rk Wald, its F and the rk LM test in ivreghdfe's convention (module doc)."""
    n, L = p.z.shape
    u = p.d - p.z @ p.pi
    meat, clusters = variance.cluster_sums(p.z * u[:, None], data, cluster)
    wald = float(p.pi @ np.linalg.solve(p.bread @ meat @ p.bread, p.pi))
    scale = (n - L - controls - absorbed) / n if not cluster else \
        (n - L - controls - absorbed) / (n - 1) * (clusters - 1) / clusters
    score = p.z.T @ p.d
    lm = float(score @ np.linalg.solve(_meat(p.z * p.d[:, None], data, cluster), score))
    return {"kp_wald": wald, "kp_f": wald / L * scale, "kp_lm": lm,
            "kp_lm_p": float(sps.chi2.sf(lm, L))}


def hansen_j(p: Partialled, data: pd.DataFrame, cluster: str) -> dict[str, float]:
    """Hansen's J of the two-step efficient GMM estimate (module doc); {} unless L > 1."""
    L = p.z.shape[1]
    if L < 2:
        return {}
    zd, zy = p.z.T @ p.d, p.z.T @ p.y
    beta_2sls = float(zd @ p.bread @ zy / (zd @ p.bread @ zd))
    e = p.y - beta_2sls * p.d
    weight = np.linalg.inv(_meat(p.z * e[:, None], data, cluster))
    beta = float(zd @ weight @ zy / (zd @ weight @ zd))
    moments = p.z.T @ (p.y - beta * p.d)
    j = float(moments @ weight @ moments)
    return {"hansen_j": j, "hansen_j_p": float(sps.chi2.sf(j, L - 1))}


def _quadratic_set(a: float, b: float, c: float) -> tuple[float, float]:
    """{beta: a beta^2 + b beta + c <= 0} as (low, high): an interval, (-inf, inf), or the
    union of two rays as low > high (module doc)."""
    disc = b * b - 4 * a * c
    if a > 0:
        if disc < 0:
            return np.nan, np.nan     # empty (only through rounding: the 2SLS point passes)
        r = np.sqrt(disc)
        return (-b - r) / (2 * a), (-b + r) / (2 * a)
    if disc <= 0 or a == 0:
        return -np.inf, np.inf
    r = np.sqrt(disc)
    roots = sorted([(-b - r) / (2 * a), (-b + r) / (2 * a)])
    return roots[1], roots[0]


class AndersonRubin:
    """The AR statistic as a function of beta0 with the spec's variance (module doc)."""

    def __init__(self, p: Partialled, data: pd.DataFrame, cluster: str, ssc: float,
                 df: float):
        self.a = p.bread @ p.z.T @ p.y               # reduced form of y on Z̃
        self.pi = p.pi
        ry, rd = p.y - p.z @ self.a, p.d - p.z @ p.pi
        sy, sd = p.z * ry[:, None], p.z * rd[:, None]
        both = _meat(np.column_stack([sy, sd]), data, cluster)
        L = p.z.shape[1]
        scale = lambda m: ssc * p.bread @ m @ p.bread      # noqa: E731
        self.v_yy, self.v_dd = scale(both[:L, :L]), scale(both[L:, L:])
        self.v_yd = scale((both[:L, L:] + both[L:, :L]) / 2)
        self.L, self.df = L, df
        self.critical = float(sps.f.ppf(LEVEL, L, df))

    def f(self, beta: float) -> float:
        diff = self.a - beta * self.pi
        v = self.v_yy - 2 * beta * self.v_yd + beta ** 2 * self.v_dd
        return float(diff @ np.linalg.solve(v, diff)) / self.L

    def p(self, beta: float) -> float:
        return float(sps.f.sf(self.f(beta), self.L, self.df))

    def confidence_set(self, center: float, se: float) -> tuple[float, float]:
        if self.L == 1:
            c = self.critical
            a, pi = float(self.a[0]), float(self.pi[0])
            vyy, vyd, vdd = (float(m[0, 0]) for m in (self.v_yy, self.v_yd, self.v_dd))
            return _quadratic_set(pi * pi - c * vdd, -2 * (a * pi - c * vyd), a * a - c * vyy)
        grid = center + se * np.linspace(-GRID_WIDTH, GRID_WIDTH, GRID_POINTS)
        accepted = np.flatnonzero([self.f(b) <= self.critical for b in grid])
        if not len(accepted):
            return np.nan, np.nan
        edge = lambda i, j: optimize.brentq(                 # noqa: E731
            lambda b: self.f(b) - self.critical, grid[i], grid[j])
        low = -np.inf if accepted[0] == 0 else edge(accepted[0] - 1, accepted[0])
        high = np.inf if accepted[-1] == len(grid) - 1 else edge(accepted[-1], accepted[-1] + 1)
        return low, high


def first_stage_fit(data: pd.DataFrame, spec: Spec, endogenous: str, instruments: list[str]):
    """The first stage with the spec's variance (pyfixest ``feols``)."""
    rhs = " + ".join([*instruments, *spec.control_vars])
    fe = " + ".join(spec.fixed_effects)
    return ols.feols(f"{endogenous} ~ {rhs}" + (f" | {fe}" if fe else ""), data, spec)


def statistics(data: pd.DataFrame, spec: Spec, endogenous: str, instruments: list[str],
               beta: float, se: float) -> dict[str, float]:
    """Every statistic of the module doc for a 2SLS estimate ``beta`` (standard error
    ``se``) of the effect of ``endogenous``."""
    controls, fe = list(spec.control_vars), list(spec.fixed_effects)
    data = within.without_singletons(data, fe)
    p = partialled(data, spec.outcome, endogenous, instruments, controls, fe)
    first = first_stage_fit(data, spec, endogenous, instruments)
    ssc, df = pyfixest_model.small_sample_factor(first), pyfixest_model.df_t(first)
    u = p.d - p.z @ p.pi
    v = ssc * p.bread @ _meat(p.z * u[:, None], data, spec.cluster) @ p.bread
    q = p.z.T @ p.z
    L = len(instruments)
    out = {"first_stage_coef": float(p.pi[0]),
           "first_stage_f": float(p.pi @ np.linalg.solve(v, p.pi)) / L,
           "effective_f": float(p.pi @ q @ p.pi / np.trace(v @ q))}
    out.update(kleibergen_paap(p, data, spec.cluster, len(controls),
                               absorbed_dof(data, fe, spec.cluster)))
    out.update(hansen_j(p, data, spec.cluster))
    ar = AndersonRubin(p, data, spec.cluster, ssc, df)
    out["ar_p"] = ar.p(0.0)
    out["ar_low"], out["ar_high"] = ar.confidence_set(beta, se)
    return out
