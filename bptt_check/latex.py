r"""Plain text and evidence values as LaTeX for the report.

:func:`tex` escapes LaTeX's special characters and writes the Unicode symbols the verdicts use
(σ, ∂, ‖, ⊙, ≤, …) as math, so pdflatex with its default UTF-8 input needs no extra package.

>>> tex("f_t = σ(z_f) ≤ 1 & 50% of ∂L/∂W")
'$f_{t}$ = $\\sigma$($z_{f}$) $\\le$ 1 \\& 50\\% of $\\partial$L/$\\partial$W'
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["cjk", "digits", "matrix", "number", "tex", "value"]

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\^{}",  # \textasciicircum would pull in a bitmap text-companion font
}

_TEXT = {"—": "---", "–": "--", "’": "'", "“": "``", "”": "''"}

_MATH = {
    "σ": r"\sigma",
    "δ": r"\delta",
    "γ": r"\gamma",
    "ρ": r"\rho",
    "θ": r"\theta",
    "κ": r"\kappa",
    "η": r"\eta",
    "∂": r"\partial",
    "‖": r"\|",
    "⊙": r"\odot",
    "≤": r"\le",
    "≥": r"\ge",
    "∏": r"\prod",
    "Σ": r"\Sigma",
    "×": r"\times",
    "·": r"\cdot",
    "→": r"\to",
    "⇒": r"\Rightarrow",
    "√": r"\surd",
    "−": "-",
    "′": "'",
    "ᵀ": r"^{\top}",
    "₂": r"_2",
    "∞": r"\infty",
    "≈": r"\approx",
    "∈": r"\in",
    "…": r"\dots",
    "Ô": r"\hat{O}",
    "ā": r"\bar{a}",
    "ĉ": r"\hat{c}",
    "ε": r"\varepsilon",
    "≲": r"\lesssim",
    "⋯": r"\cdots",
    "²": r"^2",
    # OT1 text fonts set these as other glyphs (< prints ¡)
    "<": "<",
    ">": ">",
    "|": "|",
}


#: A subscripted name of the plain texts: ``f_t``, ``C_(t-1)``, ``W_{g_k}``.
_SUBSCRIPT = re.compile(r"([A-Za-z\u0370-\u03ff\x00]+)_(\([^()]*\)|\{[^{}]*\}|[A-Za-z0-9]+)")


def _subscript(match: re.Match) -> str:
    head, sub = match.group(1), match.group(2)
    if sub[0] in "({":
        sub = sub[1:-1]
    inner = "".join(_MATH.get(c, c) for c in sub.replace("\x00", r"\tilde{C}"))
    letters = "".join(_MATH.get(c, c) for c in head).replace("\x00", r"\tilde{C}")
    return f"{letters}_{{{inner}}}"


def tex(text: Any) -> str:
    """``text`` as LaTeX paragraph text (neighbouring symbols share one math group; a
    subscripted name such as ``C_(t-1)`` is set as math, :math:`C_{t-1}`)."""
    pieces: list[tuple[bool, str]] = []  # (is math, LaTeX)
    text = str(text).replace("C\u0303", "\x00")  # C̃: a letter and a combining tilde
    position = 0
    for match in _SUBSCRIPT.finditer(text):
        pieces += _plain(text[position : match.start()])
        pieces.append((True, _subscript(match)))
        position = match.end()
    pieces += _plain(text[position:])
    return _join(pieces)


def _plain(text: str) -> list[tuple[bool, str]]:
    pieces: list[tuple[bool, str]] = []
    for character in text:
        if character == "\x00":
            pieces.append((True, r"\tilde{C}"))
        elif character in _SPECIAL:
            pieces.append((False, _SPECIAL[character]))
        elif character in _MATH:
            pieces.append((True, _MATH[character]))
        elif character in _TEXT:
            pieces.append((False, _TEXT[character]))
        elif ord(character) > 127 and character not in "éèàüöä":
            pieces.append((False, f"[U+{ord(character):04X}]"))  # never one pdflatex cannot set
        else:
            pieces.append((False, character))
    return pieces


def _join(pieces: list[tuple[bool, str]]) -> str:
    out, math = [], []
    for is_math, latex in pieces:
        if is_math:
            if math and math[-1][-1].isalpha() and latex[0].isalpha():
                math.append(" ")  # \partial h, not \partialh
            math.append(latex)
            continue
        if math:
            out.append("$" + "".join(math) + "$")
            math = []
        out.append(latex)
    if math:
        out.append("$" + "".join(math) + "$")
    return "".join(out)


def number(value: float | int) -> str:
    r"""A number as LaTeX math: 6 significant digits, powers of ten for the very large and small.

    >>> number(0.25), number(-1.5), number(7.006530805437047e-08), number(3)
    ('$0.25$', '$-1.5$', '$7.00653 \\times 10^{-8}$', '$3$')
    """
    if isinstance(value, int) or value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"${value:.6g}$"
    mantissa, exponent = f"{value:.5e}".split("e")
    return rf"${float(mantissa):.6g} \times 10^{{{int(exponent)}}}$"


def digits(text: str) -> str:
    r"""A long decimal string (an mpmath value) in groups of five digits after the point, with
    room to break between groups.

    >>> digits("0.693147180559945309")
    '$0.69314\\,\\allowbreak 71805\\,\\allowbreak 59945\\,\\allowbreak 309$'
    >>> digits("0.0000012623803051")
    '$1.26238\\,\\allowbreak 03051 \\times 10^{-6}$'
    """
    head, point, tail = text.partition(".")
    exponent = ""
    zeros = len(tail) - len(tail.lstrip("0"))
    if head in ("0", "-0") and zeros >= 3 and "e" not in tail:  # 0.000012… as 1.2… × 10^-5
        rest = tail[zeros:]
        head, tail = head.replace("0", "") + rest[0], rest[1:] + f"e-{zeros + 1}"
    if "e" in tail:
        tail, exponent = tail.split("e")
        exponent = rf" \times 10^{{{int(exponent)}}}"
    groups = [tail[i : i + 5] for i in range(0, len(tail), 5)]
    return "$" + head + point + r"\,\allowbreak ".join(groups) + exponent + "$"


def _flat(value: list) -> list:
    out = []
    for item in value:
        out.extend(_flat(item) if isinstance(item, list) else [item])
    return out


def _shape(value: Any) -> tuple[int, ...]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


def _entry(data: Any) -> str:
    """A number inside math (no dollars)."""
    return value(data).strip("$")


def value(data: Any) -> str:
    r"""A value of the evidence as LaTeX text: yes/no for booleans, numbers as math, small
    vectors and matrices as matrices, long arrays by their shape and range.

    >>> value(True), value([[0.5]]), value([1.0, 2.0])
    ('yes', '$0.5$', '$\\begin{bmatrix}1 & 2\\end{bmatrix}$')
    >>> value([[0.0]] * 40)
    'all $0$ ($40 \\times 1$)'
    """
    if isinstance(data, bool):
        return "yes" if data else "no"
    if data is None:
        return "---"
    if hasattr(data, "latex") and hasattr(data, "value"):  # evidence.Named
        return data.latex
    if isinstance(data, int | float):
        return number(data)
    if isinstance(data, dict):
        lines = r" \\ ".join(f"{tex(k)}: {value(v)}" for k, v in data.items())
        return rf"\begin{{tabular}}[t]{{@{{}}l@{{}}}}{lines}\end{{tabular}}"
    if isinstance(data, list):
        flat, shape = _flat(data), _shape(data)
        size = r" \times ".join(map(str, shape))
        if len(flat) == 1:
            return value(flat[0])
        if len(set(map(repr, flat))) == 1 and len(flat) > 4:
            return f"all {value(flat[0])} (${size}$)"
        if len(flat) > 6 and all(isinstance(v, int | float) for v in flat):
            return rf"${size}$ values from {number(min(flat))} to {number(max(flat))}"
        column = len(shape) == 2 and shape[1] == 1  # a column vector, set as a transposed row
        rows = [flat] if column else data if len(shape) == 2 else [data]
        body = r" \\ ".join(" & ".join(_entry(v) for v in row) for row in rows)
        top = r"^{\top}" if column else ""
        return rf"$\begin{{bmatrix}}{body}\end{{bmatrix}}{top}$"
    if isinstance(data, str) and _NUMBER.fullmatch(data):  # a number as a string (mpmath)
        return number(float(data))
    return tex(data)


_NUMBER = re.compile(r"-?[0-9]+\.[0-9]*(e-?[0-9]+)?")


def cjk(text: str) -> str:
    r"""The article's Chinese text as LaTeX inside a CJK environment: the Chinese kept, LaTeX's
    special characters escaped, its symbols (σ) set as math.

    >>> cjk("而σ的值不会大于1,故不会出现梯度爆炸。")
    '而$\\sigma$的值不会大于1,故不会出现梯度爆炸。'
    """
    out = []
    for character in text:
        if character in _SPECIAL:
            out.append(_SPECIAL[character])
        elif character in _MATH and ord(character) > 127:
            out.append(f"${_MATH[character]}$")
        else:
            out.append(character)
    return "".join(out)


def matrix(data: Any) -> str:
    r"""A value with every entry shown (the appendix's parameters): vectors and matrices of up
    to 48 entries as matrices, longer ones by their shape and range.

    >>> matrix([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]])
    '$\\begin{bmatrix}1 & 2 & 3 \\\\ 4 & 5 & 6.5\\end{bmatrix}$'
    """
    if not isinstance(data, list) or len(_flat(data)) > 48 or len(_shape(data)) > 2:
        return value(data)
    shape = _shape(data)
    flat = _flat(data)
    if len(flat) == 1:
        return value(flat[0])
    column = len(shape) == 2 and shape[1] == 1
    rows = [flat] if column else data if len(shape) == 2 else [data]
    body = r" \\ ".join(" & ".join(_entry(v) for v in row) for row in rows)
    top = r"^{\top}" if column else ""
    return rf"$\begin{{bmatrix}}{body}\end{{bmatrix}}{top}$"
