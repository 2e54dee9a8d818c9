r"""The objects the reader builds from a derivation's LaTeX: a small tree, one class a notation.

Each node keeps ``pos``, the 0-based offset of its first character in the source, so a later
stage (the checker naming a symbol the cell does not have) can point at the text.  The tree
only describes what is written; what a symbol *is* (a node of the cell, a parameter, the loss)
is decided later, against a cell.

>>> Sym("W", sub="f").name
'W_f'
>>> Sym("C", decor="tilde", sub="t").name
'\\tilde{C}_t'
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    "Sym",
    "Transpose",
]


@dataclass(frozen=True)
class Node:
    """A node of the tree of one side of an equation such as eq. (7); ``pos`` is its offset in
    the source (not compared)."""

    pos: int = field(default=0, compare=False, kw_only=True)


@dataclass(frozen=True)
class Sym(Node):
    r"""A symbol (S_t of eq. (1), W_f of eq. (9), the bare σ' of eq. (7)): ``base`` (a letter
    or a command such as ``\sigma``), an optional decoration
    (``tilde``, ``hat``, ``bar``), the subscript as written (``t-1``, ``f``, ``hh``, ``3``) and
    the number of primes (``\sigma'`` has one)."""

    base: str
    decor: str | None = None
    sub: str | None = None
    primes: int = 0

    @property
    def stem(self) -> str:
        """The symbol without its subscript: ``\\tilde{C}``, ``W``."""
        return rf"\{self.decor}{{{self.base}}}" if self.decor else self.base

    @property
    def name(self) -> str:
        return self.stem + (f"_{self.sub}" if self.sub is not None else "") + "'" * self.primes


@dataclass(frozen=True)
class Num(Node):
    """A number as written (``1``, ``0.5``; the 1 of ``1 - h_t^2`` beside eq. (7))."""

    text: str


@dataclass(frozen=True)
class Call(Node):
    r"""A function applied to an argument (the δ of eq. (1), tanh of eq. (13)): ``\sigma(x)``,
    ``\tanh(C_t)``, ``\sigma'(a_t)``, ``\log x``, ``\operatorname{diag}(f_t)``, ``\exp``,
    ``\operatorname{softmax}``."""

    fn: str
    arg: Node
    primes: int = 0


@dataclass(frozen=True)
class Deriv(Node):
    r"""``\frac{\partial num}{\partial den}`` of eq. (4)-(7), (14) (``total``: written with d),
    optionally
    ``\left.…\right|_{fixed}``."""

    num: Node
    den: Node
    total: bool = False
    fixed: Node | None = None


@dataclass(frozen=True)
class Prod(Node):
    """A product of two factors (W·σ' of eq. (7), i_t * C̃_t of eq. (11)): ``op`` is ``"mat"``
    (``\\cdot``, ``\\times``, juxtaposition) or ``"had"`` (``\\odot``, ``\\circ``, ``*``:
    entry by entry)."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Add(Node):
    """A sum of signed terms (W S_{t-1} + U X_t of eq. (1)): ``terms`` pairs each term with +1
    or -1."""

    terms: tuple[tuple[int, Node], ...]


@dataclass(frozen=True)
class Pow(Node):
    """``base^{exp}`` (1 - tanh² beside eq. (13)): an integer exponent (``h_t^2``, ``W^{-1}``)
    or an index expression (``(W_{hh}^\top)^{T-i}``, kept as text)."""

    base: Node
    exp: int | str


@dataclass(frozen=True)
class Transpose(Node):
    r"""``x^T``, ``x^\top`` (the Wᵀ of the derived eq. (5))."""

    arg: Node


@dataclass(frozen=True)
class Concat(Node):
    """``[h_{t-1}; x_t]``: vectors stacked in order, as in eq. (8)-(12)."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class BigOp(Node):
    r"""``\sum_{var=lo}^{hi} body`` (``kind="sum"``, eq. (3)) or ``\prod`` (``kind="prod"``,
    eq. (5)); ``lo`` and
    ``hi`` are index texts (``1``, ``t``, ``T``, ``k+1``)."""

    kind: str
    var: str
    lo: str
    hi: str
    body: Node


@dataclass(frozen=True)
class Frac(Node):
    r"""``\frac{a}{b}`` that is not a derivative (unlike eq. (4)): a quotient."""

    num: Node
    den: Node


@dataclass(frozen=True)
class Dots(Node):
    r"""``\cdots``, ``\ldots``, ``...`` inside a chain (eq. (5)-(6)): the factors the pattern
    continues with."""


@dataclass(frozen=True)
class Ambiguous(Node):
    """An expression with more than one reading (the extent of eq. (5)'s ∏); ``what`` says
    where they part."""

    readings: tuple[Node, ...]
    what: str


@dataclass(frozen=True)
class Line(Node):
    """One displayed line (eq. (14) has three sides, eq. (5) two lines): its sides joined by
    ``=`` (a continuation line ``&= …`` starts with ``continued``), the equation number printed
    on it, if any."""

    sides: tuple[Node, ...]
    continued: bool = False
    number: str | None = None
