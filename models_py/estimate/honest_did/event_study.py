"""The event study whose post-period effect the confidence sets bound (its coefficients, their
covariance, how many are pre-periods, the weights of theta), and the repair of a covariance
that is not positive semi-definite."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
