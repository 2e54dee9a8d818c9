r"""Where the LSTM argument of eq. (14) does hold: a bound on the recurrent weights, proved.

The derived state Jacobian (:func:`derivations.adjoint.jacobian_terms`) has blocks
Σ diag(c_k) W_{g_k}^{(h)} plus the diagonals diag(f_t) and diag(f_t o_t tanh'(C_t)).  Each
coefficient c_k is an elementwise expression in gate values i, f, o ∈ [0, 1], g = C̃ ∈ [-1, 1],
tanh C ∈ [-1, 1] and C_{t-1} ∈ [-c, c]; each is a product of one-variable factors, so its
supremum ĉ_k = sup|c_k| is computed exactly (ends and critical points of each factor; interval
arithmetic over a subdivided box is the certified fallback for any other shape).  With the
max-row-sum norm,

    ‖∂(C_t, h_t)/∂(C_{t-1}, h_{t-1})‖_∞ ≤ κ = max over the C and h rows of
        (ĉ of the diagonal) + Σ_k ĉ_k ‖W_{g_k}^{(h)}‖_∞,

so κ ≤ 1 keeps ‖∂(C_T, h_T)/∂(C_0, h_0)‖_∞ ≤ 1 for every T: no explosion.  With f ≤ f_max < 1
the cell state is bounded, |C_t| ≤ max(|C_0|, 1/(1 - f_max)), which fixes c.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import mpmath
import numpy as np
import sympy as sp

from derivations.adjoint import jacobian_terms
from derivations.lstm import lstm_cell

__all__ = ["Certificate", "certify", "coefficient_bounds", "kappa"]

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


@cache
def _separated(expr: sp.Expr) -> tuple | None:
    """expr as |constant| × Π_v φ_v(v), each φ_v with its critical points (roots of φ_v'),
    or None when expr is not a product of one-variable factors."""
    constant, factors = sp.factor_list(sp.expand(expr))
    groups: dict[sp.Symbol, sp.Expr] = {}
    for factor, power in factors:
        symbols = factor.free_symbols
        if len(symbols) != 1:
            return None
        (symbol,) = symbols
        groups[symbol] = groups.get(symbol, sp.S.One) * factor**power
    parts = []
    for symbol, part in groups.items():
        roots = sp.solveset(sp.diff(part, symbol), symbol, sp.S.Reals)
        if roots is not sp.S.EmptySet and not isinstance(roots, sp.FiniteSet):
            return None
        critical = tuple(float(r) for r in (() if roots is sp.S.EmptySet else roots))
        parts.append((symbol.name, sp.lambdify(symbol, part), critical))
    return float(abs(constant)), tuple(parts)


def _exact_sup_abs(expr: sp.Expr, box: dict[str, tuple[float, float]]) -> float | None:
    """sup |expr| over ``box`` when expr is a product of factors in one variable each (every
    coefficient of the LSTM Jacobian is: C_{t-1} f (1 - f) has sup c_max/4): the largest |φ_v|
    at the ends and the critical points inside, multiplied, rounded up by a few ulps; None
    when it is not separable."""
    separated = _separated(expr)
    if separated is None:
        return None
    value, parts = separated
    for name, part, critical in parts:
        low, high = box[name]
        points = [low, high, *(c for c in critical if low < c < high)]
        value *= max(abs(float(part(p))) for p in points)
    return float(value * (1 + 8 * np.finfo(float).eps))


def _sup_abs(expr: sp.Expr, box: dict[str, tuple[float, float]], pieces: int = 8) -> float:
    """sup |expr| over ``box``: exact where the expression separates into one-variable factors,
    otherwise a certified upper bound by interval arithmetic over a subdivided box."""
    exact = _exact_sup_abs(expr, box)
    if exact is not None:
        return exact
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
    box = _box(f_max, c_max)
    return {
        block: [(_sup_abs(expr, box), weight) for expr, weight in terms]
        for block, terms in _coefficients().items()
    }


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


@dataclass(frozen=True)
class Certificate:
    """A per-model no-explosion certificate for the LSTM of eq. (8)-(13): the gate ranges that
    the biases, the recurrent rows (|h| ≤ 1) and the input bound |x| ≤ x_max allow, unit by
    unit, and κ_j for each row of ∂(C_t, h_t)/∂(C_{t-1}, h_{t-1}).  ``kappa`` ≤ 1 is sufficient
    (not necessary) for ‖∂(C_T, h_T)/∂(C_0, h_0)‖_∞ ≤ 1 at every T; κ < 1 also means the
    gradient vanishes like κ^T."""

    kappa: float
    rows: tuple[float, ...]
    f_max: tuple[float, ...]
    c_max: tuple[float, ...]
    x_max: float

    @property
    def certified(self) -> bool:
        return bool(self.kappa <= 1)


def _sigma(z: float) -> float:
    return float(1 / (1 + np.exp(-z)))


def certify(params: dict[str, np.ndarray], x_max: float = 0.0, c0_max: float = 0.0) -> Certificate:
    """The sharper certificate: gate ranges per unit from b_g ± (‖W_g^{(h)} row‖₁ + ‖W_g^{(x)}
    row‖₁ x_max), so f_max_j = σ(upper z_f), |C| ≤ c_max_j = max(c0_max, i_max g_max /
    (1 − f_max_j)), and the exact suprema of the Jacobian coefficients over that box; rows of
    the C and h blocks summed with the row sums of |W_g^{(h)}|.

    Hypotheses: |h_0| ≤ 1 entrywise (every later h_t = o_t tanh C_t is), |C_0| ≤ ``c0_max`` and
    |x_t| ≤ ``x_max`` entrywise at every step."""
    n = params["W_i"].shape[0]
    ranges = {}
    for g in "ifco":
        W, b = np.asarray(params[f"W_{g}"], float), np.asarray(params[f"b_{g}"], float)
        spread = np.abs(W[:, :n]).sum(axis=1) + np.abs(W[:, n:]).sum(axis=1) * x_max
        ranges[g] = (b - spread, b + spread)
    rows_C, rows_h, f_maxes, c_maxes = [], [], [], []
    for j in range(n):
        gate = {g: (_sigma(ranges[g][0][j]), _sigma(ranges[g][1][j])) for g in "ifo"}
        g_range = (float(np.tanh(ranges["c"][0][j])), float(np.tanh(ranges["c"][1][j])))
        f_max = gate["f"][1]
        if f_max >= 1:
            raise ValueError("the forget gate saturates at 1 in float64: no finite bound on C")
        g_abs = max(abs(g_range[0]), abs(g_range[1]))
        c_max = max(c0_max, gate["i"][1] * g_abs / (1 - f_max))
        box = {
            "i": gate["i"],
            "f": gate["f"],
            "o": gate["o"],
            "g": g_range,
            "tanh_C": (-float(np.tanh(c_max)), float(np.tanh(c_max))),
            "C_prev": (-c_max, c_max),
        }
        totals = []
        for row in ("C", "h"):
            total = 0.0
            for column in ("C_prev", "h_prev"):
                for expr, weight in _coefficients()[(row, column)]:
                    bound = _sup_abs(expr, box)
                    if weight is not None:
                        W = np.asarray(params[weight], float)[:, :n]
                        bound *= float(np.abs(W[j]).sum())
                    total += bound
            totals.append(total)
        rows_C.append(totals[0])
        rows_h.append(totals[1])
        f_maxes.append(f_max)
        c_maxes.append(c_max)
    rows = tuple(rows_C + rows_h)
    return Certificate(float(max(rows)), rows, tuple(f_maxes), tuple(c_maxes), float(x_max))


@cache
def _coefficients() -> dict[tuple[str, str], tuple[tuple[sp.Expr, str | None], ...]]:
    """The derived coefficient of every term of each Jacobian block, with its weight."""
    cell = lstm_cell()
    blocks = {}
    for new, _ in cell.state:
        for _, prev in cell.state:
            blocks[(new, prev)] = tuple(
                (
                    coefficient.xreplace({sp.tanh(sp.Symbol("C")): _TANH}),
                    tail[0].name if tail else None,
                )
                for coefficient, tail in jacobian_terms(cell, new, prev)
            )
    return blocks
