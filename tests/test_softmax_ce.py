"""The softmax cross-entropy loss "ce" (eq. (3) over the k logits of a linear readout, eq. (2)):
its derived VJP is exact, the model's gradient passes the numeric checks, its value agrees with
an independent mpmath evaluation, and it stays finite for large logits."""

import mpmath
import numpy as np
import pytest
import sympy as sp

from derivations import cells, dims
from derivations.adjoint import Assign, Backward, SumOver, backward, jacobian_terms
from derivations.explicit import evaluate, parameters_of_symbols, run_backward, vector_of_symbols
from derivations.graph import Affine, Elementwise, Graph, MaxShift, Sum
from derivations.proofs import Proof, cell_vjp
from numeric import Model, checks

HEAD = cells.head(cells.readout("linear", bias=True), cells.loss("ce"))


# ---- the exact proof at explicit sizes ------------------------------------------------------


def head_proof(k: int, program: Backward | None = None, n: int = 2) -> Proof:
    """The derived VJP of readout + "ce" (∂/∂V, ∂/∂c, ∂/∂s for a symbolic upstream adjoint g of
    every ℓ_j) against sympy.diff of Σ_j g_j y_j (log Σ_i e^{O_i} - O_j), written here without
    the graph and without the max shift."""
    params = parameters_of_symbols(HEAD, {dims.n: n, dims.m: 1, dims.k: k})
    s, y, g = vector_of_symbols("s", n), vector_of_symbols("y", k), vector_of_symbols("g", k)
    values = evaluate(HEAD, {"s": s, "y": y}, params)
    adjoints, grads = run_backward(HEAD, values, params, {"ell": g}, program)
    logits = params["V"] * s + params["c"]
    lse = sp.log(sum(sp.exp(o) for o in logits))
    loss = sum(g[j] * y[j] * (lse - logits[j]) for j in range(k))

    def gradient(variables: sp.Matrix) -> sp.Matrix:
        return variables.applyfunc(lambda v: sp.diff(loss, v))

    derived = {"V": grads["V"], "c": grads["c"], "s": adjoints["s"]}
    reference = {"V": gradient(params["V"]), "c": gradient(params["c"]), "s": gradient(s)}
    return Proof(f"linear+ce k={k}", derived, reference)


@pytest.mark.parametrize("k", [2, 3])
def test_derived_vjp_equals_sympy_diff_of_the_explicit_loss(k):
    proof = head_proof(k)
    assert proof.holds, proof.failures


def mutant(change) -> Backward:
    program = backward(HEAD)
    return Backward(HEAD, program.seeds, tuple(change(op) for op in program.ops))


def flip_one_sign(op):
    """bar_O = Z̄ e - ℓ̄ y with the sign of its first term flipped."""
    if isinstance(op, Assign) and op.name == "bar_O":
        first, *rest = sp.Add.make_args(op.expr)
        return Assign(op.name, op.node, -first + sp.Add(*rest))
    return op


def forget_the_sum(op):
    """The transpose of the broadcast of Z, taken at the first entry instead of summed."""
    return Assign(op.name, "Z", op.expr) if isinstance(op, SumOver) else op


@pytest.mark.parametrize("change", [flip_one_sign, forget_the_sum])
def test_the_proof_rejects_a_wrong_backward_program(change):
    assert any(isinstance(op, SumOver) for op in backward(HEAD).ops)
    proof = head_proof(2, mutant(change), n=1)
    assert not proof.holds
    assert any(f.startswith("V[") for f in proof.failures)


def test_a_max_shift_the_loss_depends_on_is_refused():
    O, y, c, e, Z = sp.symbols("O y c e Z")  # noqa: E741
    steps = (
        MaxShift("c", "O"),
        Elementwise("e", sp.exp(O - c)),
        Sum("Z", "e"),
        Elementwise("ell", y * (sp.log(Z) - O)),  # forgets to add the shift back
    )
    graph = Graph("bad-ce", (("O", dims.k), ("y", dims.k)), steps, ("ell",))
    with pytest.raises(ValueError, match=r"depend on the shift 'c'.*not 0"):
        backward(graph)


# a cell with a reduction inside its step: h_t = tanh(a_t) / (1 + Σ_i a_ti²)
_a, _q, _Q = sp.symbols("a q Q")
NORMALISED = Graph(
    "normalised",
    (("h_prev", dims.n), ("x", dims.m)),
    (
        Affine("a", (("W", ("h_prev", "x")),), dims.n, "b"),
        Elementwise("q", _a**2),
        Sum("Q", "q"),
        Elementwise("h", sp.tanh(_a) / (1 + _Q)),
    ),
    ("h",),
    (("h", "h_prev"),),
)


def test_a_cell_with_a_sum_has_an_exact_vjp_that_passes_complex_step():
    assert cell_vjp(NORMALISED, n=2, T=1).holds
    model = Model(NORMALISED)
    rng = np.random.default_rng(0)
    params, xs, h0 = model.init(3, 2, seed=0), rng.normal(size=(3, 2, 2)), rng.normal(size=(2, 3))
    problem = model.problem(params, xs, {"h": h0}, cotangents={"h": rng.normal(size=(3, 2, 3))})
    assert checks.complex_step(problem).passed
    wrong = dict(problem.gradient)
    wrong["W"] = wrong["W"] * (1 + 1e-6)
    assert not checks.complex_step(problem, wrong).passed


def test_reductions_are_refused_in_state_jacobians_and_when_malformed():
    with pytest.raises(ValueError, match="state path reaches the reduction 'Q'"):
        jacobian_terms(NORMALISED, "h", "h_prev")
    model = Model(NORMALISED)
    with pytest.raises(ValueError, match="state path reaches the reduction 'Q'"):
        model.state_jacobians(model.init(2, 1), np.zeros((2, 1)), {"h": np.zeros(2)})
    with pytest.raises(ValueError, match="reduces 'q', which is not an earlier node"):
        Graph("bad", (("O", dims.k),), (Sum("Z", "q"),), ("Z",))


# ---- numeric: the model's gradient, value and range -------------------------------------------

N, M, K, T, B = 3, 2, 3, 3, 2
CELLS = {"elman": (cells.elman("tanh", bias=True), "S"), "gru": (cells.gru("torch"), "h")}


def setup(name: str, largest: float | None = None, seed: int = 0):
    """A small problem; ``largest`` scales V so that the largest logit O_tj is that."""
    cell, state = CELLS[name]
    model = Model(cell, "linear", "ce")
    params = model.init(N, M, K, seed=seed)
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(T, B, M))
    ys = rng.dirichlet(np.ones(K), size=(T, B))
    state0 = {state: rng.normal(size=(B, N))}
    if largest is not None:  # O = V s_t is linear in V
        params["V"] = params["V"] * (largest / model.outputs(params, xs, state0).max())
    return model, params, xs, ys, state0


@pytest.mark.parametrize("name", CELLS)
def test_model_gradient_passes_complex_step_and_central_differences(name):
    model, params, xs, ys, state0 = setup(name, largest=4.0)
    problem = model.problem(params, xs, state0, ys=ys)
    value, grads, initial = model.value_and_grad(params, xs, ys, state0)
    assert value == pytest.approx(float(problem.loss(problem.point)), rel=1e-14)
    assert np.array_equal(grads["V"], problem.gradient["V"])
    for check in (checks.complex_step, checks.central_difference):
        assert check(problem).passed, check(problem).worst
    wrong = dict(problem.gradient)
    wrong["V"] = wrong["V"] * (1 + 1e-5)  # a 1e-5 relative error in ∂L/∂V is seen
    assert not checks.complex_step(problem, wrong).passed
    assert not checks.central_difference(problem, wrong).passed


def mp_loss_elman(params, xs, ys, state0, dps: int = 40) -> mpmath.mpf:
    """L = Σ_t Σ_b Σ_j y_j (log Σ_i e^{O_i} - O_j), S_t = tanh(W S_{t-1} + U x_t + b), O_t = V S_t,
    in mpmath, written from the formulas alone."""
    with mpmath.workdps(dps):
        W, U, V = (mpmath.matrix(params[k].tolist()) for k in ("W", "U", "V"))
        bias = mpmath.matrix(params["b"].tolist())
        total = mpmath.mpf(0)
        for b in range(xs.shape[1]):
            S = mpmath.matrix(state0["S"][b].tolist())
            for t in range(xs.shape[0]):
                a = W * S + U * mpmath.matrix(xs[t, b].tolist()) + bias
                S = a.apply(mpmath.tanh)
                O = V * S
                lse = mpmath.log(mpmath.fsum(mpmath.exp(o) for o in O))
                total += mpmath.fsum(ys[t, b, j] * (lse - O[j]) for j in range(len(O)))
        return total


@pytest.mark.parametrize("largest", [None, 700.0])
def test_loss_value_agrees_with_an_independent_mpmath_evaluation(largest):
    model, params, xs, ys, state0 = setup("elman", largest)
    reference = mp_loss_elman(params, xs, ys, state0)
    value = model.loss_value(params, xs, ys, state0)
    assert abs(value - reference) <= 1e-13 * abs(reference)
    assert abs(value * (1 + 1e-11) - reference) > 1e-13 * abs(reference)  # the check can fail
    with mpmath.workdps(40):
        to_mp = np.vectorize(mpmath.mpf, otypes=[object])
        high = model.loss_value(
            {k: to_mp(v) for k, v in params.items()}, to_mp(xs), ys, {"S": to_mp(state0["S"])}
        )
        assert abs(high - reference) <= mpmath.mpf(10) ** -30 * abs(reference)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("largest", [750.0, 1e8, 1e300])
def test_large_logits_give_finite_values_and_gradients(name, largest):
    model, params, xs, ys, state0 = setup(name, largest)
    with np.errstate(over="ignore", divide="ignore"):  # unshifted, log Σ_i e^{O_i} overflows
        naive = np.log(np.exp(model.outputs(params, xs, state0)).sum(axis=-1))
    assert not np.isfinite(naive).all()
    value, grads, initial = model.value_and_grad(params, xs, ys, state0)  # and warns of nothing
    assert np.isfinite(value) and value > 0
    for array in (*grads.values(), *initial.values()):
        assert np.isfinite(array).all()
    # ∂L/∂O_t = softmax(O_t) - y_t sums to 0 over j, so do the columns of ∂L/∂V = Σ_t Ō_t s_tᵀ
    scale = np.abs(grads["V"]).max()
    assert scale > 0 and np.abs(grads["V"].sum(axis=0)).max() <= 1e-12 * scale


def test_targets_must_be_probability_vectors():
    model, params, xs, ys, state0 = setup("elman")
    negative = ys.copy()
    negative[0, 0] = [1.5, -0.5, 0.0]
    with pytest.raises(ValueError, match="ys must hold probability vectors.*>= 0"):
        model.value_and_grad(params, xs, negative, state0)
    with pytest.raises(ValueError, match="summing to 1"):
        model.loss_value(params, xs, ys * 2, state0)
    value, _, _ = model.value_and_grad(params, xs, ys, state0)
    assert np.isfinite(value)
