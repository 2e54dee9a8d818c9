"""Independent high-precision models: eq. (1)-(3) and (8)-(13) written out in mpmath.

These are the model equations only — no derivative anywhere — evaluated entry by entry at
the working precision, so a counterexample found on the float64 path of :mod:`numeric` is
confirmed by ``mpmath.diff`` of these functions, a path that shares no code with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath

__all__ = ["exact", "lstm_states", "rnn_loss", "rnn_states", "sigma"]

Matrix = Sequence[Sequence[float]]
Vector = Sequence[float]


def sigma(x: mpmath.mpf) -> mpmath.mpf:
    """The logistic function 1 / (1 + e^{-x}) of eq. (1)-(2), (8), (9), (12)."""
    return 1 / (1 + mpmath.exp(-x))


def exact(params: dict) -> dict:
    """Parameters of eq. (1)-(13) as nested lists of mpmath numbers (floats convert exactly)."""
    return {
        name: [list(map(mpmath.mpf, row)) for row in value.tolist()]
        if value.ndim == 2
        else list(map(mpmath.mpf, value.tolist()))
        for name, value in params.items()
    }


def _affine(W: Matrix, v: Vector) -> list:
    return [mpmath.fsum(w * x for w, x in zip(row, v, strict=True)) for row in W]


def rnn_states(W: Matrix, U: Matrix, xs: Sequence[Vector], s0: Vector) -> list[list]:
    """S_1..S_T of eq. (1), S_t = σ(W S_{t-1} + U X_t)."""
    states, s = [], list(s0)
    for x in xs:
        s = [sigma(a + b) for a, b in zip(_affine(W, s), _affine(U, x), strict=True)]
        states.append(s)
    return states


def rnn_loss(
    W: Matrix,
    U: Matrix,
    V: Matrix,
    xs: Sequence[Vector],
    ys: Sequence[Vector],
    s0: Vector,
    steps: Sequence[int] | None = None,
) -> mpmath.mpf:
    """The binary cross-entropy loss (3) of O_t = σ(V S_t) (2), summed over ``steps``
    (0-based; all steps by default)."""
    states = rnn_states(W, U, xs, s0)
    total = mpmath.mpf(0)
    for t in range(len(xs)) if steps is None else steps:
        for o, y in zip((sigma(a) for a in _affine(V, states[t])), ys[t], strict=True):
            total -= y * mpmath.log(o) + (1 - y) * mpmath.log(1 - o)
    return total


def lstm_states(params: dict, xs: Sequence[Vector], h0: Vector, c0: Vector) -> tuple[list, list]:
    """(h_T, C_T) after eq. (8)-(13) with W_g acting on [h_{t-1}; x_t]."""
    h, c = list(h0), list(c0)
    for x in xs:
        z = {
            g: [
                a + b
                for a, b in zip(_affine(params[f"W_{g}"], [*h, *x]), params[f"b_{g}"], strict=True)
            ]
            for g in "ifco"
        }
        i, f, o = ([sigma(v) for v in z[g]] for g in "ifo")
        candidate = [mpmath.tanh(v) for v in z["c"]]
        c = [a * b + d * e for a, b, d, e in zip(i, candidate, f, c, strict=True)]
        h = [a * mpmath.tanh(b) for a, b in zip(o, c, strict=True)]
    return h, c
