r"""The article's equations (1)-(14), each in two readings, as a table.

* **as written** — what the article literally writes (its notation, its chains and products);
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

from .activations import delta, sigma
from .adjoint import Outer, PullBack, backward, jacobian_blocks, state_jacobian
from .dims import T, k, m, n
from .graph import Affine, Elementwise, Graph
from .lstm import cell_path_partial, lstm_cell, total_cell_derivative
from .notation import Chain, Concat, Entrywise, Partial
from .printing import latex
from .rnn import LOSSES, rnn_cell, rnn_readout

__all__ = ["Display", "Equation", "equation", "equations", "vector_form"]

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

_t, _j, _k = sp.symbols("t j k", integer=True)
_L = sp.Symbol("L")
# indexed names for sums over t; their labels carry an assumption so that the node renaming
# (O -> O_t) of the printer does not touch them
_S, _O, _Ohat, _y = (sp.IndexedBase(sp.Symbol(s, real=True)) for s in ("S", "O", r"\hat{O}", "y"))
_cdots = sp.Symbol(r"\cdots", commutative=False)


def _eq(lhs: sp.Basic, rhs: sp.Basic) -> sp.Eq:
    return sp.Eq(lhs, rhs, evaluate=False)


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
_S_t, _S_prev, _S_prev2 = _vector("S_{t}"), _vector("S_{t-1}"), _vector("S_{t-2}")
_X_t, _O_t = _vector("X_{t}", m), _vector("O_{t}", k)
_W, _U, _V = _matrix("W", n, n), _matrix("U", n, m), _matrix("V", k, n)


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


def _delta_of(affine: sp.MatrixExpr) -> sp.MatrixExpr:
    return ElementwiseApplyFunction(delta, affine)


def _written_loss() -> sp.Eq:
    """Eq. (3) as printed: L = -Σ_t O_t log Ô_t."""
    literal = sp.Mul(_O[_t], sp.log(_Ohat[_t]), evaluate=False)
    return _eq(_L, -sp.Sum(literal, (_t, 1, sp.Symbol("n"))))


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


def _chain(param: sp.MatrixSymbol) -> tuple[sp.Basic, ...]:
    """Eq. (5)-(6) as printed: the chain down to ∂S_0/∂param, then its product form."""
    steps = [
        Partial(_L, _O_t),
        Partial(_O_t, _S_t),
        Partial(_S_t, _S_prev),
        Partial(_S_prev, _S_prev2),
        _cdots,
        Partial(_S[1], _S[0]),
        Partial(_S[0], param),
    ]
    product = [
        Partial(_L, _O_t),
        Partial(_O_t, _S_t),
        sp.Product(Partial(_S[_k], _S[_k - 1]), (_k, 1, _t)),
        Partial(_S[_k - 1], param),
    ]
    return (_eq(Partial(_L, param), sp.Mul(*steps)), _eq(Partial(_L, param), sp.Mul(*product)))


def _rnn_rows(cell: Graph, readout: Graph, names: dict[str, str]) -> tuple[_Row, ...]:
    adjoint = _adjoints(cell, readout, names)
    # W·σ' exactly as printed: two non-commuting factors, no claim about their shapes
    w_sigma = sp.Mul(*sp.symbols(r"W \sigma'", commutative=False))
    step = Partial(_S_t, _S_prev)
    written_state = _delta_of(MatAdd(MatMul(_W, _S_prev), MatMul(_U, _X_t), evaluate=False))
    return (
        _Row(
            1,
            "RNN state",
            (_eq(_S_t, written_state),),
            (_eq(_S_t, vector_form(cell, "S")),),
            _RNN_NOTE,
        ),
        _Row(
            2,
            "RNN output",
            (_eq(_O_t, _delta_of(MatMul(_V, _S_t))),),
            (_eq(_O_t, vector_form(readout, "O")),),
            _RNN_NOTE,
        ),
        _Row(
            3,
            "loss",
            (_written_loss(),),
            (_loss_sum("bce"),),
            "the article leaves open which of O_t, Ô_t is the output; derived: binary "
            "cross-entropy with targets y (the other readings, −O log y as printed and the "
            "cross-entropy −y log O, are checked beside it)",
            {"order": "none"},
        ),
        _Row(
            4,
            "gradient of V",
            (_eq(Partial(_L, _V), sp.Mul(Partial(_L, _O_t), Partial(_O_t, _V))),),
            (adjoint["V"],),
            "as written: one time step t; derived: a sum over every t",
            _DOT,
        ),
        _Row(
            5,
            "gradient of W",
            _chain(_W),
            (adjoint["delta"], adjoint["a"], adjoint["W"]),
            "as written: one chain ending in ∂S_0/∂W, which is 0 for a fixed S_0 (the second line "
            "leaves k free in ∂S_{k-1}/∂W, as printed: no brackets); derived: "
            "the adjoint recursion δ_t = ∂L_t/∂S_t + (∂S_{t+1}/∂S_t)ᵀ δ_{t+1}, summed over t",
            _DOT,
        ),
        _Row(
            6,
            "gradient of U",
            _chain(_U),
            (adjoint["delta"], adjoint["a"], adjoint["U"]),
            "as (5), with X_t in place of S_{t-1}",
            _DOT,
        ),
        _Row(
            7,
            "RNN step Jacobian",
            (_eq(step, w_sigma),),
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


def _lstm_written(vec: dict[str, sp.MatrixSymbol]) -> dict[str, sp.Basic]:
    """The right-hand sides of eq. (8)-(13) as printed, by the node they define."""
    concat = Concat(vec["h_prev"], _vector("x_{t}", m))

    def gate(g: str, fn: type) -> sp.Basic:
        weights = MatMul(_matrix(f"W_{g}", n, n + m), concat)
        return ElementwiseApplyFunction(fn, MatAdd(weights, _vector(f"b_{g}"), evaluate=False))

    def hadamard(*factors: sp.MatrixExpr) -> sp.MatrixExpr:
        return HadamardProduct(*factors, evaluate=False)

    return {
        "i": gate("i", sigma),
        "f": gate("f", sigma),
        "g": gate("c", sp.tanh),
        "C": MatAdd(
            hadamard(vec["i"], vec["g"]), hadamard(vec["f"], vec["C_prev"]), evaluate=False
        ),
        "o": gate("o", sigma),
        "h": hadamard(vec["o"], ElementwiseApplyFunction(sp.tanh, vec["C"])),
    }


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
    written = _lstm_written(vec)
    rows = [
        _Row(
            number,
            topic,
            (_eq(vec[node], written[node]),),
            (_eq(vec[node], vector_form(cell, node)),),
            _LSTM_NOTE,
        )
        for number, topic, node in _LSTM_ROWS
    ]
    rows.append(
        _Row(
            14,
            "LSTM cell path",
            (Chain(Partial(vec["C"], vec["C_prev"]), vec["f"], sp.Symbol(r"\sigma")),),
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
