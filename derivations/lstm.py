r"""The article's LSTM, eq. (8)-(13), as an instance of the generic cell.

Each W_g (g ∈ i, f, c, o) is n × (n+m) and acts on [h_{t-1}; x_t], h first as the article
writes.  The state is (C_t, h_t), in that order: the 2n × 2n Jacobian has blocks (C, h).

>>> from derivations.adjoint import state_jacobian
>>> state_jacobian(lstm_cell(), "C", "C_prev")   # eq. (14) with h_{t-1} held fixed
Diag(f, n)
"""

from __future__ import annotations

from functools import cache

import sympy as sp
from sympy.matrices.expressions import MatAdd, MatMul

from .adjoint import partial, state_jacobian
from .cells import lstm
from .dims import n
from .graph import Graph
from .matrices import Diag

__all__ = ["GATES", "cell_path_partial", "lstm_cell", "total_cell_derivative"]

#: Gate letters in the article's order, eq. (8), (9), (10), (12).
GATES = ("i", "f", "c", "o")


def lstm_cell() -> Graph:
    """Eq. (8)-(13): four affine maps of [h_{t-1}; x_t], the gates, C_t and h_t
    (:func:`derivations.cells.lstm` with its forget gate)."""
    return lstm()


def cell_path_partial() -> sp.MatrixExpr:
    """∂C_t/∂C_{t-1} with h_{t-1} held fixed — the quantity eq. (14) writes as f_t."""
    return state_jacobian(lstm_cell(), "C", "C_prev")


@cache
def total_cell_derivative() -> sp.MatrixExpr:
    r"""dC_t/dC_{t-1} through h_{t-1} = o_{t-1} ⊙ tanh(C_{t-1}) as well as the cell path:

    ∂C_t/∂C_{t-1} + ∂C_t/∂h_{t-1} · diag(∂h_{t-1}/∂C_{t-1}), the last factor the step-(t-1)
    partial of eq. (13) with its o and C renamed o_{t-1} and C_{t-1}.
    """
    cell = lstm_cell()
    shift = {sp.Symbol("o"): sp.Symbol("o_prev"), sp.Symbol("C"): sp.Symbol("C_prev")}
    through_h = Diag(partial(cell, "h", "C").xreplace(shift), n)
    through_hidden = MatMul(state_jacobian(cell, "C", "h_prev"), through_h)
    return MatAdd(cell_path_partial(), through_hidden, evaluate=False)
