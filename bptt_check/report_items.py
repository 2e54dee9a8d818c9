r"""Evidence items as LaTeX: each kind of :mod:`bptt_check.evidence` item (quantities, tables,
proofs, statements, examples, maps and curves) as the report prints it, and what of a verdict
goes to the appendix (reference tables, the parameters of large examples).  Nothing here
computes: every number is the item's own.
"""

from __future__ import annotations

import re

from .evidence import Curve, Example, Grid, Proofs, Quantity, Statement, Table, Verdict
from .latex import digits, matrix, value

__all__ = ["appendix_items", "evidence", "example", "figure_file"]


def figure_file(identifier: str, key: str) -> str:
    """The file name of the figure of evidence item ``key`` of claim ``identifier``."""
    return f"{identifier}-{key.replace('_', '-')}.pdf"


# ---- items ----------------------------------------------------------------------------------

#: An example with more parameter entries than this shows them in the appendix.
_LONG_PARAMETERS = 12


def _math(symbol: str) -> str:
    return f"${symbol}$" if symbol else ""


def _header(header: str, unit: str) -> str:
    return f"{header} [{unit}]" if unit else header


def _keep(lines: int) -> str:
    """Start a new page unless ``lines`` lines are left (a table stays with its caption)."""
    return rf"\needspace{{{min(lines, 18)}\baselineskip}}"


def _row(cells: list[str]) -> str:
    """A table row; a row holding a matrix gets room below it."""
    end = r" \\[0.8ex]" if any("bmatrix" in cell for cell in cells) else r" \\"
    return " & ".join(cells) + end


def _tabularx(spec: str, header: list[str], rows: list[list[str]]) -> str:
    lines = [
        _keep(len(rows) + 4),
        r"\par\noindent\begin{tabularx}{\linewidth}{@{}" + spec + "@{}}",
        r"\toprule",
        " & ".join(header) + r" \\",
        r"\midrule",
        *map(_row, rows),
        r"\bottomrule",
        r"\end{tabularx}\par",
    ]
    return "\n".join(lines)


def _quantities(quantities: list[Quantity]) -> str:
    confirmed = any(q.mpmath is not None for q in quantities)
    rows = []
    for q in quantities:
        row = [_math(q.symbol), _header(q.meaning, q.unit), value(q.value)]
        if confirmed:
            row.append(digits(q.mpmath) if q.mpmath is not None else "")
        rows.append(row)
    header = ["", "meaning", "value"] + (["mpmath, 30 digits"] if confirmed else [])
    spec = "lXl" + (r">{\raggedright\arraybackslash}p{4.4cm}" if confirmed else "")
    return _tabularx(spec, header, rows)


def _proofs(item: Proofs) -> str:
    rows = [
        [
            p.statement,
            ", ".join(f"${k} = {v}$" for k, v in p.sizes.items()) or "symbolic",
            r"\textcolor{holds}{holds}" if p.holds else r"\textcolor{fails}{fails}",
        ]
        for p in item.proofs
    ]
    intro = r"\emph{Exact proofs} (symbolic identities at explicit sizes, not samples):"
    return _keep(len(rows) + 6) + intro + "\n" + _tabularx("Xll", ["proved", "at", "result"], rows)


def _percent(cell) -> str:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return rf"${100 * cell:.3g}\,\%$"
    return value(cell)


def _table(item: Table) -> str:
    header = [_header(c.header, c.unit) for c in item.columns]
    rows = [
        [
            _percent(cell) if c.percent else value(cell)
            for c, cell in zip(item.columns, row, strict=True)
        ]
        for row in item.rows
    ]
    widths = [
        max(len(_visible(cell)) for cell in column) for column in zip(header, *rows, strict=True)
    ]
    if sum(widths) > 80:  # too wide for the line: the widest column wraps, the rest stay
        widest = widths.index(max(widths))
        spec = "".join(
            r">{\raggedright\arraybackslash}X" if i == widest else "l" for i in range(len(widths))
        )
        begin, end = r"\begin{tabularx}{\linewidth}{@{}" + spec + "@{}}", r"\end{tabularx}"
    else:
        begin, end = r"\begin{tabular}{@{}" + "l" * len(widths) + "@{}}", r"\end{tabular}"
    body = [
        r"\par\noindent" + begin,
        r"\toprule",
        " & ".join(header) + r" \\",
        r"\midrule",
        *map(_row, rows),
        r"\bottomrule",
        end + r"\par",
    ]
    return _keep(len(rows) + 6) + "\n" + item.caption + "\n" + "\n".join(body)


def _visible(latex: str) -> str:
    """About what ``latex`` prints: commands and braces left out (for a column's width)."""
    return re.sub(r"\\[A-Za-z]+|[{}$^_]", "", latex)


def _statement(item: Statement) -> str:
    text = item.text.latex[0].upper() + item.text.latex[1:]
    return text + (rf":\[ {item.formula} \]" if item.formula else ".")


def _zero(q: Quantity) -> bool:
    return isinstance(q.value, list) and all(v == 0 for v in _flat(q.value))


def _flat(data) -> list:
    return [x for v in data for x in _flat(v)] if isinstance(data, list) else [data]


def _long(example: Example) -> bool:
    """Whether the example's parameters are too many for its claim's section."""
    return sum(len(_flat(q.value)) for q in example.params) > _LONG_PARAMETERS


def _parameter_rows(example: Example, full: bool) -> list[list[str]]:
    zeros = [q for q in example.params if _zero(q)]
    shown = [q for q in example.params if not _zero(q)]
    rows = [
        [_math(q.symbol), "parameter", matrix(q.value) if full else value(q.value)] for q in shown
    ]
    if zeros:
        names = ", ".join(q.symbol for q in zeros)
        rows.append([f"${names}$", "parameters", "all $0$"])
    return rows


def example(example: Example, label: str, appendix: str = "") -> str:
    """A model example: what it shows, the model, a table of its numbers (parameters that are
    0 in one row; many parameters in the appendix ``appendix``, a label) and of what it
    exhibits, with the mpmath confirmations."""
    if appendix and _long(example):
        names = ", ".join(_math(q.symbol) for q in example.params)
        rows = [[names, "parameters", rf"in the appendix, page~\pageref{{{appendix}}}"]]
    else:
        rows = _parameter_rows(example, full=False)
    rows += [[_math(q.symbol), _header(q.meaning, q.unit), value(q.value)] for q in example.inputs]
    title = example.title[0].upper() + example.title[1:]
    parts = [
        _keep(len(rows) + len(example.quantities) + 10),
        rf"\emph{{{label}: {title}.}} Model: {example.model}.",
    ]
    if rows:
        parts.append(_tabularx("lXl", ["", "input", "value"], rows))
    if example.quantities:
        parts.append(_quantities(list(example.quantities)))
    return "\n".join(parts)


def _figure(identifier: str, item: Grid | Curve) -> str:
    """A map or a curve as a numbered figure in the text (not floating: it stays beside the
    claim it supports), its caption saying what to look at."""
    path = figure_file(identifier, item.key)
    return "\n".join(
        [
            _keep(24),
            r"\begin{center}",
            rf"\includegraphics[width=0.72\linewidth]{{figures/{path}}}",
            r"\end{center}",
            rf"\refstepcounter{{figure}}\label{{figure:{path.removesuffix('.pdf')}}}"
            rf"\textbf{{Figure~\thefigure.}} {item.caption}\par\medskip",
        ]
    )


def _in_appendix(item) -> bool:
    return isinstance(item, Table) and item.appendix


def evidence(identifier: str, items) -> list[str]:
    """Each item as LaTeX, consecutive quantities in one table (appendix items left out)."""
    out, pending = [], []
    for item in (*items, None):
        if isinstance(item, Quantity):
            pending.append(item)
            continue
        if pending:
            out.append(_quantities(pending))
            pending = []
        if _in_appendix(item):
            continue
        if isinstance(item, Proofs):
            out.append(_proofs(item))
        elif isinstance(item, Table):
            out.append(_table(item))
        elif isinstance(item, Statement):
            out.append(_statement(item))
        elif isinstance(item, Example):
            out.append(example(item, "Example"))
        elif isinstance(item, Grid | Curve):
            out.append(_figure(identifier, item))
    return out


def appendix_items(v: Verdict) -> list[str]:
    """What of ``v`` goes to the appendix: reference tables, the parameters of examples with
    many of them."""
    out = [_table(item) for item in v.evidence if _in_appendix(item)]
    for example in (*v.counterexample, *(i for i in v.evidence if isinstance(i, Example))):
        if _long(example):
            title = example.title[0].upper() + example.title[1:]
            out.append(
                rf"\emph{{The parameters of the example: {title}.}}"
                + "\n"
                + _tabularx("lXl", ["", "", "value"], _parameter_rows(example, full=True))
            )
    return out
