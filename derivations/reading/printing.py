r"""A reading as canonical LaTeX: what the reader understood, with every grouping explicit.

Entry-by-entry products print as ``\odot``, matrix products as ``\cdot``, each product and
sum in parentheses, so two trees print alike exactly when they are the same reading.

>>> from derivations.reading import read_expression
>>> to_latex(read_expression(r"W^T \delta_{t+1} \odot (1 - h_t^2)"))
'((W^{\\top} \\cdot \\delta_{t+1}) \\odot (1 - h_{t}^{2}))'
"""

from __future__ import annotations

from .tree import (
    Add,
    Ambiguous,
    BigOp,
    Call,
    Concat,
    Deriv,
    Dots,
    Frac,
    Line,
    Node,
    Num,
    Pow,
    Prod,
    Sym,
    Transpose,
)

__all__ = ["to_latex"]

_FN = {"diag": r"\operatorname{diag}", "softmax": r"\operatorname{softmax}"}


def _sym(node: Sym) -> str:
    sub = f"_{{{node.sub}}}" if node.sub is not None else ""
    return node.stem + sub + "'" * node.primes


def to_latex(node: Node | Line) -> str:
    """Canonical LaTeX of a tree, a line (sides joined by ``=``, as eq. (14)) or an ambiguous
    node (its readings joined by ``\\;|\\;``, as eq. (5)'s ∏)."""
    if isinstance(node, Line):
        sides = " = ".join(to_latex(side) for side in node.sides)
        return ("= " if node.continued else "") + sides
    if isinstance(node, Sym):
        return _sym(node)
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Call):
        return f"{_FN.get(node.fn, node.fn)}{chr(39) * node.primes}({to_latex(node.arg)})"
    if isinstance(node, Deriv):
        d = r"\mathrm{d}" if node.total else r"\partial"
        tex = rf"\frac{{{d} {to_latex(node.num)}}}{{{d} {to_latex(node.den)}}}"
        if node.fixed is not None:
            tex = rf"\left.{tex}\right|_{{{to_latex(node.fixed)}}}"
        return tex
    if isinstance(node, Prod):
        op = r"\cdot" if node.op == "mat" else r"\odot"
        return f"({to_latex(node.left)} {op} {to_latex(node.right)})"
    if isinstance(node, Add):
        parts = []
        for index, (sign, term) in enumerate(node.terms):
            text = to_latex(term)
            parts.append(("- " if sign < 0 else ("+ " if index else "")) + text)
        return "(" + " ".join(parts) + ")"
    if isinstance(node, Pow):
        return f"{to_latex(node.base)}^{{{node.exp}}}"
    if isinstance(node, Transpose):
        return f"{to_latex(node.arg)}^{{\\top}}"
    if isinstance(node, Concat):
        return "[" + "; ".join(to_latex(p) for p in node.parts) + "]"
    if isinstance(node, BigOp):
        op = r"\sum" if node.kind == "sum" else r"\prod"
        return f"{op}_{{{node.var}={node.lo}}}^{{{node.hi}}} {{{to_latex(node.body)}}}"
    if isinstance(node, Frac):
        return rf"\frac{{{to_latex(node.num)}}}{{{to_latex(node.den)}}}"
    if isinstance(node, Dots):
        return r"\cdots"
    if isinstance(node, Ambiguous):
        return r" \;|\; ".join(to_latex(r) for r in node.readings)
    raise TypeError(f"not a node of derivations.reading.tree: {type(node).__name__}")
