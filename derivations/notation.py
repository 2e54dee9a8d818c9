r"""Display atoms for the article's notation: ∂ fractions, concatenations and chains of "=".

These objects only print; nothing differentiates them.  The computational content of every
equation lives in :mod:`derivations.adjoint` and is proved in :mod:`derivations.proofs`.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import MatrixExpr

__all__ = ["Chain", "Concat", "Entrywise", "Partial"]


class Partial(sp.Expr):
    r"""``∂num/∂den`` of eq. (4)-(7), (14) (``total=True``: ``d num/d den``), optionally with a
    variable held fixed,
    printed as the article writes it.  Non-commutative, so a chain keeps its order."""

    is_commutative = False

    def __new__(
        cls, num: sp.Basic, den: sp.Basic, fixed: sp.Basic | None = None, total: bool = False
    ) -> Partial:
        fixed_arg = sp.S.Zero if fixed is None else fixed
        return sp.Expr.__new__(cls, num, den, fixed_arg, sp.true if total else sp.false)

    @property
    def num(self) -> sp.Basic:
        return self.args[0]

    @property
    def den(self) -> sp.Basic:
        return self.args[1]

    @property
    def fixed(self) -> sp.Basic | None:
        return None if self.args[2] == 0 else self.args[2]

    @property
    def total(self) -> bool:
        return bool(self.args[3])

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        d = r"\mathrm{d}" if self.total else r"\partial"
        tex = rf"\frac{{{d} {printer._print(self.num)}}}{{{d} {printer._print(self.den)}}}"
        if self.fixed is not None:
            tex = rf"\left.{tex}\right|_{{{printer._print(self.fixed)}}}"
        return tex


class Concat(MatrixExpr):
    r"""The stacked vector ``[u; v]`` that the LSTM weights act on (eq. (8)-(12))."""

    def __new__(cls, *parts: sp.MatrixExpr) -> Concat:
        return sp.Basic.__new__(cls, *parts)

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return (sp.Add(*(p.shape[0] for p in self.args)), sp.S.One)

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return r"\left[" + "; ".join(printer._print(p) for p in self.args) + r"\right]"


class Chain(sp.Basic):
    """``a = b = c``: an equation with more than two sides, as in eq. (14)."""

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return " = ".join(printer._print(a) for a in self.args)

    @property
    def lhs(self) -> sp.Basic:
        return self.args[0]

    @property
    def rhs(self) -> sp.Basic:
        return self.args[-1]


class Entrywise(sp.Basic):
    """An elementwise vector expression such as σ'(a_t) ⊙ δ_t of eq. (5), printed with ⊙."""

    @property
    def expr(self) -> sp.Expr:
        return self.args[0]
