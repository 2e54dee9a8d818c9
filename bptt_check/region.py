r"""Where the LSTM argument of eq. (14) does hold: a bound on the recurrent weights, proved.

The derived state Jacobian (:func:`derivations.adjoint.jacobian_terms`) has blocks
Σ diag(c_k) W_{g_k}^{(h)} plus the diagonals diag(f_t) and diag(f_t o_t tanh'(C_t)).  Each
coefficient c_k is an elementwise expression in gate values i, f, o ∈ [0, 1], g = C̃ ∈ [-1, 1],
tanh C ∈ [-1, 1] and C_{t-1} ∈ [-c, c]; interval arithmetic over a subdivided box gives a
certified upper bound ĉ_k ≥ sup|c_k|.  With the max-row-sum norm,

    ‖∂(C_t, h_t)/∂(C_{t-1}, h_{t-1})‖_∞ ≤ κ = max over the C and h rows of
        (ĉ of the diagonal) + Σ_k ĉ_k ‖W_{g_k}^{(h)}‖_∞,

so κ ≤ 1 keeps ‖∂(C_T, h_T)/∂(C_0, h_0)‖_∞ ≤ 1 for every T: no explosion.  With f ≤ f_max < 1
the cell state is bounded, |C_t| ≤ max(|C_0|, 1/(1 - f_max)), which fixes c.
"""

from __future__ import annotations

import itertools
from functools import cache

import mpmath
import numpy as np
import sympy as sp

from derivations.adjoint import jacobian_terms
from derivations.lstm import lstm_cell

__all__ = ["coefficient_bounds", "kappa"]

_TANH = sp.Symbol("tanh_C")


def _box(f_max: float, c_max: float) -> dict[str, tuple[float, float]]:
    return {
        "i": (0.0, 1.0),
        "f": (0.0, f_max),
        "o": (0.0, 1.0),
        "g": (-1.0, 1.0),
        "tanh_C": (-1.0, 1.0),
        "C_prev": (-c_max, c_max),
    }


def _sup_abs(expr: sp.Expr, box: dict[str, tuple[float, float]], pieces: int = 8) -> float:
    """A certified upper bound of |expr| over ``box`` (interval arithmetic, subdivided)."""
    names = sorted(s.name for s in expr.free_symbols)
    function = sp.lambdify([sp.Symbol(n) for n in names], expr, modules="mpmath")
    edges = {n: np.linspace(*box[n], pieces + 1) for n in names}
    best = mpmath.mpf(0)
    for cell in itertools.product(range(pieces), repeat=len(names)):
        args = [
            mpmath.iv.mpf([edges[n][k], edges[n][k + 1]]) for n, k in zip(names, cell, strict=True)
        ]
        value = function(*args) if names else mpmath.iv.mpf(float(expr))
        best = max(best, abs(value.a), abs(value.b))
    return float(best)


@cache
def coefficient_bounds(f_max: float, c_max: float) -> dict[tuple[str, str], list[tuple]]:
    """For each block (row, column) of the LSTM state Jacobian, its terms as
    (certified bound of the coefficient, weight multiplied or None for a diagonal)."""
    cell = lstm_cell()
    box = _box(f_max, c_max)
    blocks = {}
    for new, _ in cell.state:
        for _, prev in cell.state:
            terms = []
            for coefficient, tail in jacobian_terms(cell, new, prev):
                expr = coefficient.xreplace({sp.tanh(sp.Symbol("C")): _TANH})
                weight = tail[0].name if tail else None
                terms.append((_sup_abs(expr, box), weight))
            blocks[(new, prev)] = terms
    return blocks


def kappa(params: dict[str, np.ndarray], f_max: float, c_max: float) -> float:
    """The certified bound κ on ‖∂(C_t, h_t)/∂(C_{t-1}, h_{t-1})‖_∞ at these recurrent weights."""
    n = params["W_i"].shape[0]
    norms = {f"W_{g}": float(np.abs(params[f"W_{g}"][:, :n]).sum(axis=1).max()) for g in "ifco"}
    rows = []
    for row in ("C", "h"):
        total = 0.0
        for column in ("C_prev", "h_prev"):
            for bound, weight in coefficient_bounds(f_max, c_max)[(row, column)]:
                total += bound * (1.0 if weight is None else norms[weight])
        rows.append(total)
    return max(rows)
