"""pyfixest sweeps out a formula's fixed effects in the formula's order.

pyfixest 0.60 reads the fixed effects of a formula through a ``set``
(``formula.utils._encode_fixed_effects``), so the order its alternating projections take them in
follows Python's string hashing, which differs from process to process (PYTHONHASHSEED). The
projections stop at an absolute tolerance of 1e-8, so two processes fitting the same rows got
standard errors that differed from the ninth digit on (up to 2e-5 relative for a PSM-DID).
Importing this module makes pyfixest take them in the order the formula names them.
"""
from __future__ import annotations

import re

import pandas as pd
from pyfixest.estimation.formula import model_matrix, utils

_encode_one_by_one = utils._encode_fixed_effects


def encode_in_formula_order(fixed_effects: str, data: pd.DataFrame) -> str:
    """pyfixest's encoding of ``fixed_effects`` ("a + b^c"), each fixed effect encoded by
    pyfixest itself, joined in the order of the formula."""
    names = dict.fromkeys(re.split(r"\s*\+\s*", fixed_effects))
    terms = [_encode_one_by_one(name, data).removesuffix(" - 1") for name in names]
    return f"{' + '.join(terms)} - 1"


model_matrix._encode_fixed_effects = encode_in_formula_order
