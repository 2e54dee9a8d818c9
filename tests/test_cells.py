"""derivations.cells and derivations.prove: every shipped cell, readout and loss is proved exact.

The proofs compare the derived VJP over T steps and the derived state Jacobian with unrolled
``sympy.diff`` at explicit sizes (derivations.proofs); a planted error in the derived program
is named by the proof.
"""

import dataclasses

import pytest
import sympy as sp

import derivations
from derivations import cells, prove
from derivations.adjoint import Assign, backward

CELLS = {
    "elman-sigmoid": cells.elman("sigmoid"),
    "elman-tanh-bias": cells.elman("tanh", bias=True),
    "lstm-1997": cells.lstm(forget_gate=False),
    "gru-torch": cells.gru("torch"),
    "gru-cho": cells.gru("cho"),
}


@pytest.mark.parametrize("cell", CELLS.values(), ids=CELLS.keys())
def test_every_library_cell_is_proved(cell):
    result = prove(cell, sizes=((1, 2), (2, 1)))
    assert result.holds, result.failures
    assert len(result.proofs) == 4  # two VJP proofs, two state-Jacobian proofs


def test_the_article_cells_are_library_cells():
    from derivations.lstm import lstm_cell
    from derivations.rnn import rnn_cell

    assert rnn_cell("sigmoid") is cells.elman("sigmoid")  # eq. (1)
    assert lstm_cell() is cells.lstm()  # eq. (8)-(13)


@pytest.mark.parametrize(
    "readout, loss",
    [("linear", "mse"), ("sigmoid", "bce"), ("linear", (cells.O - cells.y) ** 4)],
    ids=["linear-mse", "sigmoid-bce", "linear-quartic"],
)
def test_heads_are_proved(readout, loss):
    head = cells.head(cells.readout(readout, bias=True), cells.loss(loss))
    result = prove(head, sizes=((2, 1),))
    assert result.holds, result.failures


def test_the_1997_lstm_has_the_constant_error_carousel():
    from derivations.adjoint import state_jacobian

    # ∂C_t/∂C_{t-1} with h_{t-1} held fixed is the identity: no forget gate to shrink it
    block = state_jacobian(cells.lstm(forget_gate=False), "C", "C_prev")
    assert block.expr == 1


def test_torch_gru_applies_r_after_the_matmul():
    steps = {step.out: step for step in cells.gru("torch").steps}
    r, a_in, a_hn = sp.symbols("r a_in a_hn")
    assert steps["nc"].expr == sp.tanh(a_in + r * a_hn)
    assert "rh" in {step.out for step in cells.gru("cho").steps}  # Cho: r ⊙ h_{t-1} first


def test_prove_names_the_wrong_term(monkeypatch):
    """A derived program with the gradient of b off by a factor 2 fails, naming b."""
    cell = dataclasses.replace(cells.elman("tanh", bias=True), name="elman-mutant")
    program = backward(cell)
    wrong = tuple(
        Assign(op.name, op.node, 2 * op.expr) if isinstance(op, Assign) and op.node == "a" else op
        for op in program.ops
    )
    import derivations.explicit as explicit

    monkeypatch.setattr(explicit, "backward", lambda graph: dataclasses.replace(program, ops=wrong))
    result = prove(cell, sizes=((1, 1),))
    assert not result.holds and not bool(result)
    assert any("b[0,0]" in failure for failure in result.failures), result.failures
    assert "FAILS" in repr(result)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: cells.elman("relu"), r"activation must be one of \['sigmoid', 'tanh'\]"),
        (lambda: cells.elman("tanh", bias=1), r"bias must be True or False"),
        (lambda: cells.lstm(forget_gate="yes"), r"forget_gate must be True or False"),
        (lambda: cells.gru("keras"), r"variant must be one of \['cho', 'torch'\]"),
        (lambda: cells.readout("softmax"), r"kind must be one of"),
        (lambda: cells.loss("hinge"), r"loss must be one of"),
        (lambda: cells.loss(sp.Symbol("z") ** 2), r"loss must be a SymPy expression in"),
        (lambda: cells.loss(cells.y**2), r"does not depend on the output O"),
        (lambda: cells.loss(3), r"loss must be a SymPy expression in"),
        (lambda: cells.head(cells.elman(), cells.loss("mse")), r"head needs a readout"),
        (lambda: prove("gru"), r"cell must be a derivations Graph"),
        (lambda: prove(cells.elman(), sizes=((0, 1),)), r"sizes must be \(n, T\) pairs"),
    ],
    ids=[
        "elman-activation",
        "elman-bias",
        "lstm-forget-gate",
        "gru-variant",
        "readout-kind",
        "loss-name",
        "loss-symbols",
        "loss-no-O",
        "loss-int",
        "head-parts",
        "prove-not-graph",
        "prove-sizes",
    ],
)
def test_bad_arguments_say_what_is_expected(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_public_api_is_named_in_the_package():
    for name in ("Affine", "Elementwise", "Graph", "cells", "prove", "sigma", "n", "m", "k"):
        assert name in derivations.__all__
