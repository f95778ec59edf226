"""The middle of a sandwich covariance: sums of outer products of per-row score contributions.

With scores s_i (one row per observation, one column per coefficient or moment), a sandwich
variance is B (meat) B. The meats here carry no small-sample factor (the caller applies the
convention it follows):

- :func:`cluster_sums` (:func:`meat` of :func:`cluster_codes`): heteroskedasticity-robust
  (``cluster`` ""), one-way, two-way (``a+b``) or dyadic (``dyadic(a, b)``) clustered;
- :func:`conley_sums`: Conley's spatial HAC within each period,
  sum_t sum_i sum_j K(d_ij) s_it s_jt', with a uniform (K = 1 within the cutoff) or Bartlett
  (K = 1 - d / cutoff) kernel of the great-circle distance d between two units.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models_py.estimate.study import clustering

KERNELS = ("uniform", "bartlett")


def _grouped(contributions: np.ndarray, codes: np.ndarray) -> np.ndarray:
    w = np.zeros((codes.max() + 1, contributions.shape[1]))
    np.add.at(w, codes, contributions)
    return w.T @ w


@dataclass(frozen=True)
class Codes:
    """The clusters of each row: a :class:`.Clustering` kind and one integer code array per
    cluster column (for "dyadic", both columns coded on one set of members)."""
    kind: str
    arrays: tuple[np.ndarray, ...]

    @property
    def count(self) -> float:
        """Clusters: NaN without, the smaller number of a two-way clustering, the members of a
        dyadic one."""
        if self.kind == "none":
            return float("nan")
        sizes = [int(a.max()) + 1 for a in self.arrays]
        return float(max(sizes) if self.kind == "dyadic" else min(sizes))


def cluster_codes(data: pd.DataFrame, cluster: str) -> Codes:
    """The rows' cluster codes for a spec's ``cluster`` (:func:`.study.clustering`)."""
    c = clustering(cluster)
    if c.kind == "dyadic":
        a, b = (data[n].to_numpy() for n in c.columns)
        codes = pd.factorize(np.concatenate([a, b]))[0]
        return Codes("dyadic", (codes[:len(a)], codes[len(a):]))
    return Codes(c.kind, tuple(pd.factorize(data[n])[0] for n in c.columns))


def meat(contributions: np.ndarray, codes: Codes) -> np.ndarray:
    """sum over every two rows i, j that share a cluster of s_i s_j':

    - "none": sum_i s_i s_i';
    - "one-way": sum_g S_g S_g' (S_g the sum of cluster g's rows);
    - "two-way": meat_a + meat_b - meat_ab (Cameron, Gelbach and Miller);
    - "dyadic": rows that share a member in either role, sum_m A_m A_m' - sum_p P_p P_p'
      (A_m the sum of the rows member m is in, as a or as b; P_p the sum of the rows of the
      pair p, which share both members and so are counted twice in the first sum): Cameron and
      Miller's dyadic-robust meat (Aronow, Samii and Assenova's decomposition).
    """
    contributions = np.asarray(contributions, float).reshape(len(contributions), -1)
    if codes.kind == "none":
        return contributions.T @ contributions
    if codes.kind == "one-way":
        return _grouped(contributions, codes.arrays[0])
    a, b = codes.arrays
    both = pd.factorize(pd.Series(a).astype(str) + "_" + pd.Series(b).astype(str))[0]
    if codes.kind == "two-way":
        return _grouped(contributions, a) + _grouped(contributions, b) \
            - _grouped(contributions, both)
    members = np.zeros((int(max(a.max(), b.max())) + 1, contributions.shape[1]))
    np.add.at(members, a, contributions)
    np.add.at(members, b, contributions)
    pair = pd.factorize(pd.Series(np.minimum(a, b)).astype(str) + "_"
                        + pd.Series(np.maximum(a, b)).astype(str))[0]
    return members.T @ members - _grouped(contributions, pair)


def cluster_sums(contributions: np.ndarray, data: pd.DataFrame, cluster: str
                 ) -> tuple[np.ndarray, float]:
    """The meat of per-row score contributions (n, k) and the number of clusters (NaN without):
    :func:`meat` of the rows' :func:`cluster_codes`."""
    codes = cluster_codes(data, cluster)
    return meat(np.asarray(contributions, float).reshape(len(data), -1), codes), codes.count


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
