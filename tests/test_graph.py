"""derivations.graph: a malformed cell is refused with a message that names the step."""

import pytest
import sympy as sp

from derivations.activations import sigma
from derivations.dims import m, n
from derivations.graph import Affine, Elementwise, Graph
from derivations.lstm import lstm_cell
from derivations.rnn import rnn_cell

a, S = sp.symbols("a S")


def cell(*steps, inputs=(("S_prev", n), ("X", m)), outputs=("S",), state=(("S", "S_prev"),)):
    return Graph("test", inputs, tuple(steps), outputs, state)


AFFINE = Affine("a", (("W", ("S_prev",)), ("U", ("X",))), n)

BAD_CELLS = {
    "abs is not differentiable": (
        lambda: cell(AFFINE, Elementwise("S", sp.Abs(a))),
        r"step 'S' = Abs\(a\) uses Abs",
    ),
    "max is not differentiable": (
        lambda: cell(AFFINE, Elementwise("S", sp.Max(a, 0))),
        "uses Max",
    ),
    "unknown symbol": (
        lambda: cell(AFFINE, Elementwise("S", sigma(a + sp.Symbol("q")))),
        r"refers to \['q'\]",
    ),
    "lengths disagree": (
        lambda: cell(AFFINE, Elementwise("S", sigma(a) * sp.Symbol("X"))),
        "combines vectors of different lengths",
    ),
    "state update has the wrong length": (
        lambda: cell(Affine("a", (("W", ("S_prev",)),), m), Elementwise("S", sigma(a))),
        "the update of state 'S_prev' has length m, but the state has length n",
    ),
    "parameter used twice": (
        lambda: cell(Affine("a", (("W", ("S_prev",)), ("W", ("X",))), n), Elementwise("S", a)),
        "parameter 'W' is used twice",
    ),
    "operand is not a node": (
        lambda: cell(Affine("a", (("W", ("Z",)),), n), Elementwise("S", a)),
        "multiplies 'Z', which is not an earlier node or input",
    ),
    "output missing": (
        lambda: cell(AFFINE, Elementwise("Q", sigma(a))),
        "output 'S' is not a node of the graph",
    ),
    "operand stacked twice": (
        lambda: cell(Affine("a", (("W", ("S_prev", "S_prev")),), n), Elementwise("S", a)),
        "name each vector once",
    ),
    "output repeated": (
        lambda: cell(AFFINE, Elementwise("S", sigma(a)), outputs=("S", "S")),
        "repeat a node",
    ),
    "node named like a weight": (
        lambda: cell(AFFINE, Elementwise("W", sigma(a)), Elementwise("S", sigma(a))),
        "node 'W' is defined twice",
    ),
    "node defined twice": (
        lambda: cell(AFFINE, Elementwise("a", sigma(a))),
        "node 'a' is defined twice",
    ),
}


@pytest.mark.parametrize("build, message", BAD_CELLS.values(), ids=BAD_CELLS.keys())
def test_bad_cells_are_refused_with_a_message_naming_the_step(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_rnn_cell_shapes():
    shapes = rnn_cell().parameter_shapes
    assert shapes == {"W": (n, n), "U": (n, m)}


def test_lstm_weights_act_on_h_then_x():
    cell = lstm_cell()
    assert cell.parameter_shapes["W_f"] == (n, n + m)
    assert cell.parameter_shapes["b_f"] == (n, 1)
    assert cell.step("z_f").terms == (("W_f", ("h_prev", "x")),)
    assert cell.state == (("C", "C_prev"), ("h", "h_prev"))


def test_unknown_activation_and_loss_are_refused():
    from derivations.rnn import rnn_readout

    with pytest.raises(ValueError, match="activation must be one of"):
        rnn_cell("relu")
    with pytest.raises(ValueError, match="loss must be one of"):
        rnn_readout("mse")
