"""Activations as SymPy functions that know their own derivative.

The article's δ (eq. 1-2) and σ (eq. 8, 9, 12, 14) are both the logistic sigmoid; tanh
(eq. 10, 13) is SymPy's own :class:`sympy.tanh`, whose derivative is already
``1 - tanh(x)**2``.  Because :meth:`sigma.fdiff` returns ``σ(x)(1 - σ(x))``, every
derivative of the models is a polynomial in activation values and weights, so
identities between two derivations can be proved with ``expand(a - b) == 0``.

>>> from sympy import Symbol, diff
>>> x = Symbol("x")
>>> diff(sigma(x), x)
(1 - sigma(x))*sigma(x)
>>> sigma(x).rewrite("exp")
1/(1 + exp(-x))
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import ArgumentIndexError

__all__ = ["delta", "sigma"]


class sigma(sp.Function):  # noqa: N801 - SymPy functions are lower case, like sympy.tanh
    r"""Logistic sigmoid σ(x) = 1 / (1 + e^{-x}): gates (8), (9), (12) and eq. (14).

    Its derivative is σ' = σ(1 - σ), the factor σ' of eq. (7).
    """

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_zero:
            return sp.S.Half
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        s = self.func(*self.args)
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_extended_real(self) -> bool | None:
        return self.args[0].is_extended_real

    def _eval_is_positive(self) -> bool | None:
        return True if self.args[0].is_extended_real else None

    def _eval_is_finite(self) -> bool | None:
        return True if self.args[0].is_extended_real else None

    _latex_name = r"\sigma"

    def _latex(self, printer: sp.printing.latex.LatexPrinter, exp: str | None = None) -> str:
        tex = rf"{self._latex_name}\left({printer._print(self.args[0])}\right)"
        return rf"{tex}^{{{exp}}}" if exp else tex


class delta(sigma):  # noqa: N801
    r"""The article's name δ for the logistic sigmoid in (1) and (2); identical to :class:`sigma`
    except in print, so the as-written equations show the article's symbol."""

    _latex_name = r"\delta"
