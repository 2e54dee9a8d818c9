r"""Plain text and evidence values as LaTeX for the report.

:func:`tex` escapes LaTeX's special characters and writes the Unicode symbols the verdicts use
(σ, ∂, ‖, ⊙, ≤, …) as math, so pdflatex with its default UTF-8 input needs no extra package.

>>> tex("f_t = σ(z_f) ≤ 1 & 50% of ∂L/∂W")
'f\\_t = $\\sigma$(z\\_f) $\\le$ 1 \\& 50\\% of $\\partial$L/$\\partial$W'
"""

from __future__ import annotations

from typing import Any

__all__ = ["evidence_items", "tex"]

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


def tex(text: Any) -> str:
    """``text`` as LaTeX paragraph text (neighbouring symbols share one math group)."""
    pieces: list[tuple[bool, str]] = []  # (is math, LaTeX)
    text = str(text).replace("C\u0303", "\x00")  # C̃: a letter and a combining tilde
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
    out, math = [], []
    for is_math, latex in pieces:
        if is_math:
            math.append(latex)
            continue
        if math:
            out.append("$" + "".join(math) + "$")
            math = []
        out.append(latex)
    if math:
        out.append("$" + "".join(math) + "$")
    return "".join(out)


def _value(value: Any, limit: int = 8) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        flat = _flatten(value)
        if flat and len(set(map(repr, flat))) == 1 and len(flat) > limit:
            return f"{len(flat)} entries, all {_value(flat[0])}"
        if len(flat) > limit:
            shown = ", ".join(_value(v) for v in flat[:limit])
            return f"[{shown}, … ({len(flat)} entries)]"
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def _flatten(value: list) -> list:
    out = []
    for item in value:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def evidence_items(data: dict[str, Any], depth: int = 0) -> list[tuple[int, str]]:
    """(depth, LaTeX line) for every entry of an evidence or counterexample dict, nested
    dicts indented, long arrays abbreviated."""
    lines = []
    for key, value in data.items():
        if str(key).endswith("_latex"):  # values that are LaTeX already: set them as math
            label = tex(str(key).removesuffix("_latex").replace("_", " "))
            if isinstance(value, dict):
                lines.append((depth, rf"\textit{{{label}}}"))
                lines.extend((depth + 1, rf"\textit{{{tex(k)}}}: ${v}$") for k, v in value.items())
            else:
                lines.append((depth, rf"\textit{{{label}}}: ${value}$"))
            continue
        label = tex(str(key).replace("_", " "))
        if isinstance(value, dict):
            lines.append((depth, rf"\textit{{{label}}}"))
            lines.extend(evidence_items(value, depth + 1))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append((depth, rf"\textit{{{label}}}"))
            for number, item in enumerate(value, 1):
                lines.append((depth + 1, rf"\textit{{{number}}}"))
                lines.extend(evidence_items(item, depth + 2))
        else:
            lines.append((depth, rf"\textit{{{label}}}: {tex(_value(value))}"))
    return lines
