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

import re

import sympy as sp
from sympy.matrices.expressions import BlockMatrix, HadamardProduct, MatAdd, MatMul
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import pretty_symbol
from sympy.printing.pretty.stringpict import line_width, prettyForm, stringPict

from .graph import Graph
from .notation import Chain, Concat, Partial

__all__ = [
    "ArticlePrettyPrinter",
    "ArticlePrinter",
    "latex",
    "pretty",
    "unicode_math",
    "unicode_name",
]


class ArticlePrinter(LatexPrinter):
    """LaTeX printer for the notation of eq. (1)-(14), given the LaTeX names of node symbols."""

    def __init__(self, names: dict[str, str] | None = None, **settings: object) -> None:
        symbol_names = {sp.Symbol(k): v for k, v in (names or {}).items()}
        super().__init__({"symbol_names": symbol_names, **settings})
        self._names = names or {}

    def _needs_mul_brackets(self, expr: sp.Basic, first: bool = False, last: bool = False) -> bool:
        # eq. (5)-(6) print ∏_k ∂S_k/∂S_{k-1} · ∂S_{k-1}/∂W without brackets, as the article
        # does (SymPy brackets a product that is not the last factor)
        if isinstance(expr, sp.Product):
            return False
        return super()._needs_mul_brackets(expr, first=first, last=last)

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


# ---- Unicode for a terminal ---------------------------------------------------------------

_ACCENTS = {r"\hat": "\u0302", r"\tilde": "\u0303", r"\bar": "\u0304"}
_GREEK = {
    r"\sigma": "σ",
    r"\delta": "δ",
    r"\gamma": "γ",
    r"\rho": "ρ",
    r"\ell": "ℓ",
    r"\cdots": "⋯",
    r"\partial": "∂",
}
_SUB = dict(
    zip("0123456789+-=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True)
)
_SUP = dict(zip("0123456789+-=()T", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵀ", strict=True))


#: What a subscript may hold to be set in Unicode: an index in time or over steps (t, t-1, k,
#: j, 0, …).  A name (the gate of W_f, W_i; λ_max) keeps its underscore, so that the four gates
#: of eq. (8)-(12) look alike: W_i, W_f, W_c, W_o (Unicode has ᵢ and ₒ but no f or c).
_INDEX = set("0123456789tjk+-−=(),")


def _script(text: str, table: dict[str, str], mark: str) -> str:
    """``text`` as Unicode sub/superscripts when every character has one (a subscript: when it
    is an index, :data:`_INDEX`), else ``_x``/``_(x)``."""
    text = text.replace(" ", "").replace("−", "-")
    index = mark != "_" or all(c in _INDEX for c in text)
    if text and index and all(c in table for c in text):
        return "".join(table[c] for c in text)
    return f"{mark}{text}" if len(text) == 1 or text.isalnum() else f"{mark}({text})"


#: A subscript in plain text: ``h_(t-1)``, ``h_{t-1}``, ``f_t``, ``λ_max``.
_PLAIN_SUBSCRIPT = re.compile(r"(?<=[^\s_^(])_(\([^()]*\)|\{[^{}]*\}|[A-Za-z0-9]+)")


def unicode_math(text: str) -> str:
    """Plain text about eq. (1)-(14) in the one notation of the terminal: an index as Unicode
    subscripts,
    whichever way it was written (``h_(t-1)``, ``h_{t−1}`` → ``hₜ₋₁``); a name keeps its
    underscore (``W_f``, ``λ_max``).

    >>> unicode_math("through h_(t−1) = o_{t-1} tanh(C_(t-1)); f_t ≤ 1 and W_f, λ_max")
    'through hₜ₋₁ = oₜ₋₁ tanh(Cₜ₋₁); fₜ ≤ 1 and W_f, λ_max'
    """

    def subscript(match: re.Match) -> str:
        body = match.group(1)
        inner = body[1:-1] if body[0] in "({" else body
        return _script(inner, _SUB, "_")

    return _PLAIN_SUBSCRIPT.sub(subscript, text)


def unicode_name(name: str) -> str:
    r"""A LaTeX node name of eq. (1)-(14) as plain Unicode: ``S_{t-1}`` → ``Sₜ₋₁``.

    Accents combine (``\tilde{C}_{t}`` gives C, U+0303, ₜ); a script without a Unicode form
    keeps its underscore:

    >>> unicode_name("S_{t-1}"), unicode_name("W_f"), unicode_name(r"\sigma'")
    ('Sₜ₋₁', 'W_f', "σ'")
    """
    for command, accent in _ACCENTS.items():
        while command + "{" in name:
            start = name.index(command + "{")
            end = name.index("}", start)
            name = name[:start] + name[start + len(command) + 1 : end] + accent + name[end + 1 :]
    for command, letter in _GREEK.items():
        name = name.replace(command, letter)
    out, i = "", 0
    while i < len(name):
        mark = name[i]
        if mark in "_^" and i + 1 < len(name):
            if name[i + 1] == "{":
                end = name.index("}", i)
                body, i = name[i + 2 : end], end + 1
            else:
                body, i = name[i + 1], i + 2
            out += _script(body, _SUB if mark == "_" else _SUP, mark)
        else:
            out, i = out + name[i], i + 1
    return out


class ArticlePrettyPrinter(PrettyPrinter):
    """SymPy's Unicode pretty printer for the notation of eq. (1)-(14): node names as
    subscripts (``Sₜ₋₁``), ∂ fractions, ``diag(·)``, ⊙ for elementwise products, ``ᵀ``."""

    def __init__(
        self, names: dict[str, str] | None = None, entrywise: bool = False, **settings: object
    ) -> None:
        super().__init__({"use_unicode": True, "wrap_line": False, **settings})
        self._names = names or {}
        self._entrywise = entrywise

    def _name(self, name: str) -> prettyForm:
        return prettyForm(unicode_name(self._names.get(name, name)))

    def _print_Symbol(self, expr: sp.Symbol, bold_name: bool = False) -> prettyForm:
        renamed = expr.name in self._names and expr == sp.Symbol(expr.name)
        return prettyForm(unicode_name(self._names[expr.name] if renamed else expr.name))

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> prettyForm:
        return self._name(expr.name)

    def _print_Indexed(self, expr: sp.Indexed) -> prettyForm:
        indices = [str(i).replace(" ", "") for i in expr.indices]
        glue = "" if all(len(i) == 1 for i in indices) else ","
        return prettyForm(
            unicode_name(expr.base.label.name) + _script(glue.join(indices), _SUB, "_")
        )

    def _print_Partial(self, expr: sp.Basic) -> prettyForm:
        d = "d" if expr.total else "∂"
        num = prettyForm(*self._print(expr.num).left(d))
        den = prettyForm(*self._print(expr.den).left(d))
        fraction = prettyForm(*num.below(stringPict.LINE, den))
        fraction.baseline, fraction.binding = num.height(), prettyForm.MUL
        if expr.fixed is None:
            return fraction
        held = self._print(expr.fixed)
        if held.height() > 1:
            return prettyForm(*stringPict.next(fraction, "│", held))
        wide = fraction.width()
        lines = [line + " " * (wide - line_width(line)) + " │" for line in fraction.picture]
        lines[-1] += held.picture[0]
        lines = [line + " " * (wide + 2 + held.width() - line_width(line)) for line in lines]
        return prettyForm("\n".join(lines), fraction.baseline, prettyForm.MUL)

    def _print_Pow(self, expr: sp.Pow) -> prettyForm:
        """A small power of a one-line base as a superscript: ``C̃ₜ²``, ``tanh(Cₜ)²``."""
        base, exponent = expr.as_base_exp()
        if exponent.is_Integer and 1 < exponent < 10:
            form = self._print(base)
            if form.height() == 1:
                if not (base.is_Atom or isinstance(base, sp.Function | sp.Indexed)):
                    form = prettyForm(*form.parens())
                return prettyForm(form.picture[0] + _SUP[str(exponent)], 0, prettyForm.POW)
        return super()._print_Pow(expr)

    def _print_Concat(self, expr: sp.Basic) -> prettyForm:
        return self._print_seq(expr.args, "[", "]", "; ")

    def _print_Chain(self, expr: sp.Basic) -> prettyForm:
        return self._print_seq(expr.args, None, None, " = ")

    def _vector(self, expr: sp.Expr) -> prettyForm:
        """An elementwise vector expression, ⊙ between its factors."""
        return ArticlePrettyPrinter(self._names, entrywise=True, **self._given)._print(expr)

    @property
    def _given(self) -> dict[str, object]:
        return {"order": self._settings["order"]}

    def _print_Entrywise(self, expr: sp.Basic) -> prettyForm:
        return self._vector(expr.expr)

    def _print_Diag(self, expr: sp.Basic) -> prettyForm:
        return prettyForm(*prettyForm(*self._vector(expr.expr).parens()).left("diag"))

    def _print_WeightBlock(self, expr: sp.Basic) -> prettyForm:
        operand = unicode_name(self._names.get(expr.operand, expr.operand))
        return prettyForm(f"{unicode_name(expr.name)}^({operand})")

    def _print_Transpose(self, expr: sp.Basic) -> prettyForm:
        inner = self._print(expr.arg)
        if not isinstance(expr.arg, sp.MatrixSymbol):
            inner = prettyForm(*inner.parens())
        return prettyForm(*inner.right("ᵀ"))

    def _print_HadamardProduct(self, expr: sp.Basic) -> prettyForm:
        return self._print_seq(
            expr.args,
            None,
            None,
            " ⊙ ",
            parenthesize=lambda a: isinstance(a, MatAdd | MatMul | HadamardProduct),
        )

    def _print_ElementwiseApplyFunction(self, expr: sp.Basic) -> prettyForm:
        name = pretty_symbol(type(expr.function(sp.Symbol("x"))).__name__)
        return prettyForm(*prettyForm(*self._print(expr.expr).parens()).left(name))

    def _print_Mul(self, expr: sp.Mul) -> prettyForm:
        if not self._entrywise or expr.is_commutative is False:
            return super()._print_Mul(expr)
        coefficient, rest = expr.as_coeff_Mul()
        factors = [
            prettyForm(*self._print(f).parens()) if f.is_Add else self._print(f)
            for f in rest.as_ordered_factors()
        ]
        form = self._print_seq(factors, None, None, " ⊙ ")
        if coefficient == -1:
            return prettyForm(*form.left("-"))
        if coefficient != 1:
            return prettyForm(*form.left(self._print(coefficient)))
        return form

    # -- places where a long line may break: between the terms of sums ----------------------

    def pieces(self, expr: sp.Basic) -> list[tuple[str, prettyForm]]:
        """``expr`` as (separator, form) pieces; a line may break before any separator."""
        if isinstance(expr, sp.Equality | Chain):
            sides = [expr.lhs, expr.rhs] if isinstance(expr, sp.Equality) else list(expr.args)
            out = self.pieces(sides[0])
            for side in sides[1:]:
                first, *rest = self.pieces(side)
                out += [(" = ", first[1]), *rest] if not first[0] else [(" = ", _EMPTY), *rest]
            return out
        if isinstance(expr, sp.Add | MatAdd):
            terms = expr.args if isinstance(expr, MatAdd) else self._as_ordered_terms(expr)
            out = []
            for term in terms:
                negative = out and _negative(term)
                (sep, form), *rest = self.pieces(-term if negative else term)
                out += [(" - " if negative else " + " if out else sep, form), *rest]
            return out
        if isinstance(expr, MatMul) and len(expr.args) > 1:
            out = []
            after_sum = False
            for factor in expr.args:
                inner = self.pieces(factor) if isinstance(factor, sp.Add | MatAdd) else []
                if len(inner) > 1:  # a sum in brackets: its terms may go on separate lines
                    (sep, first), *middle = inner
                    last_sep, last = middle[-1]
                    inner = [
                        (sep, prettyForm(*stringPict.next("(", first))),
                        *middle[:-1],
                        (last_sep, prettyForm(*stringPict.next(last, ")"))),
                    ]
                else:
                    form = self._print(factor)
                    if isinstance(factor, sp.Add | MatAdd | HadamardProduct):
                        form = prettyForm(*form.parens())
                    inner = [("", form)]
                # a line may break after the bracket closing a sum, before the next factor
                dot = _Break("⋅") if after_sum else "⋅"
                out += [(dot if out else "", inner[0][1]), *inner[1:]]
                after_sum = len(inner) > 1
            return out
        return [("", self._print(expr))]


_EMPTY = prettyForm("")


class _Break(str):
    """A separator before which a line may break although it is not a sum's sign: the ``⋅``
    after the bracket of ``(a + b)⋅M``."""


def _negative(term: sp.Basic) -> bool:
    coefficient = term.as_coeff_mmul()[0] if isinstance(term, sp.MatrixExpr) else term
    return bool(sp.S(coefficient).could_extract_minus_sign())


def _width(line: str) -> int:
    return line_width(line)


def _split_blocks(expr: sp.Basic) -> list[sp.Basic]:
    """``∂[a; b]/∂[c; d] = [[A, B], [C, D]]`` as one equation per block, ∂a/∂c = A, …"""
    if not (isinstance(expr, sp.Equality) and isinstance(expr.rhs, BlockMatrix)):
        return [expr]
    lhs = expr.lhs
    if not (isinstance(lhs, Partial) and isinstance(lhs.num, Concat | sp.MatrixSymbol)):
        return [expr]
    rows = lhs.num.args if isinstance(lhs.num, Concat) else (lhs.num,)
    columns = lhs.den.args if isinstance(lhs.den, Concat) else (lhs.den,)
    blocks = expr.rhs.blocks
    return [
        sp.Eq(Partial(row, column), blocks[i, j], evaluate=False)
        for i, row in enumerate(rows)
        for j, column in enumerate(columns)
    ]


def pretty(
    expr: sp.Basic,
    graph: Graph | dict[str, str] | None = None,
    width: int = 80,
    **settings: object,
) -> str:
    """Unicode of ``expr`` in the notation of eq. (1)-(14) for a terminal ``width`` columns wide.

    Long lines break between the terms of sums (a continuation starts with its ``+``); a term
    wider than the line is cut by SymPy's line wrapping (``↪``), so no line is over ``width``.
    A block matrix ``∂[C; h]/∂[C'; h']`` is printed block by block.

    >>> import sympy as sp
    >>> S, W = sp.MatrixSymbol("S_{t}", 2, 1), sp.MatrixSymbol("W", 2, 2)
    >>> print(pretty(sp.Eq(S, W * S, evaluate=False)))
    Sₜ = W⋅Sₜ
    """
    if width < 20:
        raise ValueError(f"width must be at least 20 columns, got {width}")
    names = dict(graph.latex_names) if isinstance(graph, Graph) else dict(graph or {})
    printer = ArticlePrettyPrinter(names, **settings)
    lines: list[str] = []
    parts = _split_blocks(expr)
    if len(parts) > 1:  # the block matrix is named, then set block by block
        lines += _pack([("", printer._print(expr.lhs)), (" ", prettyForm("by blocks:"))], width)
    for part in parts:
        lines += _pack(printer.pieces(part), width)
    return "\n".join(lines)


def _pack(pieces: list[tuple[str, prettyForm]], width: int) -> list[str]:
    """Greedily fill lines of at most ``width`` with the pieces; continuations are indented
    (after ``lhs = `` when that is narrow, else by 4).

    A line breaks only between the terms of a sum (before ``=``, ``+``, ``-``) or after the
    bracket of a sum that multiplies the next factor; a term is never cut, unless it alone is
    wider than a line (then between its factors, and SymPy's ``↪`` as the last resort)."""
    first_sep = next((i for i, (s, _) in enumerate(pieces) if s == " = "), None)
    lead = pieces[0][1].width() + 3 if first_sep == 1 else 4
    indent = " " * (lead if lead <= width // 3 else 4)
    groups: list[list[tuple[str, prettyForm]]] = []
    for sep, form in pieces:
        if not groups or sep.strip() in ("+", "-", "=") or isinstance(sep, _Break):
            groups.append([(sep, form)])
        else:
            groups[-1].append((sep, form))
    units = []
    for group in groups:
        parts = [group[0][1], *(part for sep, form in group[1:] for part in (sep, form))]
        whole = prettyForm(*stringPict.next(*parts))
        fits = whole.width() + len(group[0][0].lstrip()) + len(indent) <= width
        units += [(group[0][0], whole)] if fits or len(group) == 1 else group
    pieces = units
    rows: list[prettyForm] = []
    current: prettyForm | None = None
    for sep, form in pieces:
        if current is None:
            current = prettyForm(*stringPict.next(sep.lstrip(), form))
            continue
        joined = prettyForm(*stringPict.next(current, sep, form))
        if joined.width() <= width:
            current = joined
            continue
        rows.append(current)
        current = prettyForm(*stringPict.next(indent + sep.lstrip(), form))
    if current is not None:
        rows.append(current)
    out: list[str] = []
    for row in rows:
        text = row.render(wrap_line=False, use_unicode=True)
        if max(map(_width, text.splitlines())) > width:
            text = row.render(wrap_line=True, num_columns=width, use_unicode=True)
        out += [line.rstrip() for line in text.splitlines()]
    return out
