"""Fixed-effect estimators written with numpy, for the estimands the truth file states.

A study's estimate on the warehouse is its estimator applied to the data; the truth file states
the same estimator applied to the planted part of the outcome (the data minus the same world
without the planted effect), so that the two differ by noise only. These functions compute those
estimands from the generator's own world, independently of ``models_py.estimate``: two-way (or
more) fixed effects by alternating projections on integer codes, OLS and just-identified 2SLS
slopes on the demeaned data, and the imputation estimator's average effect.
"""
from __future__ import annotations

import numpy as np

TOL = 1e-13
MAX_SWEEPS = 10_000


def codes(values) -> np.ndarray:
    """Integer codes 0..k-1 of a sequence of labels."""
    return np.unique(np.asarray(values), return_inverse=True)[1]


def demeaned(x: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """``x`` (n,) or (n, k) minus its projection on the fixed effects of ``groups`` (integer
    codes per row), by alternating projections until no column moves by more than TOL times
    its scale."""
    out = np.array(x, float, copy=True)
    flat = out.ndim == 1
    out = out.reshape(len(out), -1)
    counts = [np.bincount(g) for g in groups]
    scale = np.maximum(np.abs(out).max(axis=0), 1e-300)
    for _ in range(MAX_SWEEPS):
        moved = 0.0
        for g, n in zip(groups, counts):
            means = np.stack([np.bincount(g, out[:, j], len(n)) for j in range(out.shape[1])],
                             axis=1) / np.maximum(n, 1)[:, None]
            out -= means[g]
            moved = max(moved, float((np.abs(means).max(axis=0) / scale).max()))
        if moved < TOL:
            break
    return out[:, 0] if flat else out


def fe_ols(y: np.ndarray, x: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Slopes of y on the columns of x with fixed effects (Frisch-Waugh-Lovell)."""
    x = np.asarray(x, float).reshape(len(y), -1)
    yd, xd = demeaned(y, groups), demeaned(x, groups)
    return np.linalg.lstsq(xd, yd, rcond=None)[0]


def fe_2sls(y: np.ndarray, x: np.ndarray, z: np.ndarray, groups: list[np.ndarray]) -> float:
    """Just-identified 2SLS slope of y on x instrumented by z, with fixed effects."""
    yd, xd, zd = (demeaned(v, groups) for v in (y, x, z))
    return float((zd @ yd) / (zd @ xd))


def imputation_att(y: np.ndarray, treated: np.ndarray, unit: np.ndarray, period: np.ndarray
                   ) -> float:
    """The imputation estimator's average effect: unit and period effects fitted on the
    untreated rows (a unit or period with a single untreated row dropped, repeatedly, as
    fixed-effect regressions drop singletons), the mean of y minus its imputed untreated value
    over the treated rows whose unit and period keep untreated rows."""
    untreated = ~treated
    while True:
        alone = ((np.bincount(unit[untreated], minlength=unit.max() + 1) == 1)[unit]
                 | (np.bincount(period[untreated], minlength=period.max() + 1) == 1)[period])
        if not (alone & untreated).any():
            break
        untreated &= ~alone
    u, p, yu = unit[untreated], period[untreated], y[untreated]
    nu, npd = np.bincount(u, minlength=unit.max() + 1), np.bincount(p, minlength=period.max() + 1)
    alpha, gamma = np.zeros(len(nu)), np.zeros(len(npd))
    for _ in range(MAX_SWEEPS):
        a = np.bincount(u, yu - gamma[p], len(nu)) / np.maximum(nu, 1)
        g = np.bincount(p, yu - a[u], len(npd)) / np.maximum(npd, 1)
        moved = max(np.abs(a - alpha).max(), np.abs(g - gamma).max())
        alpha, gamma = a, g
        if moved < TOL * max(np.abs(yu).max(), 1e-300):
            break
    ok = treated & (nu[unit] > 0) & (npd[period] > 0)
    return float((y[ok] - alpha[unit[ok]] - gamma[period[ok]]).mean()) if ok.any() else 0.0
