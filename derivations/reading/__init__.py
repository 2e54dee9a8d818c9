r"""Read the notation of BPTT derivations: LaTeX as people write it, to a tree of its own.

SymPy's LaTeX reader misreads this notation silently (``\frac{\partial L}{\partial W}``
becomes L/W); this reader knows it — ∂ fractions and their chains, ∏ and Σ over time steps,
subscripts t, t-1, k and concrete steps, σ, δ, tanh and their primes, ⊙ and ``*`` entry by
entry, ``\cdot`` and juxtaposition as matrix products, ``[h_{t-1}; x_t]``, ``^T``,
``\operatorname{diag}``, ``\begin{aligned}`` with ``&=`` lines, ``\tag{N}`` and the article's
``\ \ \ (7)`` — and refuses the rest: an unknown token is a :class:`ReadError` naming it and
its position; an expression with two readings is an :class:`~.tree.Ambiguous` node holding both.

>>> (line,) = read(r"\frac{\partial C_{t}}{\partial C_{t-1}}=f_{t}=\sigma \ \ \ (14)")
>>> [type(side).__name__ for side in line.sides], line.number
(['Deriv', 'Sym', 'Sym'], '(14)')
>>> read(r"\frac{\partial L}{\partial W} = \foo")
Traceback (most recent call last):
...
derivations.reading.lexer.ReadError: unknown command \foo at line 1, column 33 (offset 32): '\\foo'
"""

from . import tree
from .lexer import ReadError
from .parser import read, read_expression
from .printing import to_latex
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

__all__ = [
    "Add",
    "Ambiguous",
    "BigOp",
    "Call",
    "Concat",
    "Deriv",
    "Dots",
    "Frac",
    "Line",
    "Node",
    "Num",
    "Pow",
    "Prod",
    "ReadError",
    "Sym",
    "Transpose",
    "read",
    "read_expression",
    "to_latex",
    "tree",
]
