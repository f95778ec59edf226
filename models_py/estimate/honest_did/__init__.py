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
solved by SLSQP (scipy), the linear programs by HiGHS. :func:`.sets.breakdown` finds the least
Mbar or M at which a set holds zero.

The modules (the package itself imports none of them: a table's code version hashes the
plain modules an estimator kind imports, never a package's ``__init__``, so importers name the
modules they use, as the modules here do each other's):

- :mod:`.constants`: the significance level, HonestDiD's default grid and simulation sizes,
  the numerical tolerances;
- :mod:`.event_study`: the event study whose effect the sets bound (:class:`.EventStudy`) and
  the repair of a covariance that is not positive semi-definite;
- :mod:`.normals`: R's normal draws and the folded-normal quantile of HonestDiD's draws;
- :mod:`.restrictions`: Delta^SD and Delta^RM as moment inequalities;
- :mod:`.conditional`: Andrews, Roth and Pakes' conditional test and its hybrids;
- :mod:`.flci`: the fixed-length confidence interval under Delta^SD;
- :mod:`.sets`: the confidence sets, the breakdown values and the usual interval (the entry
  points).
"""
