r"""Exact bounds on the activations, proved in SymPy (the premises of eq. (7) and (14)).

* 0 < σ(x) < 1 for every real x: σ(x) = 1/(1 + e^{-x}) and e^{-x} > 0;
* 0 < σ'(x) ≤ 1/4: σ' = σ(1 - σ) = 1/4 - (σ - 1/2)², a square subtracted from 1/4, with
  equality only where σ = 1/2, i.e. x = 0;
* 0 < tanh'(x) ≤ 1: tanh' = 1 - tanh², and |tanh x| < 1;
* so 0 < f_t < 1 for the forget gate of eq. (9), whatever its pre-activation.

Each :class:`Bound` holds the identity it rests on; :func:`bounds` checks every identity with
``expand(a - b) == 0`` and every sign fact with SymPy's assumptions on a real symbol.

>>> all(b.holds for b in bounds())
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp

from .activations import sigma

__all__ = ["Bound", "bounds"]


@dataclass(frozen=True)
class Bound:
    """A bound of eq. (7) or (14) with the identity that proves it and the sign facts used."""

    name: str
    statement: str
    latex: str
    identity: tuple[sp.Expr, sp.Expr]
    facts: tuple[bool | None, ...]

    @property
    def holds(self) -> bool:
        left, right = self.identity
        return sp.expand(left - right) == 0 and all(fact is True for fact in self.facts)


@cache
def bounds() -> tuple[Bound, ...]:
    """The bounds, each proved exactly (not sampled)."""
    x = sp.Symbol("x", real=True)
    s, t = sp.Symbol("s", positive=True), sp.Symbol("tau", real=True)
    e = sp.exp(-x)
    half = sp.Rational(1, 2)
    q = 4 * sp.exp(2 * x) / (sp.exp(2 * x) + 1) ** 2
    return (
        Bound(
            "sigma-in-(0,1)",
            "0 < σ(x) < 1 for real x",
            r"0 < \sigma(x) < 1",
            (sigma(x).rewrite(sp.exp), 1 / (1 + e)),
            # 1/(1+e) with e > 0 is positive, and 1 - 1/(1+e) = e/(1+e) is positive
            ((1 / (1 + e)).is_positive, (e / (1 + e)).is_positive, e.is_positive),
        ),
        Bound(
            "sigma-prime-le-quarter",
            "0 < σ'(x) ≤ 1/4, with equality only at x = 0",
            r"0 < \sigma'(x) = \sigma(x)\left(1 - \sigma(x)\right) = \tfrac14 - "
            r"\left(\sigma(x) - \tfrac12\right)^2 \le \tfrac14",
            (sp.diff(sigma(x), x).subs(sigma(x), s), sp.Rational(1, 4) - (s - half) ** 2),
            # (s - 1/2)² ≥ 0 gives ≤ 1/4; σ' = e^{-x}/(1 + e^{-x})² > 0 gives the lower bound
            (
                ((t - half) ** 2).is_nonnegative,
                sp.simplify(sp.diff(sigma(x), x).rewrite(sp.exp) - e / (1 + e) ** 2) == 0,
                (e / (1 + e) ** 2).is_positive,
            ),
        ),
        Bound(
            "tanh-prime-le-one",
            "0 < tanh'(x) ≤ 1",
            r"0 < \tanh'(x) = 1 - \tanh^2(x) \le 1",
            (sp.diff(sp.tanh(x), x), 1 - sp.tanh(x) ** 2),
            # tanh² ≥ 0 gives ≤ 1; 1 - tanh² = 4e^{2x}/(e^{2x} + 1)² > 0 gives the lower bound
            (
                (sp.tanh(x) ** 2).is_nonnegative,
                sp.simplify((1 - sp.tanh(x) ** 2).rewrite(sp.exp) - q) == 0,
                q.is_positive,
            ),
        ),
    )
