"""derivations.adjoint: the generic derivation, read off for the article's cells.

Each expected expression here is the textbook result; the test asserts the derivation
produced it (exactly, by ``expand(a - b) == 0``).  The proofs in test_proofs.py check the
same objects against unrolled derivatives, independently of these expectations.
"""

import pytest
import sympy as sp
from sympy.matrices.expressions import MatMul, ZeroMatrix

from derivations import cells
from derivations.activations import sigma
from derivations.adjoint import (
    Assign,
    Outer,
    PullBack,
    PullTerm,
    backward,
    jacobian_blocks,
    jacobian_terms,
    state_jacobian,
)
from derivations.dims import n
from derivations.graph import Elementwise, Graph
from derivations.lstm import lstm_cell, total_cell_derivative
from derivations.matrices import Diag
from derivations.proofs import cell_vjp, state_jacobian_proof
from derivations.rnn import rnn_cell, rnn_readout

S, O, y, bar_S, bar_ell = sp.symbols("S O y bar_S bar_ell")
i, f, g, o, C, C_prev, bar_C, bar_h = sp.symbols("i f g o C C_prev bar_C bar_h")


def same(a, b):
    return sp.expand(a - b) == 0


@pytest.mark.parametrize(
    "activation, expected",
    [("sigmoid", S * (1 - S) * bar_S), ("tanh", (1 - S**2) * bar_S)],
)
def test_rnn_preactivation_adjoint_is_activation_derivative_times_delta(activation, expected):
    # ā_t = act'(a_t) ⊙ δ_t, written in the node value S_t = act(a_t)
    assert same(backward(rnn_cell(activation)).assignment("bar_a"), expected)


def test_rnn_backward_program_structure():
    ops = backward(rnn_cell()).ops
    assert Outer("W", "bar_a", ("S_prev",)) in ops  # ∂L/∂W += ā_t S_{t-1}ᵀ
    assert Outer("U", "bar_a", ("X",)) in ops  # ∂L/∂U += ā_t X_tᵀ
    (pull,) = [op for op in ops if isinstance(op, PullBack) and op.operand == "S_prev"]
    assert pull.terms == (PullTerm("W", ("S_prev",), 0, "bar_a"),)  # Wᵀ ā_t
    assert Assign("bar_S_prev", "S_prev", sp.Symbol(pull.name)) in ops


def test_lstm_pullbacks_into_h_are_one_stacked_op():
    ops = backward(lstm_cell()).ops
    (pull,) = [op for op in ops if isinstance(op, PullBack) and op.operand == "h_prev"]
    assert {t.weight for t in pull.terms} == {"W_i", "W_f", "W_c", "W_o"}
    assert all(t.index == 0 for t in pull.terms)  # the h-block of W_g [h; x]


@pytest.mark.parametrize(
    "loss, expected",
    [
        ("bce", (O - y) * bar_ell),  # the cross-entropy of a sigmoid output: O - y
        ("ce", -y * (1 - O) * bar_ell),
        ("literal", -sp.log(y) * O * (1 - O) * bar_ell),
    ],
)
def test_readout_adjoint_of_each_reading_of_eq3(loss, expected):
    assert same(backward(rnn_readout(loss)).assignment("bar_o"), expected)


def test_bce_adjoint_has_no_division_left():
    # the 1/O and 1/(1 - O) of the loss cancel; a kernel compiled from it cannot divide by 0
    assert sp.denom(sp.together(backward(rnn_readout("bce")).assignment("bar_o"))) == 1


def test_lstm_adjoints_of_the_gates():
    program = backward(lstm_cell())
    total_C = bar_C + bar_h * o * (1 - sp.tanh(C) ** 2)  # ∂L/∂C_t through C_t and h_t
    assert same(program.assignment("bar_C_prev"), f * total_C)
    assert same(program.assignment("bar_z_f"), C_prev * f * (1 - f) * total_C)
    assert same(program.assignment("bar_z_i"), g * i * (1 - i) * total_C)
    assert same(program.assignment("bar_z_c"), i * (1 - g**2) * total_C)
    assert same(program.assignment("bar_z_o"), bar_h * sp.tanh(C) * o * (1 - o))


def test_rnn_state_jacobian_is_diag_sigma_prime_times_w():
    # eq. (7) derived: diag(σ'(a_t)) W, with the diagonal on the left
    expected = MatMul(Diag(S * (1 - S), n), sp.MatrixSymbol("W", n, n))
    assert state_jacobian(rnn_cell(), "S", "S_prev") == expected


def test_lstm_cell_path_and_total_derivative():
    blocks = jacobian_blocks(lstm_cell())
    assert blocks[0][0] == Diag(f, n)  # ∂C_t/∂C_{t-1} with h_{t-1} fixed: eq. (14)'s f_t
    assert blocks[1][0] == Diag(f * o * (1 - sp.tanh(C) ** 2), n)
    assert total_cell_derivative().args[0] == Diag(f, n)
    assert len(total_cell_derivative().args) == 2  # plus the path through h_{t-1}


def test_a_state_that_does_not_depend_on_another_gives_a_zero_block():
    cell = Graph(
        "two independent states",
        (("u_prev", n), ("v_prev", n)),
        (
            Elementwise("u", sigma(sp.Symbol("u_prev"))),
            Elementwise("v", sp.tanh(sp.Symbol("v_prev"))),
        ),
        ("u", "v"),
        (("u", "u_prev"), ("v", "v_prev")),
    )
    assert jacobian_blocks(cell)[0][1] == ZeroMatrix(n, n)
    assert state_jacobian_proof(cell, 2).holds


def test_derivations_are_cached():
    # the second request returns the very same objects: nothing is derived twice
    assert rnn_cell() is rnn_cell()
    assert backward(rnn_cell()) is backward(rnn_cell())
    assert jacobian_terms(lstm_cell(), "C", "h_prev") is jacobian_terms(lstm_cell(), "C", "h_prev")


# ---- a new cell in a few lines: the GRU ---------------------------------------------------


def gru_cell() -> Graph:
    """h_t = (1 - z) ⊙ tanh(W_n [r ⊙ h_{t-1}; x_t] + b_n) + z ⊙ h_{t-1}: the library's GRU."""
    return cells.gru("cho")


@pytest.mark.parametrize("n_, T", [(1, 1), (1, 2), (2, 1)])
def test_gru_vjp_is_exact(n_, T):
    proof = cell_vjp(gru_cell(), n_, T)
    assert proof.holds, proof.failures


def test_gru_state_jacobian_is_exact():
    proof = state_jacobian_proof(gru_cell(), 2)
    assert proof.holds, proof.failures
