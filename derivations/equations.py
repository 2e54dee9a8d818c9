r"""The article's equations (1)-(14), each in two readings, as a table.

* **as written** — what the article literally writes (its notation, its chains and products):
  the reader's output (:mod:`derivations.reading`) of the article's own LaTeX,
  :data:`ARTICLE_LATEX`, never typed here;
* **as derived** — what the generic derivation (:mod:`derivations.adjoint`) produces from the
  model equations (1)-(3) and (8)-(13), in the same notation.

Derived entries are read off the derived objects themselves (the ops of the backward programs,
the state Jacobians), never typed: if a derivation changes, its row changes.  Vectors are printed by
name and elementwise expressions in them are read entry by entry (``S_t (1 - S_t)`` is the
vector σ'(a_t)); ⊙ is the article's ``*``.

>>> print(equation(7).latex("as_written"))
\frac{\partial S_{t}}{\partial S_{t-1}} = W \cdot \sigma'
>>> print(equation(1).latex("as_derived"))
S_{t} = \sigma\left(W S_{t-1} + U X_{t}\right)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from typing import Literal

import sympy as sp
from sympy.matrices.expressions import BlockMatrix, HadamardProduct, MatAdd, MatMul, Transpose
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .adjoint import Outer, PullBack, backward, jacobian_blocks, state_jacobian
from .dims import T, k, m, n
from .graph import Affine, Elementwise, Graph
from .lstm import cell_path_partial, lstm_cell, total_cell_derivative
from .notation import Concat, Entrywise, Partial
from .printing import latex
from .reading import read
from .reading.sympy_form import lines_to_sympy
from .rnn import LOSSES, rnn_cell, rnn_readout

__all__ = ["ARTICLE_LATEX", "Display", "Equation", "equation", "equations", "vector_form"]

Reading = Literal["as_written", "as_derived"]


@dataclass(frozen=True)
class Display:
    """One displayed line of eq. (1)-(14): its LaTeX on one line, and the same line cut at the
    terms of its sums (``lhs``, then ``first term``, ``+ term``, …; the long lines are the
    derived eq. (14)): the terms to set on lines of their own when the line is wider than the
    page.  A line with nothing to cut has one term (its whole
    LaTeX) and no ``lhs``."""

    latex: str
    lhs: str
    terms: tuple[str, ...]
    intro: str = ""  # LaTeX text before the display: what a run of block displays shows


def _signed(term: str) -> str:
    return term if term.startswith("-") else f"+ {term}"


def _terms(expr: sp.Basic, show) -> list[str]:
    """The terms of a sum, signed after the first; a product whose first factor is a sum,
    ``(a + b) M``, is cut inside its parentheses."""
    if isinstance(expr, MatAdd):
        out: list[str] = []
        for index, term in enumerate(expr.args):
            pieces = _terms(term, show) if isinstance(term, MatMul) else [show(term)]
            out += [_signed(pieces[0]) if index else pieces[0], *pieces[1:]]
        return out
    if isinstance(expr, MatMul) and isinstance(expr.args[0], MatAdd):
        inner = _terms(expr.args[0], show)
        rest = expr.args[1:]
        tail = show(rest[0] if len(rest) == 1 else MatMul(*rest, evaluate=False))
        return [rf"\Bigl({inner[0]}", *inner[1:-1], rf"{inner[-1]}\Bigr) {tail}"]
    return [show(expr)]


def _display(line: sp.Basic, show) -> tuple[Display, ...]:
    """The display(s) of one line; a block matrix is shown block by block."""
    if not isinstance(line, sp.Eq):
        return (Display(show(line), "", (show(line),)),)
    if isinstance(line.rhs, BlockMatrix):
        news, olds = line.lhs.num.args, line.lhs.den.args
        blocks = [
            display
            for i, new in enumerate(news)
            for j, old in enumerate(olds)
            for display in _display(_eq(Partial(new, old), line.rhs.blocks[i, j]), show)
        ]
        jacobian = rf"$\partial {show(line.lhs.num)} / \partial {show(line.lhs.den)}$"
        intro = f"The blocks of the state Jacobian {jacobian}:"
        return (replace(blocks[0], intro=intro), *blocks[1:])
    terms = _terms(line.rhs, show)
    if len(terms) == 1:
        return (Display(show(line), "", (show(line),)),)
    return (Display(show(line), show(line.lhs), tuple(terms)),)


@dataclass(frozen=True)
class Equation:
    """One numbered equation (1)-(14) of the article in two readings (each a tuple of display
    lines)."""

    number: int
    topic: str
    as_written: tuple[sp.Basic, ...]
    as_derived: tuple[sp.Basic, ...]
    names: dict[str, str] = field(compare=False)
    note: str = ""
    written_settings: dict[str, object] = field(default_factory=dict, compare=False)

    def latex(self, reading: Reading = "as_written") -> str:
        """LaTeX of one reading; several lines are joined by ``\\\\`` (for an align block)."""
        if reading not in ("as_written", "as_derived"):
            raise ValueError(f"reading must be 'as_written' or 'as_derived', got {reading!r}")
        lines = getattr(self, reading)
        settings = self.written_settings if reading == "as_written" else {}
        return r" \\ ".join(latex(line, self.names, **settings) for line in lines)

    def displays(self, reading: Reading = "as_written") -> tuple[Display, ...]:
        """The lines of one reading as :class:`Display`: each with the pieces to break it at its
        sums' terms; a block matrix (the LSTM state Jacobian) one block per display."""
        if reading not in ("as_written", "as_derived"):
            raise ValueError(f"reading must be 'as_written' or 'as_derived', got {reading!r}")
        settings = self.written_settings if reading == "as_written" else {}

        def show(expr: sp.Basic) -> str:
            return latex(expr, self.names, **settings)

        return tuple(d for line in getattr(self, reading) for d in _display(line, show))


# ---- vectors and matrices as the article names them ---------------------------------------


def _vector(name: str, size: sp.Expr = n) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(name, size, 1)


def _matrix(name: str, rows: sp.Expr, columns: sp.Expr) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(name, rows, columns)


def vector_form(graph: Graph, node: str, inline: bool = True) -> sp.MatrixExpr:
    """A node of ``graph`` as a matrix expression, as in eq. (1), (2), (8)-(13): elementwise
    functions become ``f(·)`` of
    vectors, products ⊙, affine maps ``W [h; x] + b``; affine nodes are inlined when ``inline``."""
    names = dict(graph.latex_names)

    def vec(name: str) -> sp.MatrixExpr:
        return _vector(names.get(name, name), graph.sizes[name])

    def affine(step: Affine) -> sp.MatrixExpr:
        terms = []
        for weight, operands in step.terms:
            rows, columns = graph.parameter_shapes[weight]
            operand = vec(operands[0]) if len(operands) == 1 else Concat(*map(vec, operands))
            terms.append(MatMul(_matrix(weight, rows, columns), operand))
        if step.bias is not None:
            terms.append(_vector(step.bias, step.size))
        return terms[0] if len(terms) == 1 else MatAdd(*terms, evaluate=False)

    order = {step.out: index for index, step in enumerate(graph.steps)}

    def key(expr: sp.Expr) -> float:
        """Write as the article does: computed nodes in definition order, then inputs, then
        functions (i_t ⊙ C̃_t + f_t ⊙ C_{t-1}, o_t ⊙ tanh(C_t))."""
        if isinstance(expr, sp.Symbol):
            return order.get(expr.name, len(order))
        if isinstance(expr, sp.Mul):
            return min(map(key, expr.args))
        return len(order) + 1

    def convert(expr: sp.Expr) -> sp.MatrixExpr:
        if isinstance(expr, sp.Symbol):
            step = graph.step(expr.name) if expr.name not in graph.input_names else None
            return affine(step) if inline and isinstance(step, Affine) else vec(expr.name)
        if isinstance(expr, sp.Add):
            return MatAdd(*map(convert, sorted(expr.args, key=key)), evaluate=False)
        if isinstance(expr, sp.Mul):
            return HadamardProduct(*map(convert, sorted(expr.args, key=key)), evaluate=False)
        if isinstance(expr, sp.Function) and len(expr.args) == 1:
            return ElementwiseApplyFunction(type(expr), convert(expr.args[0]))
        raise ValueError(f"{graph.name}: cannot write {expr} in vector form")

    step = graph.step(node)
    if isinstance(step, Affine):
        return affine(step)
    assert isinstance(step, Elementwise)
    return convert(sp.sympify(step.expr))


# ---- the table ----------------------------------------------------------------------------

_t, _j = sp.symbols("t j", integer=True)
_L = sp.Symbol("L")
# indexed names for sums over t; their labels carry an assumption so that the node renaming
# (O -> O_t) of the printer does not touch them
_O, _y = (sp.IndexedBase(sp.Symbol(s, real=True)) for s in ("O", "y"))


def _eq(lhs: sp.Basic, rhs: sp.Basic) -> sp.Eq:
    return sp.Eq(lhs, rhs, evaluate=False)


#: The article's LaTeX of eq. (1)-(14), copied from its source character for character (the
#: aligned block of (8)-(13) split at its lines); the "as written" rows are the reader's
#: output of these strings (:mod:`derivations.reading`).
ARTICLE_LATEX: dict[int, str] = {
    1: r"S_{t} = \delta(WS_{t-1} + UX_{t}) \ \ \ \ \ \ \ (1)",
    2: r"O_{t} = \delta(VS_{t}) \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ (2)",
    3: (
        r"L=-\sum_{t=1}^{n}O_{t}log\hat{O_{t}} \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ "
        r"(3)"
    ),
    4: (
        r"\frac{\partial L}{\partial V}=\frac{\partial L}{\partial O_{t}}\cdot "
        r"\frac{\partial O_{t}}{\partial V} \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ (4)"
    ),
    5: (
        r"\begin{aligned} \frac{\partial L}{\partial W}&=\frac{\partial L}{\partial "
        r"O_{t}}\cdot \frac{\partial O_{t}}{\partial S_{t}}\cdot \frac{\partial "
        r"S_{t}}{\partial S_{t-1}}\cdot \frac{\partial S_{t-1}}{\partial "
        r"S_{t-2}}\cdot...\cdot \cdot \frac{\partial S_{1}}{\partial S_{0}}\cdot "
        r"\frac{\partial S_{0}}{\partial W}\\ &=\frac{\partial L}{\partial O_{t}}\cdot "
        r"\frac{\partial O_{t}}{\partial S_{t}}\cdot \prod_{k=1}^{t} \frac{\partial "
        r"S_{k}}{\partial S_{k-1}}\cdot \frac{\partial S_{k-1}}{\partial W}\ \ \ \ \ (5) "
        r"\end{aligned}"
    ),
    6: (
        r"\begin{aligned} \frac{\partial L}{\partial U}&=\frac{\partial L}{\partial "
        r"O_{t}}\cdot \frac{\partial O_{t}}{\partial S_{t}}\cdot \frac{\partial "
        r"S_{t}}{\partial S_{t-1}}\cdot \frac{\partial S_{t-1}}{\partial "
        r"S_{t-2}}\cdot...\cdot \cdot \frac{\partial S_{1}}{\partial S_{0}}\cdot "
        r"\frac{\partial S_{0}}{\partial U}\\ &=\frac{\partial L}{\partial O_{t}}\cdot "
        r"\frac{\partial O_{t}}{\partial S_{t}}\cdot \prod_{k=1}^{t} \frac{\partial "
        r"S_{k}}{\partial S_{k-1}}\cdot \frac{\partial S_{k-1}}{\partial U}\ \ \ \ \ (6) "
        r"\end{aligned}"
    ),
    7: r"\frac{\partial S_{t}}{\partial S_{t-1}}=W\cdot {\sigma }'\ \ \ \ \ (7)",
    8: r"i_{t}&=\sigma (W_{i}[h_{t-1}; x_{t}]+b_{i}) \ \ \ \ \ \ \ (8)",
    9: r"f_{t}&=\sigma (W_{f}[h_{t-1}; x_{t}]+b_{f}) \ \ \ \ \ \ (9)",
    10: r"\tilde{C}_{t}&=tanh (W_{c}[h_{t-1}; x_{t}]+b_{c}) \ \ (10)",
    11: r"C_{t}&=i_{t}*\tilde{C}_{t}+f_{t}*C_{t-1} \ \ \ \ \ \ \ \ (11)",
    12: r"o_{t}&=\sigma (W_{o}[h_{t-1}; x_{t}]+b_{o}) \ \ \ \ \ \ (12)",
    13: r"h_{t}&=o_{t}*tanh(C_{t}) \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ \ (13)",
    14: r"\frac{\partial C_{t}}{\partial C_{t-1}}=f_{t}=\sigma \ \ \ \ \ \ \ \ \ (14)",
}

#: Shapes of the article's parameters (every other symbol is a column: X_t of length m, O_t of
#: length k, the rest of length n).
_SHAPES: dict[str, tuple[sp.Expr, sp.Expr]] = {
    "W": (n, n),
    "U": (n, m),
    "V": (k, n),
    **{f"W_{g}": (n, n + m) for g in "ifco"},
    **{f"b_{g}": (n, sp.S.One) for g in "ifco"},
}


def _written(number: int) -> tuple[sp.Basic, ...]:
    """Eq. ``number`` as written: the reader's output of the article's own LaTeX."""
    return lines_to_sympy(read(ARTICLE_LATEX[number]), _SHAPES.get)


@dataclass(frozen=True)
class _Row:
    """One row of the table: an equation's number, topic, two readings, note and the printer
    settings of its as-written reading."""

    number: int
    topic: str
    as_written: tuple[sp.Basic, ...]
    as_derived: tuple[sp.Basic, ...]
    note: str
    settings: dict[str, object] = field(default_factory=dict)

    def equation(self, names: dict[str, str]) -> Equation:
        return Equation(
            self.number,
            self.topic,
            self.as_written,
            self.as_derived,
            names,
            self.note,
            self.settings,
        )


# ---- the RNN, eq. (1)-(7) -------------------------------------------------------------------

_RNN_NOTE = "δ in (1)-(2) is the logistic sigmoid σ; ⊙ is the article's *"
_DOT = {"mul_symbol": "dot"}  # the article's products are printed with a dot
_S_t, _S_prev, _O_t = _vector("S_{t}"), _vector("S_{t-1}"), _vector("O_{t}", k)


def _rnn_names(cell: Graph, readout: Graph) -> dict[str, str]:
    """LaTeX names of the RNN's nodes and of the adjoints of eq. (5)-(6)."""
    return {
        **dict(cell.latex_names),
        **dict(readout.latex_names),
        "S_next": "S_{t+1}",
        "bar_S": r"\delta_{t}",
        "bar_S_next": r"\delta_{t+1}",
        "bar_a": r"\bar{a}_{t}",
        "bar_a_next": r"\bar{a}_{t+1}",
        "S_0": "S_{0}",
    }


def _loss_sum(name: str) -> sp.Eq:
    """The loss reading ``name`` of :data:`derivations.rnn.LOSSES` summed over t and outputs j."""
    entry = LOSSES[name].xreplace({sp.Symbol("O"): _O[_t, _j], sp.Symbol("y"): _y[_t, _j]})
    return _eq(_L, sp.Sum(sp.Sum(entry, (_j, 1, k)), (_t, 1, T)))


def _pulled(ops: tuple, operand: str, source: dict, shapes: dict) -> list[sp.MatrixExpr]:
    """The Mᵀ x terms that the PullBack ops into ``operand`` contribute to its adjoint."""
    return [
        MatMul(Transpose(_matrix(term.weight, *shapes[term.weight])), source[term.source])
        for op in ops
        if isinstance(op, PullBack) and op.operand == operand
        for term in op.terms
    ]


def _adjoints(cell: Graph, readout: Graph, names: dict[str, str]) -> dict[str, sp.Eq]:
    """Eq. (4)-(6) as derived, read off the backward programs of the readout and of the cell:
    the recursion for δ_t (each PullBack into a state is a Mᵀ term), ā_t, and one Σ_t of outer
    products per weight (each Outer op)."""
    readout_ops, cell_ops = backward(readout).ops, backward(cell).ops
    # O - y for the cross-entropy of sigmoid outputs; the seed ∂L/∂ℓ_t is 1 as L = Σ_t Σ_j ℓ_tj
    bar_o = backward(readout).assignment("bar_o").xreplace({sp.Symbol("bar_ell"): 1})
    shapes = {**readout.parameter_shapes, **cell.parameter_shapes}
    at_t = {"bar_o": bar_o, "bar_a": _vector(r"\bar{a}_{t}")}
    at_next = {"bar_a": _vector(r"\bar{a}_{t+1}")}  # the cell's adjoint one step later
    recursion = MatAdd(
        *_pulled(readout_ops, "S", at_t, shapes),
        *_pulled(cell_ops, "S_prev", at_next, shapes),
        evaluate=False,
    )
    out = {
        "delta": _eq(sp.Symbol("bar_S"), recursion),
        "a": _eq(sp.Symbol("bar_a"), Entrywise(backward(cell).assignment("bar_a"))),
    }
    for op in (*readout_ops, *cell_ops):
        if isinstance(op, Outer):
            outer = MatMul(at_t[op.source], Transpose(_vector(names[op.operands[0]])))
            out[op.weight] = _eq(
                Partial(_L, _matrix(op.weight, *shapes[op.weight])), sp.Sum(outer, (_t, 1, T))
            )
    return out


def _rnn_rows(cell: Graph, readout: Graph, names: dict[str, str]) -> tuple[_Row, ...]:
    adjoint = _adjoints(cell, readout, names)
    step = Partial(_S_t, _S_prev)
    return (
        _Row(
            1,
            "RNN state",
            _written(1),
            (_eq(_S_t, vector_form(cell, "S")),),
            _RNN_NOTE,
        ),
        _Row(
            2,
            "RNN output",
            _written(2),
            (_eq(_O_t, vector_form(readout, "O")),),
            _RNN_NOTE,
        ),
        _Row(
            3,
            "loss",
            _written(3),
            (_loss_sum("bce"),),
            "the article leaves open which of O_t, Ô_t is the output; derived: binary "
            "cross-entropy with targets y (the other readings, −O log y as printed and the "
            "cross-entropy −y log O, are checked beside it)",
            {"order": "none"},
        ),
        _Row(
            4,
            "gradient of V",
            _written(4),
            (adjoint["V"],),
            "as written: one time step t; derived: a sum over every t",
            _DOT,
        ),
        _Row(
            5,
            "gradient of W",
            _written(5),
            (adjoint["delta"], adjoint["a"], adjoint["W"]),
            "as written: one chain ending in ∂S_0/∂W, which is 0 for a fixed S_0 (the second line "
            "leaves k free in ∂S_{k-1}/∂W, as printed: no brackets); derived: "
            "the adjoint recursion δ_t = ∂L_t/∂S_t + (∂S_{t+1}/∂S_t)ᵀ δ_{t+1}, summed over t",
            _DOT,
        ),
        _Row(
            6,
            "gradient of U",
            _written(6),
            (adjoint["delta"], adjoint["a"], adjoint["U"]),
            "as (5), with X_t in place of S_{t-1}",
            _DOT,
        ),
        _Row(
            7,
            "RNN step Jacobian",
            _written(7),
            (_eq(step, state_jacobian(cell, "S", "S_prev")),),
            "as written: W·σ'; derived: diag(σ'(a_t)) W with σ'(a_t) = S_t(1 - S_t); the "
            "order matters when n > 1",
            _DOT,
        ),
    )


def _rnn_equations() -> list[Equation]:
    """Eq. (1)-(7): the RNN of the article, one row per equation."""
    cell, readout = rnn_cell("sigmoid"), rnn_readout("bce")
    names = _rnn_names(cell, readout)
    return [row.equation(names) for row in _rnn_rows(cell, readout, names)]


# ---- the LSTM, eq. (8)-(14) -----------------------------------------------------------------

_LSTM_NOTE = "W_g is n × (n+m) and acts on [h_{t-1}; x_t]; ⊙ is the article's *"
#: Eq. (8)-(13): number, topic, the node it defines.
_LSTM_ROWS = (
    (8, "input gate", "i"),
    (9, "forget gate", "f"),
    (10, "candidate cell", "g"),
    (11, "cell state", "C"),
    (12, "output gate", "o"),
    (13, "hidden state", "h"),
)


def _lstm_jacobian(cell: Graph, vec: dict[str, sp.MatrixSymbol]) -> tuple[sp.Eq, ...]:
    """Eq. (14) as derived: the cell path with h_{t-1} held fixed, the total derivative through
    h_{t-1}, and the full 2n × 2n state Jacobian (blocks C, h)."""
    C_t, C_prev, h_t, h_prev = vec["C"], vec["C_prev"], vec["h"], vec["h_prev"]
    blocks = BlockMatrix([list(row) for row in jacobian_blocks(cell)])
    return (
        _eq(Partial(C_t, C_prev, fixed=h_prev), cell_path_partial()),
        _eq(Partial(C_t, C_prev, total=True), total_cell_derivative()),
        _eq(Partial(Concat(C_t, h_t), Concat(C_prev, h_prev)), blocks),
    )


def _lstm_equations() -> list[Equation]:
    """Eq. (8)-(14): the LSTM of the article, one row per equation."""
    cell = lstm_cell()
    names = dict(cell.latex_names)
    vec = {name: _vector(tex) for name, tex in names.items()}
    rows = [
        _Row(
            number,
            topic,
            _written(number),
            (_eq(vec[node], vector_form(cell, node)),),
            _LSTM_NOTE,
        )
        for number, topic, node in _LSTM_ROWS
    ]
    rows.append(
        _Row(
            14,
            "LSTM cell path",
            _written(14),
            _lstm_jacobian(cell, vec),
            "as written: f_t; derived: diag(f_t) only with h_{t-1} held fixed; the total "
            "derivative through h_{t-1} = o_{t-1} ⊙ tanh(C_{t-1}) and the full 2n × 2n "
            "state Jacobian (blocks C, h) carry the other paths",
        )
    )
    return [row.equation(names) for row in rows]


@cache
def equations() -> dict[int, Equation]:
    """Every equation (1)-(14) of the article, by number (built once, then cached)."""
    return {eq.number: eq for eq in (*_rnn_equations(), *_lstm_equations())}


def equation(number: int) -> Equation:
    """Equation ``number`` of the article, (1)-(14), in both readings."""
    table = equations()
    if number not in table:
        raise ValueError(f"the article numbers its equations 1-14, got {number!r}")
    return table[number]
