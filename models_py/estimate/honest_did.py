"""Rambachan and Roth (2023), "A More Credible Approach to Parallel Trends": confidence sets for
a post-period effect of an event study when parallel trends may fail in a bounded way.

The event-study coefficients beta = tau + delta (pre-periods first, then post-periods, the
reference period left out) carry a trend violation delta restricted to a set Delta; the target
is theta = l' tau_post. Two restrictions:

- Delta^SD(M) (smoothness): the violation's slope changes by at most M between consecutive
  periods, |delta_{t+1} - 2 delta_t + delta_{t-1}| <= M (delta_ref = 0);
- Delta^RM(Mbar) (relative magnitudes): no post-period change delta_{t+1} - delta_t exceeds
  Mbar times the largest change between consecutive pre-periods (the union over which pre-period
  change is the largest, and its sign).

Confidence sets, as the R package HonestDiD computes them (its algorithms and defaults, so
that the intervals equal its own; names in brackets are its methods):

- ``conditional`` [Conditional]: test inversion of Andrews, Roth and Pakes' conditional test of
  the moment inequalities A delta <= d with the post-period violations as nuisance parameters,
  over a grid of theta;
- ``hybrid``: the conditional test after a first stage of size kappa = alpha / 10: for
  Delta^SD the FLCI hybrid [C-F], for Delta^RM the least-favourable hybrid [C-LF] (the
  package's defaults for the two);
- ``flci`` (Delta^SD only) [FLCI]: the fixed-length interval of the affine estimator with the
  shortest half-length given its worst-case bias (Armstrong and Kolesar).

The simulated parts (the least-favourable critical value, the folded-normal quantile of the
FLCI) draw normals exactly as R's ``set.seed(seed); rnorm()`` (Mersenne-Twister, inversion),
so each interval is HonestDiD's to numerical precision. A set is reported as the lowest and
highest accepted grid point, as the package does. The FLCI's second-order cone programs are
solved by SLSQP (scipy), the linear programs by HiGHS. :func:`breakdown` finds the least
Mbar or M at which a set holds zero.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import optimize, sparse, special, stats
from threadpoolctl import threadpool_limits

ALPHA = 0.05
GRID_POINTS = 1000     # HonestDiD's default grid of theta
LF_SIMS = 1000         # draws of the least-favourable critical value (HonestDiD's default)
FOLDED_SIMS = 10**6    # draws of the folded-normal quantile (HonestDiD's default)
TOL_LAMBDA = 1e-6      # a moment binds when its Lagrange multiplier exceeds this
TOL_BISECTION = 1e-6
BREAKDOWN_STEPS = 6    # bisections of a breakdown value's bracket (to 1/64 of it)


@dataclass(frozen=True)
class EventStudy:
    """Coefficients (pre-periods in time order, then post-periods; the reference period left
    out), their covariance, how many are pre-periods, and the weights l on the post-periods
    that define theta = l' beta_post."""
    betahat: np.ndarray
    sigma: np.ndarray
    n_pre: int
    l_vec: np.ndarray

    def __post_init__(self):
        k = len(self.betahat)
        if self.sigma.shape != (k, k) or len(self.l_vec) != k - self.n_pre:
            raise ValueError(f"event study of {k} coefficients ({self.n_pre} pre-periods): "
                             f"sigma {self.sigma.shape}, l_vec of {len(self.l_vec)}")
        if self.n_pre < 1 or k - self.n_pre < 1:
            raise ValueError("sensitivity needs at least one pre-period and one post-period "
                             f"coefficient, got {self.n_pre} and {k - self.n_pre}")

    @property
    def n_post(self) -> int:
        return len(self.betahat) - self.n_pre

    @property
    def theta(self) -> float:
        return float(self.l_vec @ self.betahat[self.n_pre:])

    @property
    def theta_se(self) -> float:
        post = self.sigma[self.n_pre:, self.n_pre:]
        return float(np.sqrt(self.l_vec @ post @ self.l_vec))


def psd_part(sigma: np.ndarray) -> np.ndarray:
    """sigma with its negative eigenvalues set to zero: a two-way clustered covariance
    (V_a + V_b - V_ab) need not be positive semi-definite, and the tests need variances of
    every combination (Cameron, Gelbach and Miller 2011 recommend the same repair)."""
    values, vectors = np.linalg.eigh((sigma + sigma.T) / 2)
    if values.min() >= 0:
        return sigma
    return (vectors * np.clip(values, 0, None)) @ vectors.T


# --- R's normal draws --------------------------------------------------------------------

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


# --- the restriction sets -----------------------------------------------------------------

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


# --- Andrews-Roth-Pakes conditional test with nuisance parameters --------------------------

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


# --- FLCI (Delta^SD) ------------------------------------------------------------------------

@dataclass(frozen=True)
class Flci:
    center: float
    halflength: float
    weights: np.ndarray    # the affine estimator's weights on every coefficient

    @property
    def interval(self) -> tuple[float, float]:
        return self.center - self.halflength, self.center + self.halflength


def _w_to_l(n_pre: int) -> np.ndarray:
    """Pre-period weights l_pre = D w from the first-difference weights w."""
    return np.eye(n_pre) - np.eye(n_pre, k=-1)


def _variance_terms(es: EventStudy):
    """Var(l_pre' beta_pre + l' beta_post) = w' Q w + q' w + c as a function of w."""
    d = _w_to_l(es.n_pre)
    pre = es.sigma[:es.n_pre, :es.n_pre]
    pre_post = es.sigma[:es.n_pre, es.n_pre:]
    return (d.T @ pre @ d, 2 * d.T @ pre_post @ es.l_vec,
            float(es.l_vec @ es.sigma[es.n_pre:, es.n_pre:] @ es.l_vec))


def _bias_constant(l_vec: np.ndarray) -> float:
    n = len(l_vec)
    steps = np.arange(1, n + 1)
    return float(sum(abs(np.arange(1, s + 1) @ l_vec[n - s:]) for s in steps) - steps @ l_vec)


def _worst_bias(es: EventStudy, h: float):
    """The smallest worst-case bias (per unit of M) of an affine estimator with standard
    deviation at most h, and its first-difference weights w: min const + sum |cumsum(w)| s.t.
    sum(w) = sum_t t l_t and Var <= h^2 (second-order cone; by SLSQP on (u, w))."""
    k = es.n_pre
    q, lin, c = _variance_terms(es)
    target = float(np.arange(1, es.n_post + 1) @ es.l_vec)
    low = np.tril(np.ones((k, k)))
    w0 = _min_variance_w(es)
    x0 = np.r_[np.abs(low @ w0) + 1e-9, w0]
    cons = [  # u >= cumsum(w), u >= -cumsum(w), sum(w) = target, Var(w) <= h^2
        {"type": "ineq", "fun": lambda x: x[:k] - low @ x[k:],
         "jac": lambda x: np.c_[np.eye(k), -low]},
        {"type": "ineq", "fun": lambda x: x[:k] + low @ x[k:],
         "jac": lambda x: np.c_[np.eye(k), low]},
        {"type": "eq", "fun": lambda x: x[k:].sum() - target,
         "jac": lambda x: np.r_[np.zeros(k), np.ones(k)][None, :]},
        {"type": "ineq", "fun": lambda x: h * h - (x[k:] @ q @ x[k:] + lin @ x[k:] + c),
         "jac": lambda x: np.r_[np.zeros(k), -(2 * q @ x[k:] + lin)][None, :]}]
    res = optimize.minimize(lambda x: x[:k].sum(), x0,
                            jac=lambda x: np.r_[np.ones(k), np.zeros(k)], constraints=cons,
                            method="SLSQP", options={"ftol": 1e-12, "maxiter": 1000})
    if not res.success:
        return np.inf, None
    return _bias_constant(es.l_vec) + res.fun, res.x[k:]


def _min_variance_w(es: EventStudy) -> np.ndarray:
    """The first-difference weights of least variance (sum(w) fixed): a KKT system."""
    q, lin, _ = _variance_terms(es)
    k = es.n_pre
    target = float(np.arange(1, es.n_post + 1) @ es.l_vec)
    kkt = np.block([[2 * q, np.ones((k, 1))], [np.ones((1, k)), np.zeros((1, 1))]])
    return np.linalg.lstsq(kkt, np.r_[-lin, target], rcond=None)[0][:k]


def _sd_of_w(es: EventStudy, w: np.ndarray) -> float:
    q, lin, c = _variance_terms(es)
    return float(np.sqrt(w @ q @ w + lin @ w + c))


def _optimal_h(es: EventStudy, m: float, alpha: float, seed: int) -> float:
    """The standard deviation h that minimises the FLCI half-length: HonestDiD's bisection on
    the numerical derivative between the least-variance h and the least-bias h; NaN when the
    bisection fails."""
    w_min_bias = np.r_[np.zeros(es.n_pre - 1), np.arange(1, es.n_post + 1) @ es.l_vec]
    a, b = _sd_of_w(es, _min_variance_w(es)), _sd_of_w(es, w_min_bias)

    def half(h: float) -> float:
        bias = _worst_bias(es, h)[0]
        return folded_normal_quantile(1 - alpha, m * bias / h, seed) * h if np.isfinite(bias) \
            else np.nan

    dif = min((b - a) / 100, abs(b) * np.finfo(float).eps ** (1 / 3))
    fa, fb = half(a), half(b)
    fpa = (half(a + dif) - fa) / dif
    fpb = (half(b - dif) - fb) / -dif
    if fpa > fpb or np.isnan(fa) or np.isnan(fb):
        return np.nan
    if fpb < 0:
        return b
    if fpa > 0:
        return a
    tol = np.sqrt(np.finfo(float).eps)
    maxiter = 10 * int(np.ceil(np.log(abs(b - a) / dif) / np.log(2)))
    iters = 1
    while abs(b - a) > dif:
        iters += 1
        x = (a + b) / 2
        fpx = (half(x + dif) - half(x - dif)) / (2 * dif)
        if fpx > fpb + tol or fpx + tol < fpa or iters > maxiter:
            return np.nan
        if fpx > 0:
            b = x
        else:
            a = x
    return (a + b) / 2


def flci(es: EventStudy, m: float, alpha: float = ALPHA, seed: int = 0) -> Flci:
    """The optimal fixed-length confidence interval for theta under Delta^SD(M)."""
    h = _optimal_h(es, m, alpha, seed)
    if np.isnan(h):
        lo = _sd_of_w(es, _min_variance_w(es))
        hi = _sd_of_w(es, np.r_[np.zeros(es.n_pre - 1), np.arange(1, es.n_post + 1) @ es.l_vec])
        grid = np.linspace(lo, hi, 100)
        halves = [folded_normal_quantile(1 - alpha, m * _worst_bias(es, g)[0] / g, seed) * g
                  for g in grid]
        h = grid[int(np.nanargmin(halves))]
    bias, w = _worst_bias(es, h)
    half = folded_normal_quantile(1 - alpha, m * bias / h, seed) * h
    weights = np.r_[_w_to_l(es.n_pre) @ w, es.l_vec]
    return Flci(float(weights @ es.betahat), float(half), weights)


# --- confidence sets --------------------------------------------------------------------------

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
