"""Rambachan-Roth confidence sets (models_py.estimate.honest_did) against the R package
HonestDiD's own examples and results, and against moderndid 0.2.0's Python port of it
(tests/fixtures/honestdid/README.md says where each number comes from).

A set that HonestDiD reports as the lowest and highest accepted point of a grid is checked
point-wise where that is cheaper than inverting the test on the whole grid: its ends are
accepted and the grid points just outside them are rejected.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models_py.estimate.estimators import event_study
from models_py.estimate.honest_did import constants, normals, sets
from models_py.estimate.honest_did.event_study import EventStudy, psd_part

FIXTURES = Path(__file__).parent / "fixtures" / "honestdid"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def example(name: str, target: int) -> EventStudy:
    """A HonestDiD example event study with theta the post-period coefficient ``target``
    (0-based)."""
    data = load(f"{name}_event_study.json")
    n_pre = len(data["prePeriodIndices"])
    l_vec = np.zeros(len(data["postPeriodIndices"]))
    l_vec[target] = 1.0
    return EventStudy(np.array(data["betahat"]), np.array(data["sigma"]), n_pre, l_vec)


VIGNETTE = load("vignette_results.json")


def test_normal_draws_are_r_s():
    # R 4: set.seed(0); rnorm(3) and set.seed(1); rnorm(3)
    assert normals.r_normals(3, 0) == pytest.approx([1.2629543, -0.3262334, 1.3297993],
                                                    abs=1e-7)
    assert normals.r_normals(3, 1) == pytest.approx([-0.6264538, 0.1836433, -0.8356286],
                                                    abs=1e-7)


def test_folded_normal_quantile_equals_the_quantile_of_the_draws():
    z = normals.r_normals(constants.FOLDED_SIMS, 0)
    for mu in (0.0, 0.7, -2.5):
        expected = np.quantile(np.abs(z + mu), 0.95)
        assert normals.folded_normal_quantile(0.95, mu) == pytest.approx(expected, abs=1e-12)


def test_original_interval_matches_the_vignette():
    ref = VIGNETTE["BC_OriginalResults"]
    low, high = sets.original_ci(example("bc", 0))
    assert low == pytest.approx(ref["lb"][0][0], abs=1e-9)
    assert high == pytest.approx(ref["ub"][0][0], abs=1e-9)


@pytest.mark.parametrize("k", [1, 3, 8])
def test_flci_matches_the_vignette(k):
    """Delta^SD FLCI for the effect 15 years after exposure in Lovenheim and Willen (the
    vignette's LW_DeltaSD_RobustResults), to 1e-3."""
    ref = VIGNETTE["LW_DeltaSD_RobustResults"]
    low, high = sets.confidence_set(example("lw", 16), "sd", ref["M"][k], "flci")
    assert low == pytest.approx(ref["lb"][k], abs=1e-3)
    assert high == pytest.approx(ref["ub"][k], abs=1e-3)


def test_flci_at_m_zero_matches_the_vignette_half_length():
    """At M = 0 the FLCI is the least-variance affine estimator; HonestDiD finds it to its
    conic solver's tolerance, which moves its centre by 2e-3 (1e-3 of its length) along a
    nearly flat direction of the variance; the half-length agrees to 1e-3."""
    ref = VIGNETTE["LW_DeltaSD_RobustResults"]
    low, high = sets.confidence_set(example("lw", 16), "sd", 0.0, "flci")
    assert (high - low) / 2 == pytest.approx((ref["ub"][0] - ref["lb"][0]) / 2, abs=1e-3)
    assert (high + low) / 2 == pytest.approx((ref["ub"][0] + ref["lb"][0]) / 2, abs=3e-3)


MODERNDID = load("moderndid_results.json")


def assert_grid_ends(es, restriction, value, method, low, high):
    """(low, high) are the lowest and highest accepted points of HonestDiD's grid: each is
    accepted and the grid point just outside it is not; an end at the edge of the grid (the
    hybrid's first-stage FLCI, where the test is decided by rounding) is that edge."""
    grid, first = sets.theta_grid(es, restriction, value, method)
    step = grid[1] - grid[0]
    for end, edge, outside in ((low, grid[0], low - step), (high, grid[-1], high + step)):
        if abs(end - edge) < 1e-6:
            continue
        accepted = sets.accepts(es, restriction, value, method, np.array([end, outside]),
                                first=first)
        assert list(accepted) == [True, False], (value, end, outside)


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_smoothness_hybrid_with_a_sign_restriction_matches_the_vignette(k):
    """Delta^SDNB (smoothness, negative post-period bias) FLCI hybrid (C-F) sets for the first
    post-period of Benzarti and Carloni (the vignette's BC_DeltaSDNB_RobustResults): the
    ends are its grid points."""
    ref = VIGNETTE["BC_DeltaSDNB_RobustResults"]
    es = example("bc", 0)
    grid, _ = sets.theta_grid(es, "sdnb", ref["M"][k], "hybrid")
    for end in (ref["lb"][k], ref["ub"][k]):
        assert np.abs(grid - end).min() < 1e-5     # the same grid
    assert_grid_ends(es, "sdnb", ref["M"][k], "hybrid", ref["lb"][k], ref["ub"][k])


@pytest.mark.parametrize("k", [0, 1, 2])
def test_smoothness_conditional_set_matches_moderndid(k):
    """Delta^SD conditional (ARP) sets for the first post-period of Benzarti and Carloni: the
    ends are moderndid's grid points (deterministic: no simulation enters)."""
    ref = MODERNDID["BC_SD_Conditional_first"]
    assert_grid_ends(example("bc", 0), "sd", ref["M"][k], "conditional", ref["lb"][k],
                     ref["ub"][k])


def assert_ends_within(es, restriction, value, method, low, high, tol=1e-3):
    """The set's ends lie within tol of (low, high): the points tol inside are accepted, the
    points tol outside are not."""
    thetas = np.array([low + tol, high - tol, low - tol, high + tol])
    accepted = sets.accepts(es, restriction, value, method, thetas)
    assert list(accepted) == [True, True, False, False], (value, low, high)


@pytest.mark.parametrize("k", [0, 1, 2])
def test_relative_magnitudes_conditional_set_matches_moderndid(k):
    """Delta^RM conditional sets (the union over where the largest pre-period change is and
    its sign) for the first post-period of Benzarti and Carloni, to 1e-3 (moderndid tests a
    grid of its own)."""
    ref = MODERNDID["BC_RM_Conditional_first"]
    assert_ends_within(example("bc", 0), "rm", ref["Mbar"][k], "conditional", ref["lb"][k],
                       ref["ub"][k])


@pytest.mark.parametrize("k", [1, 2])
def test_relative_magnitudes_hybrid_matches_moderndid_within_its_simulation_error(k):
    """Delta^RM least-favourable hybrid (C-LF) sets: the least-favourable critical value is
    the 99.5% quantile of 1000 simulated LP statistics, drawn with R's generator here and
    NumPy's in moderndid; the ends agree to 2e-3."""
    ref = MODERNDID["BC_RM_C-LF_first"]
    assert_ends_within(example("bc", 0), "rm", ref["Mbar"][k], "hybrid", ref["lb"][k],
                       ref["ub"][k], tol=2e-3)


@pytest.mark.parametrize("k", [0, 2])
def test_smoothness_hybrid_matches_moderndid_within_its_simulation_error(k):
    """Delta^SD FLCI-hybrid (C-F) sets: moderndid's first-stage FLCI draws its folded-normal
    quantile with NumPy, so the sets agree to its simulation error, 1e-3 here."""
    ref = MODERNDID["BC_SD_C-F_first"]
    assert_ends_within(example("bc", 0), "sd", ref["M"][k], "hybrid", ref["lb"][k],
                       ref["ub"][k])


def test_smoothness_flci_matches_moderndid_within_its_simulation_error():
    """moderndid draws its folded-normal quantiles with NumPy (HonestDiD and this module with
    R's generator): the FLCIs agree to the simulation error of 10^6 draws, 1e-3 here."""
    ref = MODERNDID["BC_SD_FLCI_first"]
    for m, lb, ub in zip(ref["M"], ref["lb"], ref["ub"]):
        low, high = sets.confidence_set(example("bc", 0), "sd", m, "flci")
        assert low == pytest.approx(lb, abs=1e-3) and high == pytest.approx(ub, abs=1e-3)


def _events(times: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Event-time terms as the event-study kinds name them, with a diagonal covariance."""
    terms = [f"event_time::{t:.1f}" for t in times]
    events = pd.DataFrame({"term": terms, "event_time": [float(t) for t in times],
                           "estimate": [0.1 * t for t in times]})
    vcov = pd.DataFrame(np.diag(np.arange(1.0, len(times) + 1)), index=terms, columns=terms)
    return events, vcov


def test_event_study_reads_any_reference_period_and_leaves_binned_endpoints_out():
    # window [-4, 5] with both endpoints binned, reference -1: pre -3, -2; post 0..4
    events, vcov = _events([-4, -3, -2, 0, 1, 2, 3, 4, 5])
    es = event_study.honest_event_study(events, vcov, -1, (True, True))
    assert es.n_pre == 2 and es.n_post == 5
    assert es.betahat == pytest.approx([-0.3, -0.2, 0.0, 0.1, 0.2, 0.3, 0.4])
    assert es.l_vec == pytest.approx([0.2] * 5)
    assert np.diag(es.sigma) == pytest.approx([2, 3, 4, 5, 6, 7, 8])
    # the same window unbinned keeps the endpoints
    es = event_study.honest_event_study(events, vcov, -1, (False, False))
    assert es.n_pre == 3 and es.n_post == 6 and es.l_vec == pytest.approx([1 / 6] * 6)
    # reference -2 (anticipation): -1 is a post-period outside theta
    events, vcov = _events([-4, -3, -1, 0, 1, 2])
    es = event_study.honest_event_study(events, vcov, -2, (False, True))
    assert es.n_pre == 2 and es.n_post == 3
    assert es.l_vec == pytest.approx([0.0, 0.5, 0.5])
    # no single-period pre-period next to the reference: nothing to bound
    events, vcov = _events([-4, 0, 1, 2])
    assert event_study.honest_event_study(events, vcov, -1, (True, False)) is None


def test_a_covariance_with_negative_eigenvalues_keeps_its_positive_part():
    """A two-way clustered covariance may be indefinite: its negative eigenvalues are set to
    zero, a positive semi-definite one is kept as it is."""
    vectors = np.linalg.qr(np.arange(9.0).reshape(3, 3) + np.eye(3))[0]
    sigma = (vectors * np.array([2.0, 1.0, -0.5])) @ vectors.T
    fixed = psd_part(sigma)
    assert np.linalg.eigvalsh(fixed) == pytest.approx([0.0, 1.0, 2.0], abs=1e-12)
    psd = (vectors * np.array([2.0, 1.0, 0.5])) @ vectors.T
    assert psd_part(psd) is psd
