r"""LaTeX in the article's notation.

:func:`latex` is ``sympy.latex`` with a printer that knows the project's atoms (``diag``, weight
blocks, ∂ fractions), prints transposes as ``^{\top}`` and Hadamard products as ``\odot``, keeps
the order of unevaluated matrix sums as written, and renames node symbols (``C_prev`` prints
as ``C_{t-1}``).

>>> from derivations.lstm import cell_path_partial, lstm_cell
>>> latex(cell_path_partial(), lstm_cell())
'\\operatorname{diag}\\left(f_{t}\\right)'
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from .graph import Graph

__all__ = ["ArticlePrinter", "latex"]


class ArticlePrinter(LatexPrinter):
    """LaTeX printer for the notation of eq. (1)-(14), given the LaTeX names of node symbols."""

    def __init__(self, names: dict[str, str] | None = None, **settings: object) -> None:
        symbol_names = {sp.Symbol(k): v for k, v in (names or {}).items()}
        super().__init__({"symbol_names": symbol_names, **settings})
        self._names = names or {}

    def _print_MatrixSymbol(self, expr: sp.Basic) -> str:
        if expr.name in self._names:
            return self._names[expr.name]
        return super()._print_MatrixSymbol(expr)

    def _entrywise(self, expr: sp.Expr) -> str:
        """An elementwise product of vectors, with ⊙ between the factors."""
        return ArticlePrinter(self._names, mul_symbol=r" \odot ").doprint(expr)

    def _print_Entrywise(self, expr: sp.Basic) -> str:
        return self._entrywise(expr.expr)

    def _print_Diag(self, expr: sp.Basic) -> str:
        return rf"\operatorname{{diag}}\left({self._entrywise(expr.expr)}\right)"

    def _print_WeightBlock(self, expr: sp.Basic) -> str:
        name = self._print(sp.MatrixSymbol(expr.name, *expr.shape))
        operand = self._names.get(expr.operand, self._print(sp.Symbol(expr.operand)))
        return rf"{name}^{{({operand})}}"

    def _print_Transpose(self, expr: sp.Basic) -> str:
        return rf"{self.parenthesize(expr.arg, PRECEDENCE['Pow'])}^{{\top}}"

    def _print_HadamardProduct(self, expr: sp.Basic) -> str:
        return r" \odot ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in expr.args)

    def _print_MatAdd(self, expr: sp.Basic) -> str:
        tex = ""
        for i, term in enumerate(expr.args):
            printed = self._print(term)
            if i and not printed.startswith("-"):
                tex += " + "
            elif i:
                tex += " "
            tex += printed
        return tex

    def _print_ElementwiseApplyFunction(self, expr: sp.Basic) -> str:
        probe = expr.function(sp.Symbol("x"))
        name = getattr(probe, "_latex_name", None) or rf"\{type(probe).__name__}"
        return rf"{name}\left({self._print(expr.expr)}\right)"


def latex(expr: sp.Basic, graph: Graph | dict[str, str] | None = None, **settings: object) -> str:
    """LaTeX of ``expr`` in the notation of eq. (1)-(14), naming nodes after ``graph``'s
    conventions."""
    names = dict(graph.latex_names) if isinstance(graph, Graph) else dict(graph or {})
    return ArticlePrinter(names, **settings).doprint(expr)
