"""The significance level, HonestDiD's defaults (the grid of theta, the sizes of its
simulations) and the numerical tolerances of the HonestDiD modules."""
from __future__ import annotations

ALPHA = 0.05
GRID_POINTS = 1000     # HonestDiD's default grid of theta
LF_SIMS = 1000         # draws of the least-favourable critical value (HonestDiD's default)
FOLDED_SIMS = 10**6    # draws of the folded-normal quantile (HonestDiD's default)
TOL_LAMBDA = 1e-6      # a moment binds when its Lagrange multiplier exceeds this
TOL_BISECTION = 1e-6
BREAKDOWN_STEPS = 6    # bisections of a breakdown value's bracket (to 1/64 of it)
