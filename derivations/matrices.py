r"""Two small matrix-expression atoms for dimension-free Jacobians.

* :class:`Diag` — ``diag(v)`` of an elementwise vector ``v`` given as a SymPy scalar expression in
  node symbols (``diag(σ'(a_t))`` of eq. (7) is ``Diag(S*(1 - S), n)`` before printing);
* :class:`WeightBlock` — the column block of a weight that multiplies one operand of a
  concatenation, ``W_f^{(h)}`` in ``W_f [h_{t-1}; x_t] = W_f^{(h)} h_{t-1} + W_f^{(x)} x_t``.

Both are ordinary :class:`sympy.MatrixExpr` objects, so SymPy's ``MatMul``/``MatAdd``/transpose
and the LaTeX printer compose them; they are never differentiated by SymPy.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

__all__ = ["Diag", "WeightBlock"]


class Diag(MatrixExpr):
    """``diag(expr)``: the n × n diagonal matrix of an elementwise vector expression, such as the
    diag(σ'(a_t)) of eq. (7) or the diag(f_t) of eq. (14)."""

    def __new__(cls, expr: sp.Expr, n: sp.Expr) -> Diag:
        return sp.Basic.__new__(cls, sp.sympify(expr), sp.sympify(n))

    @property
    def expr(self) -> sp.Expr:
        return self.args[0]

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return (self.args[1], self.args[1])

    def _eval_transpose(self) -> Diag:
        return self

    def _entry(self, i: int, j: int, **kwargs: object) -> sp.Expr:
        raise TypeError("Diag has no entries until its vector is given explicit values")


class WeightBlock(MatrixExpr):
    """Column block ``index`` of weight ``name``, the block that multiplies ``operands[index]``:
    W_f^{(h)} of W_f [h_{t-1}; x_t] in eq. (9)."""

    def __new__(
        cls,
        name: str | sp.Symbol,
        operands: tuple[str | sp.Symbol, ...],
        index: int,
        rows: sp.Expr,
        columns: sp.Expr,
    ) -> WeightBlock:
        return sp.Basic.__new__(
            cls,
            sp.Symbol(str(name)),
            sp.Tuple(*(sp.Symbol(str(o)) for o in operands)),
            sp.Integer(index),
            sp.sympify(rows),
            sp.sympify(columns),
        )

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def operands(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.args[1])

    @property
    def index(self) -> int:
        return int(self.args[2])

    @property
    def operand(self) -> str:
        return self.operands[self.index]

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return (self.args[3], self.args[4])

    def _entry(self, i: int, j: int, **kwargs: object) -> sp.Expr:
        raise TypeError("WeightBlock has no entries until its weight is given explicit values")
