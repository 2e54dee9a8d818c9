"""numeric._engine on cells beyond the article's: the generic engine must stay right for any
graph the derivations accept (regressions found in review)."""

import numpy as np
import pytest
import sympy as sp

from derivations.activations import sigma
from derivations.dims import m, n
from derivations.graph import Affine, Elementwise, Graph
from numeric import checks
from numeric._engine import plan
from numeric._pool import Pool
from numeric.lstm import vjp

S = sp.Symbol
k = sp.Symbol("k", integer=True, positive=True)


def complex_step_direction(plan_, params, sequence, initial, cotangents, seed=1, h=1e-30):
    """Im L(θ + i h d)/h for L = Σ cotangent · output, along a seeded direction d."""
    d = {name: np.random.default_rng(seed).normal(size=v.shape) for name, v in params.items()}
    moved = {name: v + 1j * h * d[name] for name, v in params.items()}
    trace = plan_.forward(moved, sequence, initial)
    value = sum((c * trace.values[out]).sum() for out, c in cotangents.items())
    return value.imag / h, d


def delay_line():
    """h_t = tanh(W [h_{t-1}; h_{t-3}; x_t] + b) with states d1 = h_{t-1}, d2 = h_{t-2} that
    pass through unchanged and get no cotangent of their own."""
    return Graph(
        "delay",
        (("h_prev", n), ("d1_prev", n), ("d2_prev", n), ("x", m)),
        (
            Affine("a", (("W", ("h_prev", "d2_prev", "x")),), n, "b"),
            Elementwise("h", sp.tanh(S("a"))),
            Elementwise("d1", S("h_prev")),
            Elementwise("d2", S("d1_prev")),
        ),
        ("h", "d1", "d2"),
        (("h", "h_prev"), ("d1", "d1_prev"), ("d2", "d2_prev")),
    )


@pytest.mark.parametrize("B", [2, 512])  # the lambdified and the in-place kernels
def test_states_that_pass_through_get_the_right_adjoint(B):
    rng = np.random.default_rng(0)
    T, size = 8, 3
    params = {"W": rng.normal(size=(size, 2 * size + 2)) / 2, "b": rng.normal(size=size) / 10}
    x = rng.normal(size=(T, B, 2))
    initial = {s: rng.normal(size=(B, size)) / 2 for s in ("h_prev", "d1_prev", "d2_prev")}
    dh = rng.normal(size=(T, B, size))
    engine = plan(delay_line())
    back = engine.backward(params, engine.forward(params, {"x": x}, initial), {"h": dh})
    reference, d = complex_step_direction(engine, params, {"x": x}, initial, {"h": dh})
    analytic = sum((back.grads[name] * d[name]).sum() for name in d)
    assert analytic == pytest.approx(reference, rel=1e-12)


def test_a_fused_kernel_with_nodes_of_two_sizes_runs_at_any_batch():
    cell = Graph(
        "mixed",
        (("h_prev", n), ("x", m)),
        (
            Affine("a", (("W", ("h_prev", "x")),), n, "b"),
            Affine("c", (("V", ("h_prev",)),), k, None),
            Elementwise("h", sp.tanh(S("a"))),
            Elementwise("v", S("c") * sigma(S("c")) + sp.exp(-(S("c") ** 2))),
        ),
        ("h", "v"),
        (("h", "h_prev"),),
    )
    rng = np.random.default_rng(0)
    T, B, size, inputs, outputs = 3, 64, 32, 4, 3
    params = {
        "W": rng.normal(size=(size, size + inputs)) / 3,
        "b": rng.normal(size=size) / 10,
        "V": rng.normal(size=(outputs, size)),
    }
    x, h0 = rng.normal(size=(T, B, inputs)), rng.normal(size=(B, size)) / 3
    cotangents = {"h": rng.normal(size=(T, B, size)), "v": rng.normal(size=(T, B, outputs))}
    engine = plan(cell)
    back = engine.backward(params, engine.forward(params, {"x": x}, {"h_prev": h0}), cotangents)
    reference, d = complex_step_direction(engine, params, {"x": x}, {"h_prev": h0}, cotangents)
    analytic = sum((back.grads[name] * d[name]).sum() for name in d)
    assert analytic == pytest.approx(reference, rel=1e-12)


def test_an_affine_node_nothing_reads_has_a_zero_gradient():
    cell = Graph(
        "unused",
        (("h_prev", n), ("x", m)),
        (
            Affine("a", (("W", ("h_prev", "x")),), n, "b"),
            Affine("c", (("V", ("h_prev",)),), n, None),
            Elementwise("h", sp.tanh(S("a"))),
        ),
        ("h",),
        (("h", "h_prev"),),
    )
    rng = np.random.default_rng(0)
    params = {"W": rng.normal(size=(3, 5)), "b": np.zeros(3), "V": rng.normal(size=(3, 3))}
    engine = plan(cell)
    trace = engine.forward(params, {"x": rng.normal(size=(4, 2, 2))}, {"h_prev": np.zeros((2, 3))})
    back = engine.backward(params, trace, {"h": np.ones((4, 2, 3))})
    assert np.array_equal(back.grads["V"], np.zeros((3, 3)))


def test_the_pool_keeps_at_most_its_capacity_between_calls():
    pool = Pool(capacity=10 * 2**20)
    for T in range(1, 40):
        with pool:
            pool.empty((T, 64, 128), np.float64)
            pool.empty((T, 64, 512), np.float64)
    assert pool.kept_bytes <= 10 * 2**20


def test_vjp_results_survive_the_next_call():
    rng = np.random.default_rng(0)
    params = {f"W_{g}": rng.normal(size=(32, 40)) / 5 for g in "ifco"}
    params |= {f"b_{g}": np.zeros(32) for g in "ifco"}
    first = vjp(
        params,
        rng.normal(size=(5, 64, 8)),
        np.zeros((64, 32)),
        np.zeros((64, 32)),
        rng.normal(size=(5, 64, 32)),
    )
    kept = {name: value.copy() for name, value in first.items()}
    vjp(
        params,
        rng.normal(size=(5, 64, 8)),
        np.ones((64, 32)),
        np.ones((64, 32)),
        rng.normal(size=(5, 64, 32)),
    )
    assert all(np.array_equal(first[name], kept[name]) for name in kept)


def test_high_precision_accepts_a_correct_float64_gradient_and_rejects_a_wrong_one():
    from strategies import seeded_lstm

    from numeric import lstm

    case = seeded_lstm(n=2, m=1, T=2, B=1)
    problem = lstm.problem(case.params, case.xs, case.h0, case.c0, case.dH, case.dC)
    assert checks.high_precision(problem, problem.gradient).passed
    wrong = {name: value.copy() for name, value in problem.gradient.items()}
    wrong["W_i"][0, 0] *= 1 + 1e-9
    assert not checks.high_precision(problem, wrong).passed
