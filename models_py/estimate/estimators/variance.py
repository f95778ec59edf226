"""The middle of a sandwich covariance: sums of outer products of per-row score contributions.

With scores s_i (one row per observation, one column per coefficient or moment), a sandwich
variance is B (meat) B. The meats here carry no small-sample factor (the caller applies the
convention it follows):

- :func:`cluster_sums`: heteroskedasticity-robust (``cluster`` ""; every row its own cluster,
  sum_i s_i s_i'), one-way clustered (sum_g S_g S_g', S_g the sum of cluster g's scores) or
  two-way clustered (``a+b``; Cameron, Gelbach and Miller: meat_a + meat_b - meat_ab);
- :func:`conley_sums`: Conley's spatial HAC within each period,
  sum_t sum_i sum_j K(d_ij) s_it s_jt', with a uniform (K = 1 within the cutoff) or Bartlett
  (K = 1 - d / cutoff) kernel of the great-circle distance d between two units.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

KERNELS = ("uniform", "bartlett")


def _grouped(contributions: np.ndarray, codes: np.ndarray) -> np.ndarray:
    w = np.zeros((codes.max() + 1, contributions.shape[1]))
    np.add.at(w, codes, contributions)
    return w.T @ w


def cluster_sums(contributions: np.ndarray, data: pd.DataFrame, cluster: str
                 ) -> tuple[np.ndarray, float]:
    """The meat of per-row score contributions (n, k) and the number of clusters: the rows
    (NaN clusters) for ``cluster`` "", one cluster variable, or two (``a+b``: V_a + V_b - V_ab,
    the smaller number of clusters)."""
    contributions = np.asarray(contributions, float).reshape(len(data), -1)
    if not cluster:
        return contributions.T @ contributions, float("nan")
    names = [c.strip() for c in cluster.split("+")]
    codes = [pd.factorize(data[c])[0] for c in names]
    if len(codes) == 1:
        return _grouped(contributions, codes[0]), int(codes[0].max() + 1)
    if len(codes) != 2:
        raise ValueError(f"cluster {cluster!r}: one or two cluster variables, got {len(codes)}")
    both = pd.factorize(pd.Series(codes[0]).astype(str) + "_" + pd.Series(codes[1]).astype(str)
                        )[0]
    return (_grouped(contributions, codes[0]) + _grouped(contributions, codes[1])
            - _grouped(contributions, both), int(min(codes[0].max(), codes[1].max()) + 1))


def kernel_weights(distance_km: np.ndarray, cutoff_km: float, kernel: str) -> np.ndarray:
    """Conley kernel weights of a distance matrix: zero beyond the cutoff, 1 (uniform) or
    1 - d / cutoff (Bartlett) within it."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel {kernel!r}: one of {', '.join(KERNELS)}")
    inside = distance_km <= cutoff_km
    return np.where(inside, 1.0 if kernel == "uniform" else 1 - distance_km / cutoff_km, 0.0)


def conley_sums(contributions: np.ndarray, units: np.ndarray, periods: np.ndarray,
                weights: np.ndarray) -> np.ndarray:
    """Conley's meat: sum over periods of S_t' K S_t, with S_t the (units, k) matrix of the
    period's scores (zero for a unit without a row that period) and K the (units, units)
    kernel weights; ``units`` holds each row's index into K."""
    contributions = np.asarray(contributions, float).reshape(len(units), -1)
    k = contributions.shape[1]
    out = np.zeros((k, k))
    for period in np.unique(periods):
        rows = periods == period
        s = np.zeros((weights.shape[0], k))
        np.add.at(s, units[rows], contributions[rows])
        out += s.T @ weights @ s
    return out
