"""The fixed-length confidence interval for theta under Delta^SD(M) (Armstrong and Kolesar;
HonestDiD's FLCI): the affine estimator with the shortest half-length given its worst-case
bias. Its second-order cone programs are solved by SLSQP (scipy); the half-length's
folded-normal quantile is read off R's draws."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from models_py.estimate.honest_did.constants import ALPHA
from models_py.estimate.honest_did.event_study import EventStudy
from models_py.estimate.honest_did.normals import folded_normal_quantile


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
