"""Normal draws exactly as R's ``set.seed(seed); rnorm()`` (Mersenne-Twister with R's seed
scrambling, normals by inversion) and ``mvtnorm::rmvnorm``, and the folded-normal quantile of
HonestDiD's 10^6 draws: the simulated parts of the sets (the least-favourable critical value,
the FLCI's half-length) are HonestDiD's to numerical precision."""
from __future__ import annotations

import functools

import numpy as np
from scipy import special

from models_py.estimate.honest_did.constants import FOLDED_SIMS


@functools.lru_cache(maxsize=4)
def r_normals(n: int, seed: int = 0) -> np.ndarray:
    """``set.seed(seed); rnorm(n)`` of R (Mersenne-Twister with R's seed scrambling, normals by
    inversion from two uniforms)."""
    s = seed & 0xFFFFFFFF
    for _ in range(50):
        s = (69069 * s + 1) & 0xFFFFFFFF
    key = np.empty(625, dtype=np.uint32)
    for j in range(625):
        s = (69069 * s + 1) & 0xFFFFFFFF
        key[j] = s
    mt = np.random.MT19937()
    mt.state = {"bit_generator": "MT19937", "state": {"key": key[1:], "pos": 624}}
    u = mt.random_raw(2 * n).astype(np.float64) * 2.3283064365386963e-10
    u = np.clip(u, 0.5 * 2.328306437080797e-10, 1 - 0.5 * 2.328306437080797e-10)
    big = 134217728.0
    return special.ndtri((np.floor(big * u[0::2]) + u[1::2]) / big)


def r_mvnormal(n: int, sigma: np.ndarray, seed: int = 0) -> np.ndarray:
    """``set.seed(seed); mvtnorm::rmvnorm(n, sigma = sigma)`` (eigen square root)."""
    values, vectors = np.linalg.eigh(sigma)
    root = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    return r_normals(n * len(sigma), seed).reshape(n, len(sigma)) @ root


@functools.lru_cache(maxsize=4)
def _sorted_normals(seed: int) -> np.ndarray:
    return np.sort(r_normals(FOLDED_SIMS, seed))


def folded_normal_quantile(p: float, mu: float, seed: int = 0) -> float:
    """The p quantile of |N(mu, 1)| from HonestDiD's 10^6 draws (R's quantile type 7), read
    off the sorted draws: the k-th smallest |z + mu| merges the draws below -mu (descending)
    with those above (ascending), each read in place (no array of 10^6 is built per call)."""
    z = _sorted_normals(seed)
    split = int(np.searchsorted(z, -mu))
    below, above = _Shifted(z[:split][::-1], mu, negate=True), _Shifted(z[split:], mu)
    h = (len(z) - 1) * p
    k = int(np.floor(h))
    low, high = _kth_of_two(below, above, k), _kth_of_two(below, above, min(k + 1, len(z) - 1))
    return float(low + (h - k) * (high - low))


class _Shifted:
    """``values + mu``, or its negative with ``negate``, element by element, without building
    it."""

    def __init__(self, values: np.ndarray, mu: float, negate: bool = False):
        self.values, self.mu, self.negate = values, mu, negate

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i: int) -> float:
        shifted = self.values[i] + self.mu
        return -shifted if self.negate else shifted


def _kth_of_two(a, b, k: int) -> float:
    """The k-th smallest (from 0) of the union of two ascending sequences (bisection on how
    many of the k + 1 smallest come from a)."""
    lo, hi = max(0, k + 1 - len(b)), min(k + 1, len(a))
    while lo < hi:
        i = (lo + hi) // 2          # take i from a, k + 1 - i from b
        if b[k - i] > a[i]:
            lo = i + 1
        else:
            hi = i
    i = lo
    return float(max(a[i - 1] if i > 0 else -np.inf, b[k - i] if k + 1 - i > 0 else -np.inf))
