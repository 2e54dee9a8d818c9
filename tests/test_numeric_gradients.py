"""numeric.rnn / numeric.lstm: the derived gradients against independent references.

Hypothesis draws sizes n ∈ 1..4, m ∈ 1..3, k ∈ 1..3, T ∈ 1..6, B ∈ 1..3 and points where the
activations do not saturate; every property is a real comparison with a stated tolerance.
"""

import numpy as np
import pytest
from hypothesis import given, note, settings
from strategies import lstm_cases, rnn_cases, seeded_lstm

from numeric import checks, lstm, rnn


def rnn_problem(case):
    return rnn.problem(case.params, case.xs, case.ys, case.s0, case.loss, case.activation)


def lstm_problem(case):
    return lstm.problem(case.params, case.xs, case.h0, case.c0, case.dH, case.dC)


def within(report, rtol, atol=1e-50):
    """Every |error| ≤ rtol × (largest |reference| of the same parameter) + atol + the
    comparison's rounding floor (16 ε|L| + …: it decides only where a whole gradient is tiny
    against the loss, e.g. a readout of 1e-300 that Hypothesis may draw); the atol only
    matters where a whole parameter's gradient is ~0 (then complex step's h² ~ 1e-60
    truncation is all there is)."""
    scale = {}
    for c in report.comparisons:
        scale[c.parameter] = max(scale.get(c.parameter, 0.0), abs(c.reference))
    return all(
        c.abs_error <= rtol * scale[c.parameter] + atol + dict(c.terms).get("rounding", 0.0)
        for c in report.comparisons
    )


@given(rnn_cases())
def test_rnn_gradient_matches_complex_step_to_1e_12(case):
    report = checks.complex_step(rnn_problem(case))
    note(str(report))
    assert report.passed
    assert within(report, 1e-12)


@given(lstm_cases())
def test_lstm_vjp_matches_complex_step_to_1e_12(case):
    report = checks.complex_step(lstm_problem(case))
    note(str(report))
    assert report.passed
    assert within(report, 1e-12)


@given(rnn_cases())
def test_rnn_gradient_matches_central_differences_to_1e_6(case):
    report = checks.central_difference(rnn_problem(case))
    note(str(report))
    assert report.passed
    assert within(report, 1e-6, atol=1e-8)  # atol: rounding, where a gradient is 0


@given(lstm_cases())
def test_lstm_vjp_matches_central_differences_to_1e_6(case):
    report = checks.central_difference(lstm_problem(case))
    note(str(report))
    assert report.passed
    assert within(report, 1e-6, atol=1e-8)  # atol: rounding, where a gradient is 0


@settings(max_examples=4)
@given(rnn_cases(max_n=2, max_m=2, max_k=2, max_T=3, max_B=2))
def test_rnn_gradient_in_mpmath_matches_mpmath_diff_to_1e_40(case):
    report = checks.high_precision(rnn_problem(case), dps=50)
    note(str(report))
    assert report.passed
    assert within(report, 1e-40)


@settings(max_examples=3)
@given(lstm_cases(max_n=2, max_m=2, max_T=2, max_B=1))
def test_lstm_vjp_in_mpmath_matches_mpmath_diff_to_1e_40(case):
    report = checks.high_precision(lstm_problem(case), dps=50)
    note(str(report))
    assert report.passed
    assert within(report, 1e-40)


@given(rnn_cases())
def test_rnn_direction_taylor_and_per_step_checks_pass(case):
    problem = rnn_problem(case)
    for report in (checks.direction(problem), checks.taylor(problem), checks.per_step(problem)):
        note(str(report))
        assert report.passed


@given(lstm_cases())
def test_lstm_direction_taylor_and_per_step_checks_pass(case):
    problem = lstm_problem(case)
    for report in (checks.direction(problem), checks.taylor(problem), checks.per_step(problem)):
        note(str(report))
        assert report.passed


def one_step_jacobian(step, state, h=1e-6):
    """Central-difference Jacobian of ``step`` (B, N) -> (B, N) at ``state``."""
    B, N = state.shape
    J = np.zeros((B, N, N))
    for j in range(N):
        e = np.zeros(N)
        e[j] = h
        J[:, :, j] = (step(state + e) - step(state - e)) / (2 * h)
    return J


@given(rnn_cases())
def test_rnn_state_jacobians_match_finite_differences_of_one_step(case):
    cell = {"W": case.params["W"], "U": case.params["U"]}
    J = rnn.state_jacobians(cell, case.xs, case.s0, case.activation)
    S, _ = rnn.forward(case.params, case.xs, case.s0, case.activation)
    previous = np.concatenate([case.s0[None], S[:-1]])
    for t in range(len(case.xs)):

        def step(s, t=t):
            return rnn.forward(case.params, case.xs[t : t + 1], s, case.activation)[0][0]

        np.testing.assert_allclose(J[t], one_step_jacobian(step, previous[t]), rtol=1e-6, atol=1e-9)


@given(lstm_cases())
def test_lstm_state_jacobians_match_finite_differences_of_one_step(case):
    J = lstm.state_jacobians(case.params, case.xs, case.h0, case.c0)
    H, C = lstm.forward(case.params, case.xs, case.h0, case.c0)
    n = case.h0.shape[-1]
    previous = np.concatenate(
        [np.concatenate([case.c0, case.h0], -1)[None], np.concatenate([C, H], -1)[:-1]]
    )
    for t in range(len(case.xs)):

        def step(state, t=t):
            h, c = lstm.forward(case.params, case.xs[t : t + 1], state[:, n:], state[:, :n])
            return np.concatenate([c[0], h[0]], -1)

        np.testing.assert_allclose(J[t], one_step_jacobian(step, previous[t]), rtol=1e-6, atol=1e-9)


@given(lstm_cases())
def test_lstm_vjp_is_the_product_of_state_jacobians(case):
    # only the last step carries a cotangent: ∂L/∂(C_0, h_0) = J_1ᵀ ⋯ J_Tᵀ (dC_T, dH_T)
    dH, dC = np.zeros_like(case.dH), np.zeros_like(case.dC)
    dH[-1], dC[-1] = case.dH[-1], case.dC[-1]
    grads = lstm.vjp(case.params, case.xs, case.h0, case.c0, dH, dC)
    J = lstm.state_jacobians(case.params, case.xs, case.h0, case.c0)
    adjoint = np.concatenate([dC[-1], dH[-1]], -1)
    for t in reversed(range(len(case.xs))):
        adjoint = np.einsum("bij,bi->bj", J[t], adjoint)
    n = case.h0.shape[-1]
    np.testing.assert_allclose(grads["c0"], adjoint[:, :n], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["h0"], adjoint[:, n:], rtol=1e-10, atol=1e-12)


@given(rnn_cases())
def test_rnn_initial_adjoint_is_first_jacobian_transposed_times_delta_1(case):
    problem = rnn_problem(case)
    J = rnn.state_jacobians(
        {"W": case.params["W"], "U": case.params["U"]}, case.xs, case.s0, case.activation
    )
    delta_1 = problem.bptt.nodes["S"][0]  # ∂L/∂S_1, the δ of the recursion at t = 1
    np.testing.assert_allclose(
        problem.gradient["s0"], np.einsum("bij,bi->bj", J[0], delta_1), rtol=1e-10, atol=1e-13
    )


def test_unbatched_calls_drop_the_batch_axis():
    case = seeded_lstm(B=1)
    H, C = lstm.forward(case.params, case.xs[:, 0], case.h0[0], case.c0[0])
    assert H.shape == C.shape == (4, 3)
    grads = lstm.vjp(case.params, case.xs[:, 0], case.h0[0], case.c0[0], case.dH[:, 0])
    batched = lstm.vjp(case.params, case.xs, case.h0, case.c0, case.dH)
    assert grads["h0"].shape == (3,)
    np.testing.assert_allclose(grads["W_f"], batched["W_f"], rtol=1e-13)
    assert lstm.state_jacobians(case.params, case.xs[:, 0], case.h0[0], case.c0[0]).shape == (
        4,
        6,
        6,
    )


@pytest.mark.parametrize("magnitude", [1e4, 1e6, 1e300])
def test_huge_preactivations_stay_finite_and_warning_free(magnitude):
    # pytest turns every warning into an error (pyproject): overflow would fail this test
    case = seeded_lstm()
    params = {k: v * magnitude for k, v in case.params.items()}
    H, C = lstm.forward(params, case.xs, case.h0, case.c0)
    grads = lstm.vjp(params, case.xs, case.h0, case.c0, case.dH, case.dC)
    assert np.isfinite(H).all() and np.isfinite(C).all()
    assert all(np.isfinite(g).all() for g in grads.values())
    L, rnn_grads = rnn.value_and_grad(
        {
            "W": np.full((2, 2), magnitude),
            "U": np.full((2, 1), -magnitude),
            "V": np.full((1, 2), magnitude),
        },
        np.ones((3, 1)),
        np.full((3, 1), 0.5),
        np.zeros(2),
    )
    assert np.isfinite(L) and all(np.isfinite(g).all() for g in rnn_grads.values())
