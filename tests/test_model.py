"""numeric.Model: any cell of the graph language as array functions (eq. (1)-(13) and beyond).

Every library cell's derived VJP and loss gradient agree with complex step and the BPTT-aware
per-step check; the state Jacobians with complex step through one step of the forward pass;
a gradient off by one part in 10⁶ is rejected.  Then the table of bad calls.
"""

import numpy as np
import pytest

from derivations import cells
from numeric import Model, checks, lstm, rnn

CELLS = {
    "elman-tanh-bias": cells.elman("tanh", bias=True),
    "lstm": cells.lstm(),
    "lstm-1997": cells.lstm(forget_gate=False),
    "gru-torch": cells.gru("torch"),
    "gru-cho": cells.gru("cho"),
}
n, m, k, T, B = 3, 2, 2, 4, 2


def _inputs(model: Model, seed: int = 1):
    rng = np.random.default_rng(seed)
    params = model.init(n, m, k if model.head is not None else None, seed=seed)
    params = {name: 3 * value for name, value in params.items()}  # away from the linear regime
    xs = rng.normal(size=(T, B, m))
    state0 = {name: rng.normal(size=(B, n)) / 2 for name, _ in model.states}
    return rng, params, xs, state0


@pytest.mark.parametrize("cell", CELLS.values(), ids=CELLS.keys())
def test_vjp_agrees_with_complex_step_step_by_step(cell):
    model = Model(cell)
    rng, params, xs, state0 = _inputs(model)
    cotangents = {name: rng.normal(size=(T, B, n)) for name, _ in model.states}
    problem = model.problem(params, xs, state0, cotangents=cotangents)
    assert checks.complex_step(problem).passed
    assert checks.per_step(problem).passed
    grads, initial = model.vjp(params, xs, state0, cotangents)
    for name, value in {**grads, **{f"{s}0": v for s, v in initial.items()}}.items():
        np.testing.assert_array_equal(value, problem.gradient[name])
    wrong = dict(problem.gradient)
    name = next(iter(grads))
    wrong[name] = wrong[name] * (1 + 1e-6)
    assert not checks.complex_step(problem, gradient=wrong).passed


@pytest.mark.parametrize(
    "cell, readout, loss",
    [
        (cells.gru("torch"), "linear", "mse"),
        (cells.elman("tanh", bias=True), None, "mse"),
        (cells.lstm(forget_gate=False), "sigmoid", "bce"),
        (cells.gru("cho"), cells.readout("linear", bias=True), (cells.O - cells.y) ** 4 / 4),
    ],
    ids=["gru-linear-mse", "elman-state-mse", "lstm1997-sigmoid-bce", "gru-linear-quartic"],
)
def test_value_and_grad_agree_with_complex_step(cell, readout, loss):
    model = Model(cell, readout, loss)
    rng, params, xs, state0 = _inputs(model, seed=2)
    size = n if readout is None else k
    ys = rng.uniform(size=(T, B, size))
    value, grads, initial = model.value_and_grad(params, xs, ys, state0)
    assert value == pytest.approx(float(model.loss_value(params, xs, ys, state0)), rel=1e-14)
    problem = model.problem(params, xs, state0, ys=ys)
    assert checks.complex_step(problem).passed
    assert checks.direction(problem).passed
    for name in grads:
        np.testing.assert_array_equal(grads[name], problem.gradient[name])


def test_a_loss_on_the_state_is_the_formula():
    model = Model(cells.elman("tanh", bias=True), loss="mse")
    rng, params, xs, state0 = _inputs(model, seed=3)
    ys = rng.normal(size=(T, B, n))
    S = model.forward(params, xs, state0)["S"]
    value, _, _ = model.value_and_grad(params, xs, ys, state0)
    assert value == pytest.approx(0.5 * ((S - ys) ** 2).sum(), rel=1e-14)


@pytest.mark.parametrize("cell", CELLS.values(), ids=CELLS.keys())
def test_state_jacobians_agree_with_complex_step_through_one_step(cell):
    model = Model(cell)
    _, params, xs, state0 = _inputs(model, seed=4)
    J = model.state_jacobians(params, xs[:1], state0)[0]  # (B, N, N), blocks in states order
    h = 1e-30
    column = 0
    for name, _ in model.states:
        for i in range(n):
            moved = {s: v.astype(complex) for s, v in state0.items()}
            moved[name][:, i] += 1j * h
            after = model.forward(params, xs[:1].astype(complex), moved)
            derivative = np.concatenate([after[s][0].imag / h for s, _ in model.states], axis=-1)
            np.testing.assert_allclose(J[:, :, column], derivative, rtol=1e-13, atol=1e-15)
            column += 1


def test_the_article_models_are_thin_wrappers_over_model():
    rng = np.random.default_rng(5)
    params = rnn.model().init(n, m, k, seed=5)
    xs, ys, s0 = rng.normal(size=(T, B, m)), rng.uniform(size=(T, B, k)), rng.normal(size=(B, n))
    L, grads = rnn.value_and_grad(params, xs, ys, s0)
    value, model_grads, initial = rnn.model().value_and_grad(params, xs, ys, {"S": s0})
    assert L == value
    np.testing.assert_array_equal(grads["s0"], initial["S"])
    p = lstm.model.init(n, m, seed=5)
    H, C = lstm.forward(p, xs, s0, s0)
    states = lstm.model.forward(p, xs, {"h": s0, "C": s0})
    np.testing.assert_array_equal(H, states["h"])
    np.testing.assert_array_equal(C, states["C"])


def test_init_is_seeded_uniform_within_one_over_root_n():
    model = Model(cells.gru("torch"), "linear", "mse")
    a, b = model.init(16, 3, 2, seed=7), model.init(16, 3, 2, seed=7)
    assert list(a) == list(model.parameters)
    assert {name: v.shape for name, v in a.items()} == model.parameter_shapes(16, 3, 2)
    assert all(np.array_equal(a[name], b[name]) for name in a)
    assert max(np.abs(v).max() for v in a.values()) <= 1 / 4
    assert not np.array_equal(a["W_hn"], model.init(16, 3, 2, seed=8)["W_hn"])


def test_unbatched_calls_drop_the_batch_axis():
    model = Model(cells.lstm())
    rng, params, xs, state0 = _inputs(model, seed=6)
    one = {name: value[0] for name, value in state0.items()}
    states = model.forward(params, xs[:, 0], one)
    assert states["h"].shape == (T, n)
    grads, initial = model.vjp(params, xs[:, 0], one, {"h": np.ones((T, n))})
    assert initial["C"].shape == (n,)
    batched, _ = model.vjp(
        params, xs[:, :1], {s: v[:1] for s, v in state0.items()}, {"h": np.ones((T, 1, n))}
    )
    np.testing.assert_allclose(grads["W_f"], batched["W_f"], rtol=1e-14)


GRU = Model(cells.gru("torch"))
GRU_PARAMS = GRU.init(n, m, seed=0)
XS = np.zeros((T, B, m))
H0 = {"h": np.zeros((B, n))}
ELMAN = Model(cells.elman("tanh", bias=True), "linear", "mse")
ELMAN_PARAMS = ELMAN.init(n, m, k, seed=0)


def _with(params, key, value):
    return {**params, key: value}


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: Model("gru"), r"cell must be a derivations Graph with a state"),
        (lambda: Model(cells.readout("linear")), r"cell must be a derivations Graph with a state"),
        (lambda: Model(cells.gru(), "linear"), r"a readout needs a loss"),
        (lambda: Model(cells.lstm(), reads="c"), r"reads must be one of the states \['C', 'h'\]"),
        (lambda: ELMAN.parameter_shapes(3, 2), r"k \(the output size\) is needed"),
        (lambda: GRU.init(0, 2), r"n must be a positive integer"),
        (lambda: GRU.forward(GRU_PARAMS, XS, {"c": H0["h"]}), r"state0 must have keys \['h'\]"),
        (lambda: GRU.forward(GRU_PARAMS, XS, H0["h"]), r"state0 must be a dict keyed by"),
        (
            lambda: GRU.forward(GRU_PARAMS, XS, {"h": np.zeros((B, n + 1))}),
            r"state0\['h'\] must have shape \(B, n\) = \(2, 3\), got shape \(2, 4\)",
        ),
        (
            lambda: GRU.forward(GRU_PARAMS, np.zeros((B, T, m)), {"h": np.zeros((B, n))}),
            r"state0\['h'\] must have shape \(B, n\) = \(4, 3\), got shape \(2, 3\); xs is "
            r"time-major, .*xs.transpose\(1, 0, 2\)",
        ),
        (
            lambda: GRU.forward(_with(GRU_PARAMS, "W_in", np.zeros((n, m + 1))), XS, H0),
            r"params\['W_in'\] must have shape \(n, m\) = \(3, 2\), got shape \(3, 3\)",
        ),
        (
            lambda: GRU.forward(_with(GRU_PARAMS, "W_hn", np.zeros((n, n, 1))), XS, H0),
            r"params\['W_hn'\] must have shape \(n, n\)",
        ),
        (
            lambda: GRU.forward({k: v for k, v in GRU_PARAMS.items() if k != "b_hn"}, XS, H0),
            r"params must have keys .*: missing \['b_hn'\]",
        ),
        (
            lambda: GRU.forward(GRU_PARAMS, {"x": XS}, H0) and GRU.forward(GRU_PARAMS, {}, H0),
            r"xs must have keys \['x'\]: missing \['x'\]",
        ),
        (lambda: GRU.vjp(GRU_PARAMS, XS, H0, {"C": XS}), r"cotangents must be .*unknown \['C'\]"),
        (lambda: GRU.vjp(GRU_PARAMS, XS, H0, {}), r"cotangents must be .*got none"),
        (
            lambda: GRU.vjp(GRU_PARAMS, XS, H0, {"h": np.zeros((T, B, n + 1))}),
            r"cotangents\['h'\] must have shape \(T, B, n\) = \(4, 2, 3\)",
        ),
        (lambda: GRU.value_and_grad(GRU_PARAMS, XS, XS, H0), r"value_and_grad needs a loss"),
        (
            lambda: ELMAN.value_and_grad(ELMAN_PARAMS, XS, np.zeros((T, B, k + 1)), {"S": H0["h"]}),
            r"ys must have shape \(T, B, k\) = \(4, 2, 2\), got shape \(4, 2, 3\)",
        ),
        (
            lambda: ELMAN.value_and_grad(
                {k: v for k, v in ELMAN_PARAMS.items() if k != "V"}, XS, XS, {"S": H0["h"]}
            ),
            r"params must have keys .*missing \['V'\]",
        ),
        (
            lambda: ELMAN.problem(ELMAN_PARAMS, XS, {"S": H0["h"]}),
            r"problem needs exactly one of ys .* or cotangents",
        ),
    ],
    ids=[
        "cell-str",
        "cell-without-state",
        "readout-without-loss",
        "reads-unknown",
        "shapes-need-k",
        "init-n-0",
        "state0-wrong-key",
        "state0-not-dict",
        "state0-h-too-wide-blames-state",
        "xs-batch-first-hint",
        "W_in-too-wide-blames-weight",
        "W_hn-ndim3",
        "params-missing-b_hn",
        "xs-dict-missing-key",
        "cotangents-unknown-state",
        "cotangents-empty",
        "cotangents-wrong-shape",
        "value_and_grad-without-loss",
        "ys-k-mismatch",
        "params-missing-readout",
        "problem-neither",
    ],
)
def test_bad_calls_raise_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_float64_inputs_are_used_as_given_and_never_written():
    model = Model(cells.gru("torch"), "linear", "mse")
    rng, params, xs, state0 = _inputs(model, seed=7)
    ys = rng.normal(size=(T, B, k))
    cotangents = {"h": rng.normal(size=(T, B, n))}
    arrays = [xs, ys, *params.values(), *state0.values(), *cotangents.values()]
    before = [a.copy() for a in arrays]
    model.value_and_grad(params, xs, ys, state0)
    model.vjp(params, xs, state0, cotangents)
    problem = model.problem(params, xs, state0, ys=ys)
    assert checks.complex_step(problem) and checks.per_step(problem)
    for array, copy in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(array, copy)
