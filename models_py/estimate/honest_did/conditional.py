"""Andrews, Roth and Pakes' conditional test of the moment inequalities with the post-period
violations as nuisance parameters, and its hybrids with a first stage of size kappa (the
least-favourable critical value, or the FLCI's moments): :func:`arp_rejects` tests one theta,
:func:`arp_accepts` a grid of them. The linear programs are solved by HiGHS."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import optimize, sparse, special, stats

from models_py.estimate.honest_did.constants import ALPHA, LF_SIMS, TOL_BISECTION, TOL_LAMBDA
from models_py.estimate.honest_did.event_study import EventStudy
from models_py.estimate.honest_did.normals import r_mvnormal


def _eta_lp(y: np.ndarray, x: np.ndarray, sd: np.ndarray):
    """min eta s.t. y - x delta <= eta * sd: (eta, Lagrange multipliers) or None."""
    k = x.shape[1]
    res = optimize.linprog(np.r_[1.0, np.zeros(k)], A_ub=-np.column_stack([sd, x]), b_ub=-y,
                           bounds=[(None, None)] * (k + 1), method="highs")
    if res.status != 0:
        return None
    return res.fun, -res.ineqlin.marginals


def least_favorable_cv(x: np.ndarray, sigma: np.ndarray, kappa: float, seed: int = 0) -> float:
    """The 1 - kappa quantile of the LP statistic eta under the least favourable null
    (y ~ N(0, sigma)), ARP section 6.2 (remembered: the same moments ask it at every theta)."""
    return _least_favorable_cv(x.tobytes(), x.shape, sigma.tobytes(), kappa, seed)


@functools.lru_cache(maxsize=256)
def _least_favorable_cv(x_bytes: bytes, shape: tuple[int, int], sigma_bytes: bytes,
                        kappa: float, seed: int) -> float:
    """The draws' LPs are independent blocks of one LP (the sum of the etas is least where
    each is), solved at once."""
    x = np.frombuffer(x_bytes).reshape(shape)
    sigma = np.frombuffer(sigma_bytes).reshape(shape[0], shape[0])
    draws = r_mvnormal(LF_SIMS, sigma, seed)
    sd = np.sqrt(np.clip(np.diag(sigma), 0, None))
    block = -np.column_stack([sd, x])
    width = block.shape[1]
    res = optimize.linprog(np.tile(np.r_[1.0, np.zeros(width - 1)], LF_SIMS),
                           A_ub=sparse.kron(sparse.eye(LF_SIMS), block, format="csr"),
                           b_ub=-draws.ravel(), bounds=[(None, None)] * (width * LF_SIMS),
                           method="highs")
    if res.status == 0:
        etas = res.x[::width]
    else:   # some draw's LP fails: solve them one by one and leave those out, as HonestDiD
        etas = [sol[0] for xi in draws if (sol := _eta_lp(xi, x, sd)) is not None]
    return float(np.quantile(etas, 1 - kappa))


def _is_solution(c: float, s_t, b, w_t) -> tuple[bool, np.ndarray | None]:
    """Whether c is a fixed point of max_x (s_T + b c)' x s.t. W_T' x = e1, x >= 0."""
    if not np.isfinite(c):
        return False, None
    res = optimize.linprog(-(s_t + b * c), A_eq=w_t.T,
                           b_eq=np.r_[1.0, np.zeros(w_t.shape[1] - 1)], method="highs")
    if res.status != 0:
        return False, None
    return abs(c + res.fun) <= TOL_BISECTION, res.x


def _vlo_vup_dual(eta: float, s_t, gamma, sigma, w_t) -> tuple[float, float]:
    """Truncation points of the LP statistic by the bisection of ARP's Appendix D."""
    var = float(gamma @ sigma @ gamma)
    b = sigma @ gamma / var
    sd_b = np.sqrt(var)
    ok, _ = _is_solution(eta, s_t, b, w_t)
    if not ok:
        return eta, np.inf

    def bound(start: float, upper: bool) -> float:
        ok, x = _is_solution(start, s_t, b, w_t)
        if ok:
            return np.inf if upper else -np.inf
        mid = _fixed_point(x, s_t, b)
        iters, dif = 1, 0.0
        while not (res := _is_solution(mid, s_t, b, w_t))[0]:
            iters += 1
            if iters >= 10:
                dif = TOL_BISECTION + 1
                break
            mid = _fixed_point(res[1], s_t, b)
        if not np.isfinite(mid):    # an LP failed: bisect from the start, not a solution
            mid, dif = start, TOL_BISECTION + 1
        lo, hi = (eta, mid) if upper else (mid, eta)
        while dif > TOL_BISECTION and iters < 10000:
            iters += 1
            mid = (lo + hi) / 2
            inside = _is_solution(mid, s_t, b, w_t)[0]
            if inside == upper:
                lo = mid
            else:
                hi = mid
            dif = hi - lo
        return mid

    return (bound(min(-100.0, eta - 20 * sd_b), upper=False),
            bound(max(100.0, eta + 20 * sd_b), upper=True))


def _fixed_point(x: np.ndarray | None, s_t, b) -> float:
    if x is None:
        return np.nan
    num = x @ s_t
    num = 0.0 if abs(num) < np.finfo(float).eps ** 0.75 else num
    return float(num / (1 - x @ b))


def _flci_vlo_vup(vbar, dbar, s, c) -> tuple[float, float]:
    vmat = np.vstack([vbar, -vbar])
    vc = vmat @ c
    bounds = (dbar - vmat @ s) / vc
    lo = bounds[vc < 0]
    hi = bounds[vc > 0]
    return (lo.max() if lo.size else -np.inf), (hi.min() if hi.size else np.inf)


@dataclass
class Hybrid:
    """The first stage of a hybrid test: ``kind`` "ARP" (none), "LF" (least-favourable
    critical value ``lf_cv``) or "FLCI" (the FLCI's moments ``vbar`` and half-length)."""
    kind: str = "ARP"
    kappa: float = ALPHA / 10
    lf_cv: float = np.inf
    vbar: np.ndarray | None = None
    flci_halflength: float = np.nan


def _truncated_cv(p: float, lo: float, hi: float) -> float:
    """max(0, the p quantile of the standard normal truncated to [lo, hi]), in log space so
    that far tails stay exact (scipy's truncnorm is accurate too, at 100 times the cost)."""
    if lo > 0:      # the upper tail, as the mirror image of the lower one
        return max(0.0, -_lower_truncated_quantile(1 - p, -hi, -lo))
    return max(0.0, _lower_truncated_quantile(p, lo, hi))


def _lower_truncated_quantile(p: float, lo: float, hi: float) -> float:
    """The p quantile of the standard normal truncated to [lo, hi], lo <= 0."""
    log_lo, log_hi = special.log_ndtr(lo), special.log_ndtr(hi)
    log_q = np.logaddexp(np.log1p(-p) + log_lo, np.log(p) + log_hi) if p > 0 else log_lo
    q = float(special.ndtri_exp(log_q))
    return q if np.isfinite(q) else float(stats.truncnorm.ppf(p, lo, hi))


def arp_rejects(y: np.ndarray, x: np.ndarray, sigma: np.ndarray, alpha: float,
                hybrid: Hybrid, rows: np.ndarray, dbar: np.ndarray | None = None) -> bool:
    """ARP's conditional (or hybrid) test of E[y - x delta] <= 0 for some delta, on the moments
    ``rows`` (the FLCI hybrid's first stage uses all of y): the LP statistic eta against the
    truncated normal of its value given the binding moments."""
    y_a, x_a, sig_a = y[rows], x[rows], sigma[np.ix_(rows, rows)]
    sd = np.sqrt(np.clip(np.diag(sig_a), 0, None))     # rounding may leave -0
    sol = _eta_lp(y_a, x_a, sd)
    if sol is None:
        return False
    eta, lam = sol
    size = alpha
    if hybrid.kind == "LF":
        if eta > hybrid.lf_cv:
            return True
        size = (alpha - hybrid.kappa) / (1 - hybrid.kappa)
    elif hybrid.kind == "FLCI":
        if np.max(np.r_[hybrid.vbar @ y, -hybrid.vbar @ y] - dbar) > 0:
            return True
        size = (alpha - hybrid.kappa) / (1 - hybrid.kappa)
    binding = lam > TOL_LAMBDA
    x_b = x_a[binding]
    full_rank = min(x_b.shape) > 0 and np.linalg.matrix_rank(x_b) == min(x_b.shape)
    if full_rank and binding.sum() == x_a.shape[1] + 1:
        gamma, vlo, vup = _truncation_primal(y_a, x_a, sig_a, sd, binding)
    else:
        gamma = lam
        if abs(gamma @ sig_a @ gamma) < np.finfo(float).eps:
            return eta > 0
        vlo, vup = _truncation_dual(y_a, x_a, sig_a, sd, eta, gamma)
    sigma_b = np.sqrt(float(gamma @ sig_a @ gamma))
    if hybrid.kind == "LF":
        vup = min(vup, hybrid.lf_cv)
    elif hybrid.kind == "FLCI":
        full = np.zeros(len(y))
        full[rows] = gamma
        c = sigma @ full / float(full @ sigma @ full)
        flo, fup = _flci_vlo_vup(hybrid.vbar, dbar, y - c * (full @ y), c)
        vlo, vup = max(vlo, flo), min(vup, fup)
    zlo, zup, stat = vlo / sigma_b, vup / sigma_b, eta / sigma_b
    if not zlo <= stat <= zup:
        return False
    return stat > _truncated_cv(1 - size, zlo, zup)


def _truncation_primal(y, x, sigma, sd, binding) -> tuple[np.ndarray, float, float]:
    """The binding moments' weights gamma (eta = gamma' y) and the truncation points of eta,
    when exactly dim(delta) + 1 moments bind and they have full rank."""
    m = len(y)
    inv = np.linalg.inv(np.column_stack([sd[binding], x[binding]]))
    s_b, s_bc = np.eye(m)[binding], np.eye(m)[~binding]
    gamma_b = np.column_stack([sd[~binding], x[~binding]]) @ inv @ s_b - s_bc
    gamma = inv[0] @ s_b
    rho = gamma_b @ sigma @ gamma / float(gamma @ sigma @ gamma)
    bounds = -gamma_b @ y / rho + gamma @ y
    vlo = bounds[rho > 0].max() if (rho > 0).any() else -np.inf
    vup = bounds[rho < 0].min() if (rho < 0).any() else np.inf
    return gamma, vlo, vup


def _truncation_dual(y, x, sigma, sd, eta, gamma) -> tuple[float, float]:
    """The truncation points of eta from the dual vertex gamma (degenerate or rank-deficient
    binding moments)."""
    s_t = y - sigma @ gamma * (gamma @ y) / float(gamma @ sigma @ gamma)
    return _vlo_vup_dual(eta, s_t, gamma, sigma, np.column_stack([sd, x]))


def gamma_matrix(l_vec: np.ndarray) -> np.ndarray:
    """An invertible matrix with first row l' (l and the unit vectors that stay independent,
    in order; the reduced-row-echelon pivots of HonestDiD)."""
    rows = [l_vec]
    for e in np.eye(len(l_vec)):
        if np.linalg.matrix_rank(np.vstack([*rows, e])) > len(rows):
            rows.append(e)
    return np.vstack(rows)


def arp_accepts(es: EventStudy, a: np.ndarray, d: np.ndarray, grid: np.ndarray, alpha: float,
                hybrid: Hybrid, rows: np.ndarray, seed: int = 0) -> np.ndarray:
    """Which theta of ``grid`` the (hybrid) conditional test accepts for Delta = {A delta <= d}."""
    accept = np.zeros(len(grid), dtype=bool)
    if not len(grid):
        return accept
    a_gamma = a[:, es.n_pre:] @ np.linalg.inv(gamma_matrix(es.l_vec))
    a_one, x = a_gamma[:, 0], a_gamma[:, 1:]
    y = a @ es.betahat - d
    sigma_y = a @ es.sigma @ a.T
    if hybrid.kind == "LF":
        hybrid.lf_cv = least_favorable_cv(x[rows], sigma_y[np.ix_(rows, rows)], hybrid.kappa,
                                          seed)
    for i, theta in enumerate(grid):
        dbar = None
        if hybrid.kind == "FLCI":
            shift = (1 - hybrid.vbar @ a_one) * theta
            dbar = np.r_[hybrid.flci_halflength - hybrid.vbar @ d + shift,
                         hybrid.flci_halflength + hybrid.vbar @ d - shift]
        accept[i] = not arp_rejects(y - a_one * theta, x, sigma_y, alpha, hybrid, rows, dbar)
    return accept
