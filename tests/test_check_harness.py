"""Properties the rest of the suite did not pin down, each shown to kill a planted fault (the
fault is named in each test's docstring; tests/test_check_mutants.py plants the check-side
ones automatically, against the property functions here):

* the engine's two alternating adjoint buffer sets, on a cell whose states swap;
* the complex-step check's default tolerance;
* per_step and check_vjp judge each step's shares at that step's own scale;
* the rounding floor's term in |L|;
* a Model's readout reads the state the cell documents (h of an LSTM, not C);
* Spectrum.classify at its thresholds.
"""

import numpy as np
import pytest
import sympy as sp
from strategies import seeded_rnn
from test_user_bptt import MODEL as ELMAN
from test_user_bptt import hand_written

import numeric
from derivations import cells
from derivations.graph import Affine, Elementwise, Graph
from numeric import checks, rnn
from numeric.lyapunov import Spectrum

# ---- the engine's adjoint buffers on a swap cell ---------------------------------------------

_p, _q, _S, _a = sp.symbols("p_prev q_prev S_prev a")
#: p_t = q_{t-1}, q_t = p_{t-1} (the states swap), S_t = tanh(W S_{t-1} + U x_t) ⊙ p_{t-1}:
#: the adjoint of p_{t-1} is the adjoint of q_t itself, so step t's seeds are read from the
#: buffers step t+1 wrote — a single buffer set overwrites one before it is read.
SWAP = Graph(
    name="swap",
    inputs=(("p_prev", cells.n), ("q_prev", cells.n), ("S_prev", cells.n), ("x", cells.m)),
    steps=(
        Affine("a", (("W", ("S_prev",)), ("U", ("x",))), cells.n),
        Elementwise("p", _q),
        Elementwise("q", _p),
        Elementwise("S", sp.tanh(_a) * _p),
    ),
    outputs=("p", "q", "S"),
    state=(("p", "p_prev"), ("q", "q_prev"), ("S", "S_prev")),
)


def swap_vjp_matches_complex_step_and_mpmath(T: int) -> bool:
    """The engine's VJP of the swap cell at T steps against complex step and mpmath."""
    model = numeric.Model(SWAP)
    rng = np.random.default_rng(T)
    params = model.init(n=2, m=2, seed=T)
    xs = rng.normal(size=(T, 2, 2))
    state0 = {s: rng.normal(size=(2, 2)) for s in "pqS"}
    cotangents = {s: rng.normal(size=(T, 2, 2)) for s in "pqS"}
    problem = model.problem(params, xs, state0, cotangents=cotangents)
    return bool(checks.complex_step(problem)) and bool(
        checks.high_precision(problem, problem.gradient, dps=30)
    )


@pytest.mark.parametrize("T", [3, 4])
def test_the_engine_vjp_on_a_cell_whose_states_swap_matches_complex_step_and_mpmath(T):
    """Planted (tests/test_check_mutants.py): one buffer set for every step (``own =
    work.buffers2[0]`` in the engine's backward step) — wrong from T = 3, both checks fail."""
    assert swap_vjp_matches_complex_step_and_mpmath(T)


# ---- the complex-step check's own tolerance --------------------------------------------------


def complex_step_rejects_1e_10_off(complex_step=checks.complex_step) -> bool:
    """Passes the derived gradient of an RNN, rejects it 1e-10 relative off in W (alone)."""
    case = seeded_rnn(n=2, m=1, k=2, T=4, B=1, seed=5)
    problem = rnn.problem(case.params, case.xs, case.ys, case.s0)
    off = dict(problem.gradient, W=problem.gradient["W"] * (1 + 1e-10))
    report = complex_step(problem, off)
    wrong = {c.parameter for c in report.failures}
    return bool(complex_step(problem)) and wrong == {"W"}


def test_complex_step_rejects_a_gradient_1e_10_relative_off():
    """Planted (tests/test_check_mutants.py): the default rtol 1e-12 made 1000× looser."""
    assert complex_step_rejects_1e_10_off()


# ---- each step's shares at its own scale -----------------------------------------------------


def _vanishing_point(T=7):
    """An Elman point whose gradient vanishes: step 1's share of W is 1e-10..1e-5 of step T's
    (a 1e-5 relative error in it is below 1e-10 of the largest share, above rounding)."""
    rng = np.random.default_rng(3)
    params = ELMAN.init(n=3, m=2, seed=3)
    params["W"] = 0.05 * rng.uniform(-1, 1, (3, 3))
    xs, s0 = rng.normal(size=(T, 2, 2)), {"S": rng.normal(size=(2, 3)) / 2}
    cotangents = {"S": rng.normal(size=(T, 2, 3))}
    cotangents["S"][:-1] = 0  # the loss at the last step only: the early shares vanish
    return params, xs, s0, cotangents


def test_the_point_has_shares_of_very_different_scales():
    shares = ELMAN.step_shares(*_vanishing_point())["W"]
    ratio = np.abs(shares[0]).max() / np.abs(shares[-1]).max()
    assert 1e-10 < ratio < 1e-5


def per_step_sees_a_small_steps_error(per_step=checks.per_step) -> bool:
    """A 1e-5 relative error in step 1's share of W, at a point where that share is ~1e-8 of
    step T's, is found at step 1 (and the right shares pass)."""
    params, xs, s0, cotangents = _vanishing_point()
    problem = ELMAN.problem(params, xs, s0, cotangents=cotangents)
    shares = dict(problem.bptt.contributions, W=problem.bptt.contributions["W"].copy())
    shares["W"][0] *= 1 + 1e-5
    report = per_step(problem, contributions=shares)
    found = {(c.parameter, c.step) for c in report.failures}
    return bool(per_step(problem)) and found == {("W", 1)}


def check_vjp_sees_a_small_steps_error(check_vjp=checks.check_vjp) -> bool:
    """The same error in a hand-written BPTT: check_vjp names W at step 1."""
    point = _vanishing_point()

    def first_step_off(params, xs, state0, cotangents):
        grads, initial = hand_written()(params, xs, state0, cotangents)
        if len(xs) == len(point[1]):  # the full window: step 1's term is in it
            share = ELMAN.step_shares(params, xs, state0, cotangents)["W"][0]
            grads = dict(grads, W=grads["W"] + 1e-5 * share)
        return grads, initial

    report = check_vjp(ELMAN, first_step_off, *point)
    return (
        bool(check_vjp(ELMAN, hand_written(), *point))
        and not report
        and (report.first.parameter, report.first.step) == ("W", 1)
    )


def test_per_step_finds_an_error_in_a_small_steps_share():
    """Planted (tests/test_check_mutants.py): each step's relative tolerance at the global
    scale (``np.abs(share)`` for ``np.abs(share[t])``): the error passes."""
    assert per_step_sees_a_small_steps_error()


def test_check_vjp_finds_an_error_in_a_small_steps_share():
    """Planted (tests/test_check_mutants.py): the same global scale in check_vjp."""
    assert check_vjp_sees_a_small_steps_error()


# ---- the rounding floor's term in |L| --------------------------------------------------------


def floor_accepts_a_gradient_tiny_against_L() -> bool:
    """Readout weights 1e-12 and targets 0.5: O − y cancels to ~4 digits in float64, so the
    derived gradient (~1e-13) is right only to ~ε|L| per unit, far above 1e-12 × its scale:
    complex step and the random direction accept it by the rounding floor, and reject it
    doubled."""
    case = seeded_rnn(n=2, m=1, k=2, T=4, B=1, seed=5)
    params = dict(case.params, V=case.params["V"] * 1e-12)
    problem = rnn.problem(params, case.xs, np.full_like(case.ys, 0.5), case.s0)
    reports = [checks.complex_step(problem), checks.direction(problem)]
    doubled = dict(problem.gradient, V=problem.gradient["V"] * 2)
    return all(reports) and not checks.complex_step(problem, doubled)


def test_the_floor_in_L_accepts_the_derived_gradient_where_it_is_tiny_against_L():
    """Planted (tests/test_check_mutants.py): the floor without its |L| terms — the right
    gradient is rejected by a factor of 10⁸."""
    assert floor_accepts_a_gradient_tiny_against_L()


# ---- the readout reads the documented state --------------------------------------------------


def test_an_lstm_models_readout_reads_h_not_C():
    """Planted: ``reads`` defaulting to the first state (C) instead of the last (h)."""
    model = numeric.Model(cells.lstm(), readout="linear", loss="mse")
    assert model.reads == "h"
    params = model.init(n=3, m=2, k=2, seed=0)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(4, 2, 2))
    state0 = {"h": rng.normal(size=(2, 3)), "C": rng.normal(size=(2, 3))}
    trajectory = model.forward(params, xs, state0)
    np.testing.assert_allclose(
        model.outputs(params, xs, state0), trajectory["h"] @ params["V"].T, rtol=1e-13
    )
    assert np.abs(trajectory["C"] @ params["V"].T - trajectory["h"] @ params["V"].T).max() > 0.1


# ---- Spectrum.classify at its thresholds -----------------------------------------------------


def _spectrum(*runs):
    exponents = np.array(runs, dtype=float)[None, :, None]  # (G=1, B, k=1)
    return Spectrum(exponents, None, T=100, warmup=0, grid=True, batched=True)


@pytest.mark.parametrize(
    ("runs", "label"),
    [
        ((-0.0005, -0.0025), "undetermined"),  # below +tol, crossing -tol
        ((0.0005, 0.0025), "undetermined"),  # above -tol, crossing +tol
        ((-0.0105, -0.0095), "vanishes"),
        ((0.0095, 0.0105), "explodes"),
        ((-0.0004, 0.0004), "preserved"),
    ],
    ids=["below-tol-crossing-minus-tol", "crossing-plus-tol", "vanishes", "explodes", "preserved"],
)
def test_classify_at_the_thresholds(runs, label):
    """tol = 1e-3, z = 2: the interval mean ± 2 se.  Planted: the vanishing threshold's sign
    flipped (``high < tol`` for ``high < -tol``): the first case becomes "vanishes"."""
    spectrum = _spectrum(*runs)
    mean, se = spectrum.mean()[0, 0], spectrum.se()[0, 0]
    low, high = mean - 2 * se, mean + 2 * se
    if label == "undetermined" and mean < 0:
        assert high < 1e-3 and low < -1e-3 < high  # the case is what its id says
    assert spectrum.classify(tol=1e-3, z=2.0)[0] == label
