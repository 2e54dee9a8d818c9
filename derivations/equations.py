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

from dataclasses import dataclass, field
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
    """One displayed line: its LaTeX on one line, and the same line cut at the terms of its sums
    (``lhs``, then ``first term``, ``+ term``, …): the terms to set on lines of their own when
    the line is wider than the page.  A line with nothing to cut has one term (its whole
    LaTeX) and no ``lhs``."""

    latex: str
    lhs: str
    terms: tuple[str, ...]


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
        return tuple(
            display
            for i, new in enumerate(news)
            for j, old in enumerate(olds)
            for display in _display(_eq(Partial(new, old), line.rhs.blocks[i, j]), show)
        )
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


def _rnn_equations() -> list[Equation]:
    cell, readout = rnn_cell("sigmoid"), rnn_readout("bce")
    names = {**dict(cell.latex_names), **dict(readout.latex_names)}
    names |= {
        "S_next": "S_{t+1}",
        "bar_S": r"\delta_{t}",
        "bar_S_next": r"\delta_{t+1}",
        "bar_a": r"\bar{a}_{t}",
        "bar_a_next": r"\bar{a}_{t+1}",
        "S_0": "S_{0}",
    }
    S_t, S_prev, X_t, O_t = (
        _vector("S_{t}"),
        _vector("S_{t-1}"),
        _vector("X_{t}", m),
        _vector("O_{t}", k),
    )
    W, U, V = _matrix("W", n, n), _matrix("U", n, m), _matrix("V", k, n)
    dot = {"mul_symbol": "dot"}

    written_1 = _eq(
        S_t,
        ElementwiseApplyFunction(delta, MatAdd(MatMul(W, S_prev), MatMul(U, X_t), evaluate=False)),
    )
    written_2 = _eq(O_t, ElementwiseApplyFunction(delta, MatMul(V, S_t)))
    literal = sp.Mul(_O[_t], sp.log(_Ohat[_t]), evaluate=False)
    written_3 = _eq(_L, -sp.Sum(literal, (_t, 1, sp.Symbol("n"))))

    def loss_sum(name: str) -> sp.Expr:
        entry = LOSSES[name].xreplace({sp.Symbol("O"): _O[_t, _j], sp.Symbol("y"): _y[_t, _j]})
        return _eq(_L, sp.Sum(sp.Sum(entry, (_j, 1, k)), (_t, 1, T)))

    # eq. (4)-(6) as derived, read off the backward programs of the readout and of the cell:
    # each PullBack into a state is a Mᵀ term of δ_t, each Outer op a Σ_t of outer products
    readout_ops, cell_ops = backward(readout).ops, backward(cell).ops
    # O - y for the cross-entropy of sigmoid outputs; the seed ∂L/∂ℓ_t is 1 as L = Σ_t Σ_j ℓ_tj
    bar_o = backward(readout).assignment("bar_o").xreplace({sp.Symbol("bar_ell"): 1})
    shapes = {**readout.parameter_shapes, **cell.parameter_shapes}
    at_t = {"bar_o": bar_o, "bar_a": _vector(r"\bar{a}_{t}")}
    at_next = {"bar_a": _vector(r"\bar{a}_{t+1}")}  # the cell's adjoint one step later

    def pulled(ops: tuple, operand: str, source: dict) -> list[sp.MatrixExpr]:
        return [
            MatMul(Transpose(_matrix(term.weight, *shapes[term.weight])), source[term.source])
            for op in ops
            if isinstance(op, PullBack) and op.operand == operand
            for term in op.terms
        ]

    delta_t = _eq(
        sp.Symbol("bar_S"),
        MatAdd(
            *pulled(readout_ops, "S", at_t), *pulled(cell_ops, "S_prev", at_next), evaluate=False
        ),
    )
    a_t = _eq(sp.Symbol("bar_a"), Entrywise(backward(cell).assignment("bar_a")))
    grad = {
        op.weight: _eq(
            Partial(_L, _matrix(op.weight, *shapes[op.weight])),
            sp.Sum(MatMul(at_t[op.source], Transpose(_vector(names[op.operands[0]]))), (_t, 1, T)),
        )
        for op in (*readout_ops, *cell_ops)
        if isinstance(op, Outer)
    }

    def chain(param: sp.MatrixSymbol) -> tuple[sp.Basic, ...]:
        steps = [
            Partial(_L, O_t),
            Partial(O_t, S_t),
            Partial(S_t, S_prev),
            Partial(S_prev, _vector("S_{t-2}")),
            _cdots,
            Partial(_S[1], _S[0]),
            Partial(_S[0], param),
        ]
        product = [
            Partial(_L, O_t),
            Partial(O_t, S_t),
            sp.Product(Partial(_S[_k], _S[_k - 1]), (_k, 1, _t)),
            Partial(_S[_k - 1], param),
        ]
        return (_eq(Partial(_L, param), sp.Mul(*steps)), _eq(Partial(_L, param), sp.Mul(*product)))

    # W·σ' exactly as printed: two non-commuting factors, no claim about their shapes
    written_7 = _eq(Partial(S_t, S_prev), sp.Mul(*sp.symbols(r"W \sigma'", commutative=False)))
    derived_7 = _eq(Partial(S_t, S_prev), state_jacobian(cell, "S", "S_prev"))
    rnn_note = "δ in (1)-(2) is the logistic sigmoid σ; ⊙ is the article's *"
    return [
        Equation(
            1, "RNN state", (written_1,), (_eq(S_t, vector_form(cell, "S")),), names, rnn_note
        ),
        Equation(
            2, "RNN output", (written_2,), (_eq(O_t, vector_form(readout, "O")),), names, rnn_note
        ),
        Equation(
            3,
            "loss",
            (written_3,),
            (loss_sum("bce"),),
            names,
            "the article leaves open which of O_t, Ô_t is the output; derived: binary "
            "cross-entropy with targets y (readings 'literal' and 'ce' in derivations.rnn.LOSSES)",
            {"order": "none"},
        ),
        Equation(
            4,
            "gradient of V",
            (_eq(Partial(_L, V), sp.Mul(Partial(_L, O_t), Partial(O_t, V))),),
            (grad["V"],),
            names,
            "as written: one time step t; derived: a sum over every t",
            dot,
        ),
        Equation(
            5,
            "gradient of W",
            chain(W),
            (delta_t, a_t, grad["W"]),
            names,
            "as written: one chain ending in ∂S_0/∂W, which is 0 for a fixed S_0 (the second line "
            "leaves k free in ∂S_{k-1}/∂W; the product is bracketed here); derived: "
            "the adjoint recursion δ_t = ∂L_t/∂S_t + (∂S_{t+1}/∂S_t)ᵀ δ_{t+1}, summed over t",
            dot,
        ),
        Equation(
            6,
            "gradient of U",
            chain(U),
            (delta_t, a_t, grad["U"]),
            names,
            "as (5), with X_t in place of S_{t-1}",
            dot,
        ),
        Equation(
            7,
            "RNN step Jacobian",
            (written_7,),
            (derived_7,),
            names,
            "as written: W·σ'; derived: diag(σ'(a_t)) W with σ'(a_t) = S_t(1 - S_t); the "
            "order matters when n > 1",
            dot,
        ),
    ]


def _lstm_equations() -> list[Equation]:
    cell = lstm_cell()
    names = dict(cell.latex_names)
    vec = {name: _vector(tex) for name, tex in names.items()}
    x_t = _vector("x_{t}", m)
    concat = Concat(vec["h_prev"], x_t)

    def gate(g: str, fn: type) -> sp.Basic:
        affine = MatAdd(
            MatMul(_matrix(f"W_{g}", n, n + m), concat), _vector(f"b_{g}"), evaluate=False
        )
        return ElementwiseApplyFunction(fn, affine)

    written = {
        8: _eq(vec["i"], gate("i", sigma)),
        9: _eq(vec["f"], gate("f", sigma)),
        10: _eq(vec["g"], gate("c", sp.tanh)),
        11: _eq(
            vec["C"],
            MatAdd(
                HadamardProduct(vec["i"], vec["g"], evaluate=False),
                HadamardProduct(vec["f"], vec["C_prev"], evaluate=False),
                evaluate=False,
            ),
        ),
        12: _eq(vec["o"], gate("o", sigma)),
        13: _eq(
            vec["h"],
            HadamardProduct(vec["o"], ElementwiseApplyFunction(sp.tanh, vec["C"]), evaluate=False),
        ),
    }
    node = {8: "i", 9: "f", 10: "g", 11: "C", 12: "o", 13: "h"}
    topics = {
        8: "input gate",
        9: "forget gate",
        10: "candidate cell",
        11: "cell state",
        12: "output gate",
        13: "hidden state",
    }
    eqs = [
        Equation(
            num,
            topics[num],
            (written[num],),
            (_eq(vec[node[num]], vector_form(cell, node[num])),),
            names,
            "W_g is n × (n+m) and acts on [h_{t-1}; x_t]; ⊙ is the article's *",
        )
        for num in range(8, 14)
    ]
    C_t, C_prev, h_t, h_prev = vec["C"], vec["C_prev"], vec["h"], vec["h_prev"]
    written_14 = Chain(Partial(C_t, C_prev), vec["f"], sp.Symbol(r"\sigma"))
    blocks = jacobian_blocks(cell)
    derived_14 = (
        _eq(Partial(C_t, C_prev, fixed=h_prev), cell_path_partial()),
        _eq(Partial(C_t, C_prev, total=True), total_cell_derivative()),
        _eq(
            Partial(Concat(C_t, h_t), Concat(C_prev, h_prev)),
            BlockMatrix([list(row) for row in blocks]),
        ),
    )
    eqs.append(
        Equation(
            14,
            "LSTM cell path",
            (written_14,),
            derived_14,
            names,
            "as written: f_t; derived: diag(f_t) only with h_{t-1} held fixed; the total "
            "derivative through h_{t-1} = o_{t-1} ⊙ tanh(C_{t-1}) and the full 2n × 2n "
            "state Jacobian (blocks C, h) carry the other paths",
        )
    )
    return eqs


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
