"""numeric._engine's stacked layout of a run of affine steps: the steps are ordered so that each
operand's matmul covers only the columns of the steps that read it (the GRU's h_{t-1} skips
W_in's block), and the gradients stay right when no order can make every operand's steps
adjacent (a column block inside an operand's span that it does not feed)."""

import numpy as np
import pytest
import sympy as sp

from derivations import cells
from derivations.activations import sigma
from derivations.dims import m, n
from derivations.graph import Affine, Elementwise, Graph
from numeric._engine import plan

S = sp.Symbol


def readers(run, operand):
    return [i for i, step in enumerate(run.steps) if any(operand in ops for _, ops in step.terms)]


def test_the_gru_steps_are_ordered_so_each_operand_reads_adjacent_columns():
    (run,) = plan(cells.gru("torch")).runs
    for operand, count in (("x", 3), ("h_prev", 3)):
        steps = readers(run, operand)
        assert steps == list(range(steps[0], steps[0] + count)), (operand, steps)


def cyclic():
    """Three affine steps reading (h, x), (x, u), (u, h): in any order one operand's two steps
    are apart, with the third step's block between them."""
    return Graph(
        "cyclic",
        (("h_prev", n), ("x", m), ("u", m)),
        (
            Affine("a1", (("W1", ("h_prev", "x")),), n, "b1"),
            Affine("a2", (("W2", ("x", "u")),), n),
            Affine("a3", (("W3", ("u",)), ("W4", ("h_prev",))), n, "b3"),
            Elementwise("h", sp.tanh(S("a1")) * sigma(S("a2")) + sp.tanh(S("a3")) / 2),
        ),
        ("h",),
        (("h", "h_prev"),),
    )


@pytest.mark.parametrize("B", [1, 3])
def test_a_run_whose_operands_cannot_all_be_adjacent_gets_the_exact_gradient(B):
    engine = plan(cyclic())
    (run,) = engine.runs
    assert any(np.ptp(readers(run, o)) > 1 for o in ("h_prev", "x", "u"))  # a gap exists
    size, width, T = 3, 2, 5
    rng = np.random.default_rng(B)
    params = {
        "W1": rng.normal(size=(size, size + width)) / 2,
        "W2": rng.normal(size=(size, 2 * width)) / 2,
        "W3": rng.normal(size=(size, width)) / 2,
        "W4": rng.normal(size=(size, size)) / 2,
        "b1": rng.normal(size=size) / 4,
        "b3": rng.normal(size=size) / 4,
    }
    sequence = {"x": rng.normal(size=(T, B, width)), "u": rng.normal(size=(T, B, width))}
    h0 = rng.normal(size=(B, size))
    dh = rng.normal(size=(T, B, size))
    back = engine.backward(
        params, engine.forward(params, sequence, {"h_prev": h0}), {"h": dh}, per_step=True
    )
    # complex step along a seeded direction of every parameter and of h0 at once
    d = {name: rng.normal(size=v.shape) for name, v in params.items()}
    d0 = rng.normal(size=h0.shape)
    step = 1e-30
    moved = {name: v + 1j * step * d[name] for name, v in params.items()}
    trace = engine.forward(moved, sequence, {"h_prev": h0 + 1j * step * d0})
    reference = (dh * trace.values["h"]).sum().imag / step
    analytic = sum((back.grads[k] * d[k]).sum() for k in d) + (back.adjoints["h_prev"] * d0).sum()
    assert analytic == pytest.approx(reference, rel=1e-12)
    for name, grad in back.grads.items():  # each step's share adds up to the gradient
        np.testing.assert_allclose(back.contributions[name].sum(axis=0), grad, rtol=1e-12)
