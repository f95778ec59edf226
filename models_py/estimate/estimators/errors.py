"""The two ways a spec can fail to give an estimate, importable by every estimator kind (the
dispatch in :mod:`models_py.estimate.estimators` imports the kinds, so they cannot import it)."""
from __future__ import annotations


class SpecError(RuntimeError):
    """A spec that failed to estimate on data that should support it (an estimator's error, a
    bug); the message names the spec and the cause."""


class NotEstimable(ValueError):
    """The data cannot support a spec: a column it needs has no values in its sample, the
    sample is empty, a regressor or the treatment does not vary, too few clusters for its
    variance, no comparison units, or a singular design. Not a failure: the spec is reported
    with this reason."""
