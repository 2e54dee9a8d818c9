"""The NumPy interpreter and the compiled backend agree with each other and with the derivation.

Every library cell (Elman, both LSTMs, both GRUs) and a cell written here in the graph language
run forward and backward on both backends; the gradients are compared with each other and with
the derived backward program evaluated by SymPy at 30 digits (:mod:`derivations.explicit`), and
the complex step (complex128 through the compiled loops) with the derived VJP.  Sizes are tiny:
the compiled code is cached on disk, so a second run of the suite compiles nothing.
"""

import numpy as np
import pytest
import sympy as sp

from derivations import cells, explicit
from derivations.activations import sigma
from derivations.dims import m, n
from derivations.graph import Affine, Elementwise, Graph
from numeric import Model, _compiled

S = sp.Symbol
numba_installed = pytest.mark.skipif(
    not _compiled.available(), reason="the compiled backend needs the fast extra"
)


def softsign_cell() -> Graph:
    """A user's cell: u_t = W [h_{t-1}; x_t] + b, h_t = u/(1 + u²) + σ(u) h_{t-1}/2 (a smooth
    function the library has no cell for, with a state that feeds an elementwise step)."""
    u = S("u")
    return Graph(
        "softsign-user",
        (("h_prev", n), ("x", m)),
        (
            Affine("u", (("W", ("h_prev", "x")),), n, "b"),
            Elementwise("h", u / (1 + u**2) + sigma(u) * S("h_prev") / 2),
        ),
        ("h",),
        (("h", "h_prev"),),
    )


def identity_cell() -> Graph:
    """h_t = W h_{t-1} + U x_t written as an affine node and an identity elementwise step
    (d2l's RNN with the identity activation): the step's adjoint is the state's, one buffer."""
    return Graph(
        "identity-user",
        (("h_prev", n), ("x", m)),
        (Affine("a", (("W", ("h_prev",)), ("U", ("x",))), n, None), Elementwise("h", S("a"))),
        ("h",),
        (("h", "h_prev"),),
    )


def affine_state_cell() -> Graph:
    """h_t = W h_{t-1} + U x_t + b with the state the affine node itself (no elementwise step)."""
    return Graph(
        "affine-state-user",
        (("h_prev", n), ("x", m)),
        (Affine("h", (("W", ("h_prev",)), ("U", ("x",))), n, "b"),),
        ("h",),
        (("h", "h_prev"),),
    )


CELLS = {
    "elman": lambda: cells.elman("tanh", bias=True),
    "lstm": lambda: cells.lstm(),
    "lstm-1997": lambda: cells.lstm(forget_gate=False),
    "gru-torch": lambda: cells.gru("torch"),
    "gru-cho": lambda: cells.gru("cho"),
    "user": softsign_cell,
    # an identity step and an affine state gave zero gradients and a zero trajectory once
    "identity": identity_cell,
    "affine-state": affine_state_cell,
}


def point(model: Model, T=3, B=2, size=3, inputs=2, seed=0):
    params = model.init(n=size, m=inputs, seed=seed)
    rng = np.random.default_rng(seed + 1)
    xs = rng.normal(size=(T, B, inputs))
    state0 = {name: rng.normal(size=(B, size)) / 2 for name, _ in model.states}
    cotangents = {name: rng.normal(size=(T, B, size)) for name, _ in model.states}
    return params, xs, state0, cotangents


def sympy_vjp(model: Model, params, xs, state0, cotangents, b=0):
    """The derived backward program run by SymPy on batch entry ``b`` (30 digits)."""
    cell = model.cell
    exact = {
        k: sp.Matrix(v if v.ndim == 2 else v[:, None]).applyfunc(sp.Float)
        for k, v in params.items()
    }
    previous = dict(cell.state)
    sequence = [i for i in cell.input_names if i not in previous.values()]
    steps = explicit.unroll(
        cell,
        exact,
        [{name: sp.Matrix(xs[t, b]) for name in sequence} for t in range(xs.shape[0])],
        {previous[s]: sp.Matrix(v[b]) for s, v in state0.items()},
    )
    seeds = lambda t: {s: sp.Matrix(c[t, b]) for s, c in cotangents.items()}  # noqa: E731
    grads, carry = explicit.bptt(cell, steps, exact, seeds)
    as_array = lambda M: np.array(M.evalf(30), dtype=float)  # noqa: E731
    out = {k: as_array(v).reshape(params[k].shape) for k, v in grads.items()}
    return out, {s: as_array(carry[previous[s]])[:, 0] for s in state0}


@numba_installed
@pytest.mark.parametrize("name", CELLS)
def test_both_backends_give_the_derived_vjp(name):
    model = Model(CELLS[name]())
    params, xs, state0, cotangents = point(model, B=1)
    reference, reference0 = sympy_vjp(model, params, xs, state0, cotangents)
    for backend in ("numpy", "numba"):
        grads, initial = model.vjp(params, xs, state0, cotangents, backend=backend)
        for key, value in reference.items():
            np.testing.assert_allclose(grads[key], value, rtol=1e-12, atol=1e-14, err_msg=key)
        for key, value in reference0.items():
            np.testing.assert_allclose(initial[key][0], value, rtol=1e-12, atol=1e-14)


@numba_installed
@pytest.mark.parametrize("name", CELLS)
def test_the_backends_agree_forward_backward_and_in_the_complex_step(name):
    model = Model(CELLS[name]())
    params, xs, state0, cotangents = point(model)
    runs = {}
    for backend in ("numpy", "numba"):
        states = model.forward(params, xs, state0, backend=backend)
        grads, initial = model.vjp(params, xs, state0, cotangents, backend=backend)
        # complex step along one direction d: Im L(θ + i h d) / h = ⟨∇L, d⟩
        d = {k: np.random.default_rng(7).normal(size=v.shape) for k, v in params.items()}
        moved = {k: v + 1e-30j * d[k] for k, v in params.items()}
        complex_states = model.forward(moved, xs, state0, backend=backend)
        step = sum((cotangents[s] * complex_states[s]).sum() for s in cotangents).imag / 1e-30
        runs[backend] = states, grads, initial, step
        assert step == pytest.approx(sum((grads[k] * d[k]).sum() for k in d), rel=1e-12)
    (s1, g1, i1, c1), (s2, g2, i2, c2) = runs["numpy"], runs["numba"]
    for key in s1:
        np.testing.assert_allclose(s2[key], s1[key], rtol=1e-13, atol=1e-15)
    for key in g1:
        np.testing.assert_allclose(g2[key], g1[key], rtol=1e-12, atol=1e-14)
    for key in i1:
        np.testing.assert_allclose(i2[key], i1[key], rtol=1e-12, atol=1e-14)
    assert c2 == pytest.approx(c1, rel=1e-13)


@numba_installed
def test_the_generated_module_is_readable_and_cached_on_disk():
    from numeric._engine import plan

    compiled = _compiled.program(plan(cells.lstm()))
    text = compiled.generated.text
    assert "def forward(" in text and "def backward(" in text
    assert "# bar_z_f" in text  # each derived adjoint's line names it
    model = Model(cells.lstm())
    model.vjp(*point(model), backend="numba")
    assert compiled.path.exists() and compiled.path.read_text() == text
    assert compiled.loaded(np.dtype(np.float64)) and compiled.on_disk(np.dtype(np.float64))


def test_auto_without_numba_is_the_interpreter(monkeypatch):
    monkeypatch.setattr(_compiled, "available", lambda: False)
    model = Model(cells.gru("torch"))
    params, xs, state0, cotangents = point(model)
    trace = model._run(model._check(params, xs, state0), backend="auto")
    assert trace.compiled is None
    with pytest.raises(ValueError, match="backend='numba' needs numba"):
        Model(cells.gru("torch"), backend="numba")
    with pytest.raises(ValueError, match="backend must be one of"):
        model.vjp(params, xs, state0, cotangents, backend="jax")


@numba_installed
def test_auto_compiles_only_where_it_pays(monkeypatch, tmp_path):
    from numeric._engine import plan

    monkeypatch.setenv("BPTT_CHECK_CACHE", str(tmp_path))  # nothing compiled on disk
    cell = softsign_cell()
    cell = Graph("softsign-auto", cell.inputs, cell.steps, cell.outputs, cell.state)
    model = Model(cell)
    params, xs, state0, _ = point(model)
    trace = model._run(model._check(params, xs, state0), backend="auto")
    assert trace.compiled is None  # a one-off call: interpreted, and counted
    found, f64 = _compiled.program(plan(cell)), np.dtype(np.float64)
    assert found.interpreted[f64] == xs.shape[0]
    assert _compiled.choose(plan(cell), f64, "auto", 6) is None
    found.interpreted[f64] = _compiled.LOADS_AFTER  # enough to load code, not to compile it
    assert _compiled.choose(plan(cell), f64, "auto", 6) is None
    monkeypatch.setitem(found._on_disk, f64, True)  # as if another process had compiled it
    assert _compiled.choose(plan(cell), f64, "auto", 6) is found
    monkeypatch.setitem(found._on_disk, f64, False)
    started = []
    monkeypatch.setattr(found, "compile_soon", lambda dtype, *call: started.append(dtype))
    found.interpreted[f64] = _compiled.PAYS_AFTER - xs.shape[0]
    assert model._run(model._check(params, xs, state0), backend="auto").compiled is None
    assert started == [f64]  # it has interpreted long enough: compiling in the background
    found._ready.add(f64)  # as the background thread does when it is done
    assert _compiled.choose(plan(cell), f64, "auto", 6) is found
    assert _compiled.choose(plan(cell), f64, "auto", 32 * 64) is None  # large steps: NumPy
    assert _compiled.choose(plan(cell), np.dtype(object), "numba", 6) is None  # mpmath
    assert not found.path.exists()  # nothing was compiled


@numba_installed
def test_a_pinned_backend_rules_the_models_made_without_one(monkeypatch):
    """numeric.backend pins the default inside its block; a model's own backend still wins,
    and the application's verify runs its checks on the reference interpreter."""
    import numeric
    from bptt_check import verdicts

    monkeypatch.setenv("BPTT_CHECK_BACKEND", "numba")
    model, own = Model(cells.elman("tanh")), Model(cells.elman("tanh"), backend="numba")
    call = model._check(*point(model)[:3])
    assert model._run(call).compiled is not None  # the environment's numba
    with numeric.backend("numpy"):
        assert model._run(call).compiled is None
        assert own._run(call).compiled is not None
    assert model._run(call).compiled is not None  # restored after the block
    with pytest.raises(ValueError, match="backend must be one of"):
        with numeric.backend("jax"):
            pass
    seen = []
    monkeypatch.setattr(
        verdicts.registry.Claim, "run", lambda c, s: seen.append(_compiled.default_backend())
    )
    verdicts.verify(["eq1"])
    assert seen == ["numpy"]
