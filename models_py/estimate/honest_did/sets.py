"""The entry points: the confidence set for theta under Delta^RM(Mbar) or Delta^SD(M) by a
method (:func:`confidence_set`, as HonestDiD reports it: the FLCI's ends, else the lowest and
highest accepted point of :func:`theta_grid`; :func:`accepts` tests given thetas), the
breakdown value (:func:`breakdown`: the least Mbar or M at which a set holds zero) and the
usual interval (:func:`original_ci`)."""
from __future__ import annotations

import numpy as np
from scipy import optimize, stats
from threadpoolctl import threadpool_limits

from models_py.estimate.honest_did.conditional import Hybrid, arp_accepts
from models_py.estimate.honest_did.constants import ALPHA, BREAKDOWN_STEPS, GRID_POINTS
from models_py.estimate.honest_did.event_study import EventStudy
from models_py.estimate.honest_did.flci import Flci, flci
from models_py.estimate.honest_did.restrictions import (SMOOTHNESS, post_rows, rm_matrix,
                                                        sd_constraints)


def _sd_identified(es: EventStudy, m: float, restriction: str) -> tuple[float, float]:
    """The identified set of theta under Delta^SD(M) when beta = 0 (the grid's centre)."""
    a, d = sd_constraints(es.n_pre, es.n_post, m, restriction)
    obj = np.r_[np.zeros(es.n_pre), es.l_vec]
    eq = np.c_[np.eye(es.n_pre), np.zeros((es.n_pre, es.n_post))]
    ends = []
    for sign in (1, -1):
        res = optimize.linprog(sign * obj, A_ub=a, b_ub=d, A_eq=eq,
                               b_eq=np.zeros(es.n_pre), bounds=[(None, None)] * len(obj),
                               method="highs")
        ends.append(sign * res.fun)
    return -ends[1], -ends[0]


def accepts(es: EventStudy, restriction: str, value: float, method: str, grid: np.ndarray,
            alpha: float = ALPHA, seed: int = 0, first: Flci | None = None) -> np.ndarray:
    """Which theta of ``grid`` the confidence set under Delta^RM(Mbar = value) (``"rm"``) or
    Delta^SD(M = value) (``"sd"``, or ``"sdpb"``/``"sdnb"`` with a sign restriction) holds, by
    ``method``: ``conditional`` or ``hybrid`` (the FLCI first stage for Delta^SD, the
    least-favourable one for Delta^RM), or ``flci`` (Delta^SD; the FLCI ignores a sign
    restriction, as HonestDiD's). ``first``: the FLCI at alpha / 10 of the Delta^SD hybrid,
    when known."""
    if restriction in SMOOTHNESS and method == "flci":
        first = flci(es, value, alpha, seed)
        return np.abs(grid - first.center) <= first.halflength
    if method not in ("conditional", "hybrid"):
        raise ValueError(f"method {method!r}: expected conditional or hybrid"
                         + (" or flci" if restriction in SMOOTHNESS else ""))
    if es.n_post < 2:
        raise ValueError("the conditional sets need two or more post-periods")
    if restriction in SMOOTHNESS:
        return _sd_accepts(es, value, restriction, method, grid, alpha, seed, first)
    if restriction != "rm":
        raise ValueError(f"restriction {restriction!r}: expected rm, sd, sdpb or sdnb")
    accept = np.zeros(len(grid), dtype=bool)
    for s in range(-(es.n_pre - 1), 1):     # the union over where the largest change is
        for positive in (True, False):
            a = rm_matrix(es.n_pre, es.n_post, value, s, positive)
            hybrid = Hybrid("LF" if method == "hybrid" else "ARP", alpha / 10)
            open_ = ~accept     # a theta another case accepts is in the union already
            accept[open_] = arp_accepts(es, a, np.zeros(len(a)), grid[open_], alpha, hybrid,
                                        post_rows(a, es.n_pre), seed)
            if accept.all():
                return accept
    return accept


def _sd_accepts(es: EventStudy, m: float, restriction: str, method: str, grid: np.ndarray,
                alpha: float, seed: int, first: Flci | None) -> np.ndarray:
    a, d = sd_constraints(es.n_pre, es.n_post, m, restriction)
    hybrid = Hybrid("ARP")
    if method == "hybrid":
        first = first or flci(es, m, alpha / 10, seed)
        vbar = np.linalg.lstsq(a.T, first.weights, rcond=None)[0]
        hybrid = Hybrid("FLCI", alpha / 10, vbar=vbar, flci_halflength=first.halflength)
    return arp_accepts(es, a, d, grid, alpha, hybrid, post_rows(a, es.n_pre), seed)


def theta_grid(es: EventStudy, restriction: str, value: float, method: str,
               grid_points: int = GRID_POINTS, alpha: float = ALPHA, seed: int = 0
               ) -> tuple[np.ndarray, Flci | None]:
    """HonestDiD's grid of theta for a conditional or hybrid set: +-20 standard errors of theta
    around 0 for Delta^RM; for Delta^SD the hybrid's first-stage FLCI (returned too), else the
    identified set at beta = 0 widened by 20 standard errors."""
    first = None
    if restriction == "rm":
        lo, hi = -20 * es.theta_se, 20 * es.theta_se
    elif method == "hybrid":
        first = flci(es, value, alpha / 10, seed)
        lo, hi = first.interval
    else:
        id_lo, id_hi = _sd_identified(es, value, restriction)
        lo, hi = id_lo - 20 * es.theta_se, id_hi + 20 * es.theta_se
    return np.linspace(lo, hi, grid_points), first


@threadpool_limits.wrap(limits=1, user_api="blas")  # small matrices: threads only contend
def confidence_set(es: EventStudy, restriction: str, value: float, method: str,
                   grid_points: int = GRID_POINTS, refine: int = 0, alpha: float = ALPHA,
                   seed: int = 0) -> tuple[float, float]:
    """The confidence set for theta (:func:`accepts`) as HonestDiD reports it: the FLCI's own
    ends, else the lowest and highest accepted point of :func:`theta_grid` (NaN when none
    is). ``refine`` > 0 bisects each end that many times between its grid point and the
    rejected one outside it (a coarse grid then resolves the ends as a fine one would, at a
    fraction of the tests)."""
    if restriction in SMOOTHNESS and method == "flci":
        return flci(es, value, alpha, seed).interval
    grid, first = theta_grid(es, restriction, value, method, grid_points, alpha, seed)

    def test(thetas: np.ndarray) -> np.ndarray:
        return accepts(es, restriction, value, method, thetas, alpha, seed, first)

    accept = np.flatnonzero(test(grid))
    if not accept.size:
        return np.nan, np.nan
    ends = [grid[accept[0]], grid[accept[-1]]]
    for k, (inside, outside) in enumerate(((accept[0], accept[0] - 1),
                                           (accept[-1], accept[-1] + 1))):
        if refine and 0 <= outside < grid_points:
            ends[k] = _bisect_end(test, grid[inside], grid[outside], refine)
    return float(ends[0]), float(ends[1])


def _bisect_end(test, inside: float, outside: float, steps: int) -> float:
    """The end of an accepted region between an accepted and a rejected theta."""
    for _ in range(steps):
        mid = (inside + outside) / 2
        if test(np.array([mid]))[0]:
            inside = mid
        else:
            outside = mid
    return inside


@threadpool_limits.wrap(limits=1, user_api="blas")
def breakdown(es: EventStudy, restriction: str, method: str, start: float,
              alpha: float = ALPHA, steps: int = BREAKDOWN_STEPS, seed: int = 0) -> float:
    """The breakdown value: the least Mbar (M) at which the confidence set holds theta = 0
    (the sets grow with Mbar and M). From ``start``, doubled until the set holds zero (inf
    when it still does not after 20 doublings), then bisected ``steps`` times: to 2^-steps of
    the bracket. 0 when the set holds zero at 0."""
    def holds_zero(value: float) -> bool:
        return bool(accepts(es, restriction, value, method, np.zeros(1), alpha, seed)[0])

    if holds_zero(0.0):
        return 0.0
    lo, hi = 0.0, start
    for _ in range(20):
        if holds_zero(hi):
            break
        lo, hi = hi, 2 * hi
    else:
        return np.inf
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if holds_zero(mid) else (mid, hi)
    return hi


def original_ci(es: EventStudy, alpha: float = ALPHA) -> tuple[float, float]:
    """The usual confidence interval for theta (parallel trends exact)."""
    z = stats.norm.ppf(1 - alpha / 2)
    return es.theta - z * es.theta_se, es.theta + z * es.theta_se
