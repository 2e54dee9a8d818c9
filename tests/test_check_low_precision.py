"""A float16 or float32 hand-written BPTT is judged at its own precision, by a budget derived
from the computation (numeric.checks.tolerance.depth_weighted: 2 ε per backward step along
the path, times the depth and the magnitude of each step's share): a correct one passes and
says the precision it was judged at; one with a 5 % error on every entry of one weight fails
(the former budget, 100 ε16 ≈ 10 % of the largest entry, passed it)."""

import numpy as np
import pytest
from test_check_cost import GRU
from test_check_cost import MODEL as GRU_MODEL
from test_user_bptt import MODEL as ELMAN_MODEL
from test_user_bptt import hand_written

from numeric import checks

CASES = {
    "elman": (ELMAN_MODEL, hand_written(), "S", "W"),
    "gru": (GRU_MODEL, GRU.vjp, "h", "W_hz"),
}


def _cast(arrays, dtype):
    return {k: np.asarray(v, dtype) for k, v in arrays.items()}


def in_precision(vjp, dtype, wrong=None):
    """``vjp`` run in ``dtype`` on the float64 inputs cast to it; ``wrong``: that weight's
    gradient 5 % too large."""

    def run(params, xs, state0, cotangents):
        grads, initial = vjp(
            _cast(params, dtype), xs.astype(dtype), _cast(state0, dtype), _cast(cotangents, dtype)
        )
        grads = _cast(grads, dtype)
        if wrong is not None:
            grads[wrong] = grads[wrong] * dtype(1.05)
        return grads, _cast(initial, dtype)

    return run


def _point(model, state, n, m, T, B, seed):
    rng = np.random.default_rng(seed)
    params = model.init(n=n, m=m, seed=seed)
    xs = rng.normal(size=(T, B, m))
    return params, xs, {state: rng.normal(size=(B, n)) / 2}, {state: rng.normal(size=(T, B, n))}


@pytest.mark.parametrize("dtype", [np.float16, np.float32], ids=["float16", "float32"])
@pytest.mark.parametrize("size", [(3, 2, 5, 2, 0), (4, 3, 12, 2, 1)], ids=["T5", "T12"])
@pytest.mark.parametrize("cell", CASES)
def test_a_low_precision_bptt_passes_when_right_and_fails_5_percent_off(cell, size, dtype):
    model, vjp, state, weight = CASES[cell]
    point = _point(model, state, *size)
    right = checks.check_vjp(model, in_precision(vjp, dtype), *point)
    assert right, right.message()
    assert right.summary.startswith(f"passed at {np.dtype(dtype).name} (the rounding of BPTT")
    wrong = checks.check_vjp(model, in_precision(vjp, dtype, weight), *point)
    assert not wrong
    assert {c.parameter for c in wrong.failures} == {weight}  # its totals or its shares


def test_a_float64_result_says_it_was_judged_at_float64():
    model, vjp, state, _ = CASES["elman"]
    report = checks.check_vjp(model, vjp, *_point(model, state, 3, 2, 4, 2, 0))
    assert report.summary.startswith("passed at float64:")


@pytest.mark.parametrize(
    "check",
    [checks.complex_step, checks.central_difference, checks.high_precision],
    ids=lambda c: c.__name__,
)
def test_the_reference_checks_judge_a_float16_bptt_of_a_model_problem_by_the_same_budget(check):
    """On a numeric.Model problem the depth and shares are known: entry by entry the budget
    tolerance.bptt_rounding (the former 100 ε16 passed the 5 % error here too).  Totals alone
    resolve 5 % in float16 only at small T (here 5; at T = 30 the first-order budget is ~3 %
    of an entry): check_vjp's per-step comparisons see it at every depth.  checks.direction,
    one inner product over every entry, is left out: it cannot single out one weight."""
    model, vjp, state, weight = CASES["elman"]
    params, xs, state0, cotangents = _point(model, state, 3, 2, 5, 2, 0)
    problem = model.problem(params, xs, state0, cotangents=cotangents)

    def as_gradient(run):
        grads, initial = run(params, xs, state0, cotangents)
        return {**grads, f"{state}0": initial[state]}

    right = check(problem, as_gradient(in_precision(vjp, np.float16)))
    assert right, right.message()
    assert "judged at float16" in right.worst.why
    assert not check(problem, as_gradient(in_precision(vjp, np.float16, weight)))
