"""numeric.checks: every check can fail — it rejects a gradient with one time step's share
dropped and one with a single entry off by 1e-6 relative — and the per-step check sees the
truncated BPTT that a global tolerance accepts."""

import numpy as np
import pytest
import sympy as sp
from strategies import seeded_lstm, seeded_rnn

from numeric import checks, lstm, rnn
from numeric._engine import plan
from numeric._kernels import Kernel


@pytest.fixture(scope="module")
def rnn_problem():
    case = seeded_rnn(n=3, m=2, k=2, T=4, B=2)
    return rnn.problem(case.params, case.xs, case.ys, case.s0)


@pytest.fixture(scope="module")
def lstm_problem():
    case = seeded_lstm(n=2, m=2, T=3, B=1)
    return lstm.problem(case.params, case.xs, case.h0, case.c0, case.dH, case.dC)


def dropped_step(problem, name, t):
    gradient = {k: v.copy() for k, v in problem.gradient.items()}
    gradient[name] = gradient[name] - problem.bptt.contributions[name][t]
    contributions = {k: v.copy() for k, v in problem.bptt.contributions.items()}
    contributions[name][t] = 0
    return gradient, contributions


def perturbed_entry(problem, name, index):
    gradient = {k: v.copy() for k, v in problem.gradient.items()}
    gradient[name][index] *= 1 + 1e-6
    contributions = {k: v.copy() for k, v in problem.bptt.contributions.items()}
    contributions[name][(0, *index)] *= 1 + 1e-6
    return gradient, contributions


def run(check, problem, gradient, contributions):
    if check is checks.per_step:
        return check(problem, contributions=contributions)
    return check(problem, gradient)


CHECKS = [
    checks.complex_step,
    checks.central_difference,
    checks.direction,
    checks.taylor,
    checks.high_precision,
    checks.per_step,
]
MUTANTS = {
    "drop the first step": lambda p, name: dropped_step(p, name, 0),
    "one entry off by 1e-6": lambda p, name: perturbed_entry(p, name, (0, 0)),
}


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("mutant", MUTANTS.values(), ids=MUTANTS.keys())
def test_each_check_passes_the_derived_rnn_gradient_and_rejects_a_mutant(
    check, mutant, rnn_problem
):
    assert run(check, rnn_problem, None, None).passed
    report = run(check, rnn_problem, *mutant(rnn_problem, "W"))
    assert not report.passed
    assert report.failures[0].parameter in ("W", "all")


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("mutant", MUTANTS.values(), ids=MUTANTS.keys())
def test_each_check_passes_the_derived_lstm_vjp_and_rejects_a_mutant(check, mutant, lstm_problem):
    assert run(check, lstm_problem, None, None).passed
    assert not run(check, lstm_problem, *mutant(lstm_problem, "W_f")).passed


def test_failure_names_parameter_index_and_step(rnn_problem):
    report = checks.per_step(rnn_problem, contributions=dropped_step(rnn_problem, "U", 1)[1])
    failure = report.worst
    assert (failure.parameter, failure.step) == ("U", 2)
    assert "t=2" in str(failure) and "U[" in str(failure)
    assert failure.abs_error > failure.tolerance


def truncated_bptt(case, k):
    """BPTT that keeps, for each loss term L_s, only the paths through the last k steps: the
    per-step shares of the gradient, summed over s, each from the derived backward program."""
    model = rnn.model(case.activation, case.loss)
    state0 = {"S": case.s0}
    direct = model.loss_cotangents(case.params, case.xs, case.ys, state0)["S"]
    T = direct.shape[0]
    shares = {name: np.zeros((T, *case.params[name].shape)) for name in ("W", "U")}
    for s in range(T):
        only_s = np.zeros_like(direct)
        only_s[s] = direct[s]
        contributions = model.step_shares(case.params, case.xs, state0, {"S": only_s})
        for name in shares:
            kept = slice(max(0, s - k + 1), s + 1)
            shares[name][kept] += contributions[name][kept]
    return shares


def test_per_step_check_sees_truncated_bptt_that_a_global_tolerance_accepts():
    # tanh RNN in the vanishing regime (‖W‖₂ ≈ 0.5), T = 30; BPTT truncated to 10 steps
    case = seeded_rnn(n=4, m=2, k=2, T=30, B=1, seed=3, activation="tanh")
    case.params["W"] *= 0.5 / np.linalg.norm(case.params["W"], 2)
    problem = rnn.problem(case.params, case.xs, case.ys, case.s0, case.loss, case.activation)
    truncated = truncated_bptt(case, 10)
    gradient = dict(problem.gradient, W=truncated["W"].sum(0), U=truncated["U"].sum(0))
    contributions = dict(problem.bptt.contributions, **truncated)
    assert not np.array_equal(gradient["W"], problem.gradient["W"])
    # torch.autograd.gradcheck's comparison, allclose(rtol=1e-3, atol=1e-5), accepts it ...
    for name in ("W", "U"):
        assert np.allclose(gradient[name], problem.gradient[name], rtol=1e-3, atol=1e-5)
    # ... the per-step check does not, and names the steps whose share is short
    report = checks.per_step(problem, contributions=contributions)
    assert not report.passed
    assert {c.step for c in report.failures} <= set(range(1, 21))
    # complex step, its tolerance relative to each parameter's own scale, rejects it too
    assert not checks.complex_step(problem, gradient).passed


def test_compiled_kernels_match_sympy_evalf():
    from derivations.lstm import lstm_cell

    rng = np.random.default_rng(0)
    stages = plan(lstm_cell()).backward_stages(frozenset({"bar_h_prev", "bar_C_prev"}))
    kernels = [s for group in stages for s in group if isinstance(s, Kernel)]
    assert kernels
    for kernel in kernels:
        values = {name: rng.uniform(-1, 1, (1, 1)) for name in kernel.inputs}
        got = kernel(values)
        for name, expr in zip(kernel.outputs, kernel.exprs, strict=True):
            # inputs are independent here, the kept tanh(C_t) (``_kept0``) included
            exact = expr.evalf(30, subs={sp.Symbol(k): float(v[0, 0]) for k, v in values.items()})
            assert float(got[name][0, 0]) == pytest.approx(float(exact), rel=1e-13, abs=1e-15)


def test_plans_and_kernels_are_compiled_once():
    from derivations.lstm import lstm_cell

    assert plan(lstm_cell()) is plan(lstm_cell())
    first = plan(lstm_cell()).backward_stages(frozenset({"bar_h_prev", "bar_C_prev"}))
    again = plan(lstm_cell()).backward_stages(frozenset({"bar_h_prev", "bar_C_prev"}))
    assert first is again


# ---- reports that fail loudly ---------------------------------------------------------------


def test_a_report_is_truthy_only_when_it_passes_and_raises_a_table(rnn_problem):
    assert checks.complex_step(rnn_problem)
    wrong, _ = perturbed_entry(rnn_problem, "W", (0, 1))
    report = checks.complex_step(rnn_problem, wrong)
    assert not report
    with pytest.raises(checks.GradientMismatch) as caught:
        report.raise_for_failures()
    assert isinstance(caught.value, AssertionError)
    message = str(caught.value)
    assert "FAILED 1 of" in message
    header, first = message.splitlines()[1:3]
    assert header.split() == [
        "parameter", "index", "step", "analytic", "reference", "|error|", "tolerance", "by"
    ]  # fmt: skip
    assert first.split()[:2] == ["W", "0,1"] and first.split()[-1] == "relative"
    assert checks.complex_step(rnn_problem).raise_for_failures().passed


def test_an_empty_check_is_an_error_not_a_pass():
    point = {"w": np.array([0.5, 2.0])}
    problem = checks.Problem("square", point, lambda p: (p["w"] ** 2).sum(), {"w": 2 * point["w"]})
    with pytest.raises(ValueError, match="per_step needs the per-step data"):
        checks.per_step(problem)
    with pytest.raises(ValueError, match="nothing was compared"):
        checks.Report("empty", ())


# ---- the tolerance model: a rounding floor, and each dtype's budget ---------------------------


@pytest.fixture(scope="module")
def tiny_readout_problem():
    """The repro of issue 10: W = U = 0, V = 1e-12, xs = 0, ys = 0.5, s0 = 0.  O − y cancels
    to four digits in float64, so the derived gradient of V is right only to ~1e-4 relative."""
    n, m, k, T, B = 2, 1, 1, 3, 1
    params = {"W": np.zeros((n, n)), "U": np.zeros((n, m)), "V": np.full((k, n), 1e-12)}
    return rnn.problem(params, np.zeros((T, B, m)), np.full((T, B, k), 0.5), np.zeros((B, n)))


@pytest.mark.parametrize("check", [checks.complex_step, checks.direction, checks.per_step])
def test_the_rounding_floor_accepts_the_derived_gradient_of_a_tiny_readout(
    check, tiny_readout_problem
):
    report = check(tiny_readout_problem)
    assert report.passed, str(report)
    assert report.worst.decided == "rounding"
    assert "rounding" in report.worst.why


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
@pytest.mark.parametrize("check", [checks.complex_step, checks.direction])
def test_one_part_in_a_million_still_fails_at_every_scale(check, scale):
    case = seeded_rnn(n=3, m=2, k=2, T=3, B=1, seed=1)
    case.params["V"] = case.params["V"] * scale
    problem = rnn.problem(case.params, case.xs, case.ys, case.s0)
    assert check(problem)
    wrong = {k: v * (1 + 1e-6) for k, v in problem.gradient.items()}
    assert not check(problem, wrong)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize(
    "check", [checks.complex_step, checks.direction, checks.central_difference, checks.taylor]
)
def test_lower_precision_gradients_are_checked_with_their_own_budget(check, dtype, rnn_problem):
    rounded = {k: v.astype(dtype) for k, v in rnn_problem.gradient.items()}
    assert check(rnn_problem, rounded), str(check(rnn_problem, rounded))
    # float32: off by 1e-2 relative; float16 (ε ≈ 1e-3, |L| ≈ 8): doubled
    factor = 1.01 if dtype is np.float32 else 2.0
    wrong = {k: (v * factor).astype(dtype) for k, v in rnn_problem.gradient.items()}
    assert not check(rnn_problem, wrong)
