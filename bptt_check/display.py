r"""Verdicts and their evidence as HTML (MathML math, inline SVG figures), LaTeX and one line.

The renderers of the web page (:mod:`bptt_check.html`) and of notebook display: every
:mod:`bptt_check.evidence` object has ``_repr_html_`` (xarray's convention: an escaped ``<pre>``
of the text repr, shown where a notebook is not trusted, then the HTML), ``_repr_latex_``
(SymPy's: ``$\displaystyle …$`` for math) and a one-line ``repr``, all written here from the
evidence's data.  Math is converted from the LaTeX the checks write (``$…$`` in their texts,
the equations' displays) to MathML by latex2mathml: no script, font or style is fetched.

>>> text_html(r"the path through $h_{t-1}$ & more")[:38]
'the path through <math xmlns="http://w'
>>> value_text([[0.5, 1.0], [2.0, 3.0]]), value_text(7.006530805437047e-08)
('[[0.5, 1], [2, 3]]', '7.00653e-08')
"""

from __future__ import annotations

import html
import io
import re
from typing import Any

from .evidence import (
    FINDINGS,
    Curve,
    Example,
    Grid,
    Proofs,
    Proved,
    Quantity,
    Statement,
    Table,
    Text,
    Verdict,
)
from .latex import value as latex_value

__all__ = [
    "CSS",
    "figure_svg",
    "item_html",
    "item_latex",
    "mathml",
    "one_line",
    "repr_html",
    "text_html",
    "value_html",
    "value_text",
    "verdict_html",
]

#: The style of the web page and of notebook display (inline: nothing is fetched).
CSS = """
.bc { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; line-height: 1.45;
  color: #1b1b1b; max-width: 52rem; }
.bc math { font-size: 1.05em; }
.bc .verdict { font-weight: 600; padding: 0 0.35em; border-radius: 0.25em; white-space: nowrap; }
.bc .holds { color: #0b6b2b; background: #e5f4ea; }
.bc .holds-if { color: #7a5200; background: #fbf1dc; }
.bc .fails { color: #a1141b; background: #fbe5e6; }
.bc .scroll { overflow-x: auto; max-width: 100%; }
.bc table { border-collapse: collapse; margin: 0.5em 0; }
.bc th, .bc td { border-bottom: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left;
  vertical-align: top; }
.bc th { border-bottom: 2px solid #999; font-weight: 600; }
.bc .caption { margin-bottom: 0.2em; }
.bc .long { display: inline-block; max-width: 100%; overflow-x: auto; overflow-y: hidden;
  vertical-align: middle; }
.bc .eq { overflow-x: auto; margin: 0.3em 0 0.3em 1em; }
.bc .eq math { display: inline math; math-style: normal; }
.bc .eq .cont { padding-left: 2em; }
.bc blockquote { margin: 0.5em 0; padding: 0.3em 0.8em; border-left: 3px solid #bbb;
  background: #f6f6f6; }
.bc figure { margin: 0.8em 0; }
.bc figure svg { max-width: 100%; height: auto; }
.bc figcaption { font-size: 0.92em; }
.bc .muted { color: #555; }
""".strip()

_FALLBACK_CSS = ".bc-fallback { display: none; } .bc-wrap { display: block !important; }"


# ---- math and text --------------------------------------------------------------------------


def mathml(latex: str, display: bool = False) -> str:
    """LaTeX math (no dollars) as a MathML ``<math>`` element."""
    from latex2mathml.converter import convert

    return convert(latex, display="block" if display else "inline")


def text_html(latex_text: str) -> str:
    """LaTeX text as written by a check (words with ``$…$`` math) as HTML: the words escaped,
    each ``$…$`` as MathML."""
    parts = latex_text.split("$")
    if len(parts) % 2 == 0:  # an unpaired dollar: not math, show the text as it is
        return html.escape(latex_text)
    out = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            out.append(html.escape(_words(part), quote=False))
        elif len(part) > _LONG_INLINE:  # may be wider than a phone: it scrolls on its own
            out.append(f'<span class="long">{mathml(part)}</span>')
        else:
            out.append(mathml(part))
    return "".join(out)


#: Inline math longer than this (in LaTeX characters) is set in a box of its own that scrolls.
_LONG_INLINE = 40


_TEXT_MARKS = {
    "~": "\u00a0",
    "---": "—",
    "--": "–",
    "``": "“",
    "''": "”",
    r"\%": "%",
    r"\&": "&",
    r"\_": "_",
    r"\#": "#",
    r"\,": "\u202f",  # a thin space (as in 60\,%)
    "\\ ": " ",  # an interword space after an abbreviation (i.e.\ )
}


def _words(text: str) -> str:
    for mark, character in _TEXT_MARKS.items():
        text = text.replace(mark, character)
    return text


_MATH_WORDS = {
    r"\sigma": "σ",
    r"\lambda": "λ",
    r"\kappa": "κ",
    r"\gamma": "γ",
    r"\rho": "ρ",
    r"\delta": "δ",
    r"\partial": "∂",
    r"\odot": "⊙",
    r"\top": "ᵀ",
    r"\max": "max",
    r"\min": "min",
    r"\le": "≤",
    r"\ge": "≥",
    r"\leq": "≤",
    r"\geq": "≥",
    r"\cdot": "·",
    r"\times": "×",
    r"\infty": "∞",
    r"\|": "‖",
    r"\eta": "η",
    r"\theta": "θ",
    r"\tanh": "tanh",
    r"\ln": "ln",
    r"\log": "log",
    r"\approx": "≈",
    r"\ne": "≠",
    r"\sim": "~",
    r"\in": "∈",
}


def plain(latex_text: str) -> str:
    """LaTeX text as plain Unicode for a one-line repr: ``$\\lambda_{\\max}$`` → ``λ_max``."""
    from derivations.printing import unicode_math

    text = latex_text.replace("$", "")
    text = re.sub(r"\\(?:operatorname|mathrm|text|mathbf)\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\[tdc]?frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/\2", text)
    for command in sorted(_MATH_WORDS, key=len, reverse=True):
        text = re.sub(re.escape(command) + r"(?![A-Za-z])", _MATH_WORDS[command], text)
    text = re.sub(r"\\[,;:! ]|\\left|\\right", "", text).replace("\\", "")
    return unicode_math(_words(text))


# ---- values ---------------------------------------------------------------------------------


def value_text(data: Any) -> str:
    """A value of the evidence as short plain text (numbers to 6 digits)."""
    if hasattr(data, "latex") and hasattr(data, "value"):  # evidence.Named
        return value_text(data.value)
    if isinstance(data, bool) or data is None:
        return {True: "yes", False: "no", None: "—"}[data]
    if isinstance(data, int | float):
        return f"{data:.6g}"
    if isinstance(data, list):
        return "[" + ", ".join(value_text(v) for v in data) + "]"
    if isinstance(data, dict):
        return ", ".join(f"{k}: {value_text(v)}" for k, v in data.items())
    return str(data)


def value_html(data: Any) -> str:
    """A value of the evidence as HTML: numbers and matrices as MathML, yes/no for booleans."""
    if isinstance(data, dict):
        return "<br>".join(f"{html.escape(str(k))}: {value_html(v)}" for k, v in data.items())
    if isinstance(data, str) and re.fullmatch(r"-?[0-9]+\.[0-9]{12,}(e-?[0-9]+)?", data):
        return _digits_html(data)  # a 30-digit mpmath value, in groups of five
    return text_html(latex_value(data))


def _digits_html(text: str) -> str:
    head, _, tail = text.partition(".")
    tail, _, exponent = tail.partition("e")
    groups = r"\,".join(tail[i : i + 5] for i in range(0, len(tail), 5))
    power = rf" \times 10^{{{int(exponent)}}}" if exponent else ""
    return mathml(f"{head}.{groups}{power}")


# ---- evidence items -------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]], caption: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    # the caption above the table, not in it: a table that scrolls on a phone keeps it in view
    cap = f'<p class="caption">{caption}</p>' if caption else ""
    return f'{cap}<div class="scroll">{table}</div>'


def _with_unit(header: str, unit: str) -> str:
    return text_html(f"{header} [{unit}]" if unit else header)


def _quantities(quantities: list[Quantity]) -> str:
    confirmed = any(q.mpmath is not None for q in quantities)
    rows = []
    for q in quantities:
        row = [mathml(q.symbol) if q.symbol else "", _with_unit(q.meaning, q.unit)]
        row.append(value_html(q.value))
        if confirmed:
            row.append(_digits_html(q.mpmath) if q.mpmath else "")
        rows.append(row)
    return _table(["", "meaning", "value"] + (["mpmath, 30 digits"] if confirmed else []), rows)


def _proofs(item: Proofs) -> str:
    rows = [
        [
            text_html(p.statement),
            ", ".join(mathml(f"{k} = {v}") for k, v in p.sizes.items()) or "symbolic",
            '<span class="verdict holds">holds</span>'
            if p.holds
            else '<span class="verdict fails">fails</span>',
        ]
        for p in item.proofs
    ]
    return "<p><em>Exact proofs</em> (symbolic identities at explicit sizes, not samples):</p>" + (
        _table(["proved", "at", "result"], rows)
    )


def _example(example: Example, label: str) -> str:
    rows = [[mathml(q.symbol), "parameter", value_html(q.value)] for q in example.params]
    rows += [
        [mathml(q.symbol), _with_unit(q.meaning, q.unit), value_html(q.value)]
        for q in example.inputs
    ]
    parts = [
        f"<p><em>{html.escape(label)}: {text_html(_capital(example.title))}.</em> "
        f"Model: {text_html(example.model)}.</p>"
    ]
    if rows:
        parts.append(_table(["", "input", "value"], rows))
    if example.quantities:
        parts.append(_quantities(list(example.quantities)))
    return "\n".join(parts)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def figure_svg(item: Grid | Curve) -> str:
    """A map or a curve drawn by :mod:`bptt_check.figures` as an inline ``<svg>`` element
    (text as paths, fixed ids and no date: same item, same bytes)."""
    import matplotlib

    from .figures import curve_figure, grid_figure

    draw = grid_figure if isinstance(item, Grid) else curve_figure
    with matplotlib.rc_context({"svg.hashsalt": "bptt-check", "svg.fonttype": "path"}):
        figure = draw(item)
        stream = io.StringIO()
        figure.savefig(stream, format="svg", metadata={"Date": None, "Creator": None})
    svg = stream.getvalue()
    return svg[svg.index("<svg") :]


def _figure(item: Grid | Curve, figures: bool) -> str:
    drawn = figure_svg(item) if figures else ""
    return f"<figure>{drawn}<figcaption>{text_html(item.caption)}</figcaption></figure>"


def item_html(item: Any, figures: bool = True) -> str:
    """One evidence item (or a :class:`Verdict`) as HTML; ``figures=False`` leaves maps and
    curves as their captions."""
    if isinstance(item, Verdict):
        from . import registry

        title = text_html(registry.get(item.id).title.latex)
        return f"<h4>{title}</h4>\n{verdict_html(item, figures=figures)}"
    if isinstance(item, Quantity):
        return _quantities([item])
    if isinstance(item, Proofs):
        return _proofs(item)
    if isinstance(item, Proved):
        return _proofs(Proofs("proof", (item,)))
    if isinstance(item, Table):
        header = [_with_unit(c.header, c.unit) for c in item.columns]
        rows = [[value_html(cell) for cell in row] for row in item.rows]
        return _table(header, rows, text_html(item.caption))
    if isinstance(item, Statement):
        formula = f'<div class="eq">{mathml(item.formula, True)}</div>' if item.formula else ""
        return f"<p>{text_html(_capital(item.text.latex))}{':' if formula else '.'}</p>{formula}"
    if isinstance(item, Example):
        return _example(item, "Example")
    if isinstance(item, Grid | Curve):
        return _figure(item, figures)
    if isinstance(item, Text):
        return f"<p>{text_html(item.latex)}</p>"
    raise ValueError(f"no HTML for {type(item).__name__}")


def evidence_html(items: tuple, figures: bool = True) -> list[str]:
    """Each item as HTML, consecutive quantities in one table (as the report sets them)."""
    out: list[str] = []
    pending: list[Quantity] = []
    for item in (*items, None):
        if isinstance(item, Quantity):
            pending.append(item)
            continue
        if pending:
            out.append(_quantities(pending))
            pending = []
        if item is not None:
            out.append(item_html(item, figures))
    return out


def badge(kind: str) -> str:
    return f'<span class="verdict {kind}">{kind}</span>'


def finding_text(finding: str) -> str:
    """A finding's kind in words: ``missing-condition`` → ``missing condition``."""
    return finding.replace("-", " ")


def verdict_html(v: Verdict, figures: bool = True) -> str:
    """A verdict's body: verdict and finding, reason, condition, takeaway, evidence and
    counterexamples (the page adds its title, quote and equations)."""
    finding = getattr(v, "finding", "")
    parts = [
        f"<p>{badge(v.verdict)}"
        + (
            f' <span class="muted">{finding_text(finding)}: {html.escape(FINDINGS[finding])}</span>'
            if finding in FINDINGS
            else ""
        )
        + "</p>",
        f"<p>{text_html(_capital(v.reason.latex))}.</p>",
    ]
    if v.condition:
        parts.append(f"<p><strong>Holds if</strong> {text_html(v.condition.latex)}.</p>")
    takeaway = getattr(v, "takeaway", None)
    if takeaway:
        parts.append(f"<p><strong>Take away:</strong> {text_html(takeaway.latex)}</p>")
    parts += evidence_html(v.evidence, figures)
    for index, example in enumerate(v.counterexample, 1):
        label = "Counterexample" if len(v.counterexample) == 1 else f"Counterexample {index}"
        parts.append(_example(example, label))
    return "\n".join(parts)


# ---- notebook display -----------------------------------------------------------------------


def repr_html(obj: Any, body: str) -> str:
    """xarray's convention: the escaped text repr in a ``<pre>`` (what an untrusted notebook,
    which drops styles, shows), then the HTML, shown once the style hides the fallback."""
    return (
        f'<div class="bc"><style>{CSS}\n{_FALLBACK_CSS}</style>'
        f'<pre class="bc-fallback">{html.escape(repr(obj))}</pre>'
        f'<div class="bc-wrap" style="display:none">{body}</div></div>'
    )


def _in_text(words: str) -> str:
    """Words inside math: ``\\text{…}`` with LaTeX's special characters escaped."""
    for character in "{}_^#&%$":
        words = words.replace(character, f"\\{character}")
    return rf"\text{{{words}}}"


def _latex_table(header: list[str], rows: list[list[str]]) -> str:
    spec = "l" * len(header)
    lines = [" & ".join(_in_text(h) for h in header)]
    lines += [" & ".join(row) for row in rows]
    return rf"\begin{{array}}{{{spec}}}" + r" \\ ".join(lines) + r"\end{array}"


def _math_value(data: Any) -> str:
    """A value inside math (no dollars)."""
    text = latex_value(data)
    parts = text.split("$")
    if len(parts) == 3 and not parts[0] and not parts[2]:
        return parts[1]
    return _in_text(plain(text))


def item_latex(item: Any) -> str:
    """An evidence item as LaTeX for a notebook: math as ``$\\displaystyle …$``, words as
    text beside it."""
    if isinstance(item, Quantity):
        symbol = item.symbol or _in_text(item.key)
        return rf"$\displaystyle {symbol} = {_math_value(item.value)}$"
    if isinstance(item, Statement):
        formula = rf" $\displaystyle {item.formula}$" if item.formula else ""
        return item.text.latex + formula
    if isinstance(item, Table):
        rows = [[_math_value(cell) for cell in row] for row in item.rows]
        header = [plain(c.header) for c in item.columns]
        return item.caption + rf" $\displaystyle {_latex_table(header, rows)}$"
    if isinstance(item, Proofs | Proved):
        proofs = item.proofs if isinstance(item, Proofs) else (item,)
        rows = [[_in_text(p.name), r"\text{holds}" if p.holds else r"\text{fails}"] for p in proofs]
        return rf"$\displaystyle {_latex_table(['proof', 'result'], rows)}$"
    if isinstance(item, Example):
        quantities = [*item.params, *item.inputs, *item.quantities]
        rows = [[q.symbol or _in_text(q.key), _math_value(q.value)] for q in quantities]
        return (
            f"{item.title}: {item.model}" + rf" $\displaystyle {_latex_table(['', 'value'], rows)}$"
        )
    if isinstance(item, Grid | Curve):
        return item.caption
    if isinstance(item, Verdict):
        return f"${_in_text(f'{item.id}: {item.verdict}')}$ — {item.reason.latex}"
    if isinstance(item, Text):
        return item.latex
    raise ValueError(f"no LaTeX for {type(item).__name__}")


def one_line(item: Any) -> str:
    """The one-line ``repr`` of an evidence item or a verdict."""
    name = type(item).__name__
    if isinstance(item, Verdict):
        finding = f", finding={item.finding!r}" if item.finding else ""
        return f"Verdict({item.id!r}, {item.verdict!r}{finding})"
    if isinstance(item, Quantity):
        shown = _short(value_text(item.value))
        mp = f", mpmath={_short(item.mpmath, 24)!r}" if item.mpmath else ""
        return f"Quantity({item.key!r}, {shown}{mp})"
    if isinstance(item, Table):
        return f"Table({item.key!r}, {len(item.rows)} rows × {len(item.columns)} columns)"
    if isinstance(item, Proved):
        return f"Proved({item.name!r}, {'holds' if item.holds else 'fails'})"
    if isinstance(item, Proofs):
        failed = sum(not p.holds for p in item.proofs)
        status = "all hold" if not failed else f"{failed} fail"
        return f"Proofs({item.key!r}, {len(item.proofs)} proofs, {status})"
    if isinstance(item, Statement):
        return f"Statement({item.key!r}, {_short(item.text.plain, 60)!r})"
    if isinstance(item, Example):
        counts = f"{len(item.params)} parameters, {len(item.quantities)} quantities"
        return f"Example({item.key!r}, {counts})"
    if isinstance(item, Grid):
        size = f"{len(item.y.values)} × {len(item.x.values)}"
        return f"Grid({item.key!r}, {size} over {item.x.key} × {item.y.key})"
    if isinstance(item, Curve):
        lines = f"{len(item.series)} series × {len(item.x.values)} points"
        return f"Curve({item.key!r}, {lines} over {item.x.key})"
    if isinstance(item, Text):
        return f"Text({_short(item.plain, 70)!r})"
    raise ValueError(f"no one-line repr for {name}")


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
