r"""A reading as SymPy display objects: the article's equations "as written"
(:mod:`derivations.equations`) are this module's output for the article's own LaTeX.

Vectors with a free time subscript become matrix symbols named as printed (``S_{t-1}``);
a subscript that is a concrete step or the index of an enclosing Σ or ∏ makes an indexed symbol
(``{S}_{k - 1}``, ``{O}_{t}`` under Σ_t); ∂ fractions are :class:`~derivations.notation.Partial`,
``[h; x]`` a :class:`~derivations.notation.Concat`, ``a = b = c`` a
:class:`~derivations.notation.Chain`; a product with a bare σ' keeps two non-commuting factors
(it claims no shapes).  Where a product's extent is ambiguous the reading as printed — no
brackets, the product of the first factor alone — is the one shown.

>>> from derivations.reading import read
>>> (line,) = read(r"\frac{\partial S_{t}}{\partial S_{t-1}}=W\cdot {\sigma }'")
>>> to_sympy(line, lambda name: None)
Eq(Partial(S_{t}, S_{t-1}, 0, False), W*\sigma')
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from ..activations import delta, sigma
from ..notation import Chain, Concat, Partial
from .tree import (
    Add,
    Ambiguous,
    BigOp,
    Call,
    Deriv,
    Dots,
    Line,
    Node,
    Num,
    Prod,
    Sym,
)
from .tree import Concat as ConcatNode

__all__ = ["lines_to_sympy", "to_sympy"]

#: ``shape(name)``: (rows, columns) of a parameter, None for a vector (a column of length n).
Shape = Callable[[str], tuple[sp.Expr, sp.Expr] | None]

_FUNCTIONS = {r"\sigma": sigma, r"\delta": delta, r"\tanh": sp.tanh, r"\log": sp.log}
_CDOTS = sp.Symbol(r"\cdots", commutative=False)


class _Builder:
    def __init__(self, shape: Shape, size: Callable[[str], sp.Expr], line: Line) -> None:
        self.shape, self.size = shape, size
        self.bound: dict[str, sp.Symbol] = {}
        # the indices of the line's Σ and ∏, also where the article leaves them free after
        # the product (its k in ∂S_{k-1}/∂W)
        self.indices = {var: sp.Symbol(var, integer=True) for var in _big_vars(line)}

    def index(self, text: str) -> sp.Expr:
        if text.isdigit():
            return sp.Integer(int(text))
        return sp.sympify(text, locals={**self.indices, **self.bound})

    def indexed(self, sym: Sym) -> bool:
        sub = sym.sub or ""
        return sub.isdigit() or any(var in sub for var in (*self.bound, *self.indices))

    def symbol(self, sym: Sym, scalar: bool = False) -> sp.Basic:
        if scalar:
            return sp.Symbol(sym.name, commutative=False)
        if sym.sub is not None and self.indexed(sym):
            base = sp.IndexedBase(sp.Symbol(sym.stem, real=True))
            return base[self.index(sym.sub)]
        name = sym.stem + (f"_{{{sym.sub}}}" if sym.sub is not None else "")
        shape = self.shape(sym.stem + (f"_{sym.sub}" if sym.sub is not None else ""))
        if shape is not None:
            return sp.MatrixSymbol(sym.stem + (f"_{sym.sub}" if sym.sub else ""), *shape)
        if sym.sub is None and (sym.stem in ("L", "E") or sym.base in (r"\sigma", r"\delta")):
            return sp.Symbol(sym.name)  # the loss; a bare σ (eq. (14)'s "= σ")
        return sp.MatrixSymbol(name, self.size(sym.stem), 1)

    def build(self, node: Node) -> sp.Basic:
        if isinstance(node, Ambiguous):
            return self.build(node.readings[-1])  # as printed: no brackets
        if isinstance(node, Sym):
            return self.symbol(node)
        if isinstance(node, Num):
            return sp.sympify(node.text)
        if isinstance(node, Deriv):
            return Partial(self.build(node.num), self.build(node.den), total=node.total)
        if isinstance(node, Call):
            fn = _FUNCTIONS[node.fn]
            arg = self.build(node.arg)
            if isinstance(arg, sp.MatrixExpr):
                return ElementwiseApplyFunction(fn, arg)
            return fn(arg, evaluate=False)
        if isinstance(node, ConcatNode):
            return Concat(*(self.build(p) for p in node.parts))
        if isinstance(node, Add):
            terms = [self.build(t) if s > 0 else -self.build(t) for s, t in node.terms]
            if all(isinstance(t, sp.MatrixExpr) for t in terms):
                return MatAdd(*terms, evaluate=False)
            return sp.Add(*terms, evaluate=False)
        if isinstance(node, BigOp):
            var = sp.Symbol(node.var, integer=True)
            outer = dict(self.bound)
            self.bound[node.var] = var
            body = self.build(node.body)
            self.bound = outer
            limits = (var, self.index(node.lo), self._limit(node.hi))
            return (sp.Sum if node.kind == "sum" else sp.Product)(body, limits)
        if isinstance(node, Prod):
            return self.product(node)
        if isinstance(node, Dots):
            return _CDOTS
        raise ValueError(f"no SymPy form for {type(node).__name__}")

    def _limit(self, text: str) -> sp.Expr:
        if text in self.bound or text.isdigit():
            return self.index(text)
        return sp.Symbol(text, integer=True) if text in ("t", "k") else sp.Symbol(text)

    def product(self, node: Prod) -> sp.Basic:
        if node.op == "had":
            return HadamardProduct(self.build(node.left), self.build(node.right), evaluate=False)
        factors = _chain(node)
        if any(isinstance(f, Sym) and f.primes for f in factors):  # W·σ': shapes unclaimed
            return sp.Mul(*(self.symbol(f, scalar=True) for f in factors), evaluate=False)
        built = [self.build(f) for f in factors]
        if all(isinstance(b, sp.MatrixExpr) for b in built):
            return MatMul(*built, evaluate=False)
        return sp.Mul(*built, evaluate=False)


def _big_vars(node) -> set[str]:
    out = {node.var} if isinstance(node, BigOp) else set()
    for value in vars(node).values():
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, tuple):
                for part in item:
                    if isinstance(part, Node):
                        out |= _big_vars(part)
            elif isinstance(item, Node):
                out |= _big_vars(item)
    return out


def _chain(node: Node) -> list[Node]:
    if isinstance(node, Prod) and node.op == "mat":
        return _chain(node.left) + _chain(node.right)
    return [node]


def _default_size(stem: str) -> sp.Expr:
    from ..dims import k, m, n

    return {"X": m, "x": m, "O": k}.get(stem, n)


def to_sympy(line: Line, shape: Shape, size: Callable[[str], sp.Expr] = _default_size,
             lhs: sp.Basic | None = None) -> sp.Basic:  # fmt: skip
    """One displayed line as SymPy: ``Eq`` for two sides, :class:`Chain` for more (eq. (14)); a
    continuation line (``&= …``) takes ``lhs``, the left side of the line before."""
    builder = _Builder(shape, size, line)
    sides = [builder.build(side) for side in line.sides]
    if line.continued:
        if lhs is None:
            raise ValueError("a continuation line needs the left side of the line before")
        sides = [lhs, *sides]
    if len(sides) == 2:
        return sp.Eq(sides[0], sides[1], evaluate=False)
    return Chain(*sides)


def lines_to_sympy(
    lines: tuple[Line, ...], shape: Shape, size: Callable[[str], sp.Expr] = _default_size
) -> tuple[sp.Basic, ...]:
    """Every line of a display, continuation lines completed with the first line's left side
    (the second line of eq. (5))."""
    out: list[sp.Basic] = []
    for line in lines:
        first = out[0].args[0] if out else None
        out.append(to_sympy(line, shape, size, first))
    return tuple(out)
