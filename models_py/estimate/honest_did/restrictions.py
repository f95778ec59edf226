"""The restrictions on the trend violation delta as moment inequalities A delta <= d:
Delta^SD(M) (smoothness, with or without a sign of the post-period bias) and Delta^RM(Mbar)
(relative magnitudes, one matrix per case of the largest pre-period change), and the moments
that involve a post-period."""
from __future__ import annotations

import numpy as np


def sd_matrix(n_pre: int, n_post: int) -> np.ndarray:
    """A of Delta^SD(M) = {delta: A delta <= M}: second differences of (delta_pre, 0,
    delta_post), both signs."""
    t = n_pre + n_post
    a = np.zeros((t - 1, t + 1))
    for r in range(t - 1):
        a[r, r:r + 3] = (1, -2, 1)
    a = np.delete(a, n_pre, axis=1)
    return np.vstack([a, -a])


SMOOTHNESS = ("sd", "sdpb", "sdnb")   # Delta^SD and with a positive / negative post-period bias


def sd_constraints(n_pre: int, n_post: int, m: float, restriction: str = "sd"
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(A, d) of Delta^SD(M) = {delta: A delta <= d}; ``sdpb``/``sdnb`` add the sign
    restriction delta_post >= 0 / <= 0 (HonestDiD's Delta^SDPB and Delta^SDNB)."""
    a = sd_matrix(n_pre, n_post)
    d = np.full(len(a), float(m))
    if restriction == "sd":
        return a, d
    sign = {"sdpb": -1.0, "sdnb": 1.0}[restriction]
    bias = sign * np.eye(n_pre + n_post)[n_pre:]
    return np.vstack([a, bias]), np.r_[d, np.zeros(n_post)]


def rm_matrix(n_pre: int, n_post: int, mbar: float, s: int, max_positive: bool) -> np.ndarray:
    """A of Delta^RM(Mbar) = {delta: A delta <= 0} given that the largest pre-period change is
    the one ending at relative pre-period s (0 = the change into the reference period, -1 the
    one before, ...) and has the sign ``max_positive``."""
    t = n_pre + n_post
    diffs = np.zeros((t, t + 1))
    for r in range(t):
        diffs[r, r:r + 2] = (-1, 1)
    largest = np.zeros(t + 1)
    largest[n_pre + s - 1:n_pre + s + 1] = (-1, 1)
    if not max_positive:
        largest = -largest
    bound = np.vstack([np.tile(largest, (n_pre, 1)), np.tile(mbar * largest, (n_post, 1))])
    a = np.vstack([diffs - bound, -diffs - bound])
    a = a[(a * a).sum(axis=1) > 1e-10]
    return np.delete(a, n_pre, axis=1)


def post_rows(a: np.ndarray, n_pre: int) -> np.ndarray:
    """The moments that involve a post-period (those that bound theta)."""
    return np.flatnonzero((a[:, n_pre:] != 0).any(axis=1))
