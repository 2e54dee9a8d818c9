"""``bptt-check report``: the article's derivation checked line by line, as LaTeX and PDF.

The report is built in a temporary folder next to the target and moved into place only when
every file is written (and, with pdflatex on PATH, compiled): a failure leaves no half-written
report.  Same seed and versions → the same bytes: no clock is read (the date is the caller's),
matplotlib's metadata is fixed, and pdflatex runs with SOURCE_DATE_EPOCH and FORCE_SOURCE_DATE.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from . import __version__, registry
from .evidence import (
    FINDINGS,
    Curve,
    Example,
    Grid,
    Proofs,
    Quantity,
    Statement,
    Table,
    Verdict,
)
from .glossary import GLOSSARY
from .latex import cjk, digits, matrix, tex, value
from .output import OutputError, folder_target, publish_folder, staged_folder
from .verdicts import verify

__all__ = ["ReportError", "build_report", "figure_file", "render", "write_figures"]

_COLOURS = {"holds": "holds", "holds-if": "holdsif", "fails": "fails"}
#: What a report folder holds; a folder with anything else is not replaced.
_OWN = {"report.tex", "report.pdf", "report.aux", "report.log", "report.out", "figures"}
#: A fixed epoch for pdflatex's dates (2026-01-01): the PDF carries no build time.
EPOCH = "1767225600"


class ReportError(RuntimeError):
    """The report could not be written or compiled (the message is one line)."""


def figure_file(identifier: str, key: str) -> str:
    """The file name of the figure of evidence item ``key`` of claim ``identifier``."""
    return f"{identifier}-{key.replace('_', '-')}.pdf"


# ---- equations ------------------------------------------------------------------------------


def _equation(display) -> str:
    """One displayed line (a :class:`derivations.equations.Display`): on one line when it fits
    the text width, else broken at its sums' terms — never shrunk."""
    intro = f"{display.intro}\n" if display.intro else ""
    if len(display.terms) == 1:
        return rf"{intro}\[ {display.latex} \]"
    lines = [rf"{display.lhs} &= {display.terms[0]}"]
    lines += [rf"&\quad {term}" for term in display.terms[1:]]
    broken = r"\begin{equation*}\begin{split}" + " \\\\\n".join(lines)
    broken += r"\end{split}\end{equation*}"
    return intro + "\\fitorbreak{%\n" + display.latex + "}{%\n" + broken + "}"


def _readings(number_: int) -> dict[str, list[str]]:
    from derivations.equations import equation

    eq = equation(number_)
    return {
        reading: [_equation(d) for d in eq.displays(reading)]
        for reading in ("as_written", "as_derived")
    }


# ---- evidence -------------------------------------------------------------------------------

#: Tables of the science checks that are reference detail (floating-point behaviour), set in
#: the appendix until their checks mark them with ``Table.appendix``.
_APPENDIX_TABLES = {"sigma_in_floating_point", "formulas"}
#: Columns that hold a share (a fraction of points), shown as percentages, by table key, until
#: their checks mark them.
_SHARES = {
    "map_shares": {"explodes", "vanishes", "undetermined"},
    "certificate_coverage": {"global_kappa", "per_model"},
    "explodes_right_of_the_line": {"share_exploding"},
}
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
    shares = _SHARES.get(item.key, set())
    rows = [
        [
            _percent(cell) if c.key in shares else value(cell)
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
    import re

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


def _example(example: Example, label: str, appendix: str = "") -> str:
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
            rf"\textbf{{Figure~\thefigure.}} {item.caption}",
        ]
    )


def _in_appendix(item) -> bool:
    return isinstance(item, Table) and (item.appendix or item.key in _APPENDIX_TABLES)


def _evidence(identifier: str, items) -> list[str]:
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
            out.append(_example(item, "Example"))
        elif isinstance(item, Grid | Curve):
            out.append(_figure(identifier, item))
    return out


# ---- sections -------------------------------------------------------------------------------

#: Each kind of finding as a count's noun, singular and plural.
_KINDS = {
    "definition": ("definition", "definitions"),
    "sound": ("sound statement", "sound statements"),
    "missing-condition": ("missing condition", "missing conditions"),
    "wrong-formula": ("wrong formula", "wrong formulas"),
    "wrong-derivation": ("wrong derivation", "wrong derivations"),
    "invalid-inference": ("invalid inference", "invalid inferences"),
    "wording": ("wording slip", "wording slips"),
}


def _title(identifier: str) -> str:
    """A section title: LaTeX in the text, plain in the PDF's bookmarks."""
    title = registry.get(identifier).title
    if title.latex == title.plain:
        return title.latex
    return rf"\texorpdfstring{{{title.latex}}}{{{_bookmark(title.plain)}}}"


def _bookmark(plain: str) -> str:
    """Plain text as a PDF bookmark: ASCII, underscores escaped."""
    return plain.replace("σ", "sigma").replace("≤", "<=").replace("_", r"\_")


def _name(identifier: str) -> str:
    """The claim's readable name, linked to its section."""
    return rf"\hyperref[claim:{identifier}]{{{registry.get(identifier).name.latex}}}"


def _appendix_label(identifier: str) -> str:
    return f"appendix:{identifier}"


def _appendix_items(v: Verdict) -> list[str]:
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


def _verdict_fields(v: Verdict) -> dict:
    claim = registry.get(v.id)
    appendix = _appendix_items(v)
    label = _appendix_label(v.id) if appendix else ""
    return {
        "verdict": v.verdict,
        "colour": _COLOURS[v.verdict],
        "finding": tex(_KINDS[v.finding][0]),
        "finding_means": tex(FINDINGS[v.finding]),
        "reason": v.reason.latex,
        "condition": v.condition.latex if v.condition else "",
        "condition_latex": v.condition_latex or "",
        "takeaway": v.takeaway.latex if v.takeaway else "",
        "quote": [cjk(line) for line in claim.quote],
        "translation": tex(claim.translation),
        "evidence": _evidence(v.id, v.evidence),
        "counterexamples": [
            _example(
                e, "Counterexample" if len(v.counterexample) == 1 else f"Counterexample {i}", label
            )
            for i, e in enumerate(v.counterexample, 1)
        ],
        "appendix": appendix,
        "appendix_label": label,
    }


def _groups(verdicts: list[Verdict]) -> list[list[Verdict]]:
    """Consecutive claims that hold on the same evidence (the LSTM's model equations) form
    one group."""
    groups: list[list[Verdict]] = []
    for v in verdicts:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and v.verdict == last.verdict == "holds"
            and v.evidence == last.evidence
            and v.equation != last.equation
        ):
            groups[-1].append(v)
        else:
            groups.append([v])
    return groups


def _sections(verdicts: list[Verdict]) -> list[dict]:
    """One section per claim; consecutive claims that hold on the same evidence share one
    section with a table of their equations.  An equation is displayed in the first section
    about it; later ones refer to that section."""
    from derivations.equations import equation

    shown: dict[int, str] = {}
    sections = []
    for group in _groups(verdicts):
        first = group[0]
        section = {
            "id": first.id,
            "labels": [v.id for v in group],
            "table": [],
            "same": True,
            "see": None,
            "readings": None,
            **_verdict_fields(first),
        }
        if len(group) == 1:
            section["title"] = _title(first.id)
            if first.equation in shown:
                section["see"] = (shown[first.equation], first.equation)
            else:
                section["readings"] = _readings(first.equation)
                shown[first.equation] = first.id
        else:
            numbers = [v.equation for v in group]
            topics = ", ".join(equation(n).topic for n in numbers)
            section["title"] = f"Equations ({numbers[0]})--({numbers[-1]}): {topics}"
            section["table"] = [
                {
                    "number": n,
                    "topic": equation(n).topic,
                    **{
                        key: r" \quad ".join(d.latex for d in equation(n).displays(reading))
                        for key, reading in (("written", "as_written"), ("derived", "as_derived"))
                    },
                }
                for n in numbers
            ]
            section["same"] = all(row["written"] == row["derived"] for row in section["table"])
            for v in group:
                shown[v.equation] = first.id
        sections.append(section)
    return sections


def _findings(verdicts: list[Verdict]) -> list[dict]:
    """The verdicts counted by kind of finding, in the order of :data:`FINDINGS`, each kind
    with the claims it holds (a group of model equations counted once per claim)."""
    out = []
    for kind in FINDINGS:
        chosen = [v for v in verdicts if v.finding == kind]
        if chosen:
            singular, plural = _KINDS[kind]
            out.append(
                {
                    "count": len(chosen),
                    "kind": tex(singular if len(chosen) == 1 else plural),
                    "means": tex(FINDINGS[kind]),
                    "claims": ", ".join(_name(v.id) for v in chosen),
                }
            )
    return out


def _environment():  # -> jinja2.Environment
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("bptt_check", "templates"),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(verdicts: list[Verdict], seed: int, date: str = "") -> str:
    """The report's LaTeX source for these verdicts: every number and figure is read from
    their evidence (the figures, drawn from it by :func:`bptt_check.figures.write_figures`,
    are referred to by name); nothing is computed.  ``date`` is printed on the title page
    when given."""
    from derivations.equations import equation

    software = ", ".join(
        f"{name} {version(name)}" for name in ("sympy", "numpy", "mpmath", "matplotlib")
    )
    sections = _sections(verdicts)
    return (
        _environment()
        .get_template("report.tex.j2")
        .render(
            version=tex(__version__),
            date="" if date in ("", "undated") else tex(date),
            seed=seed,
            software=tex(software),
            glossary=[(term, text.latex) for term, text in GLOSSARY],
            findings=_findings(verdicts),
            summary_rows=[
                {
                    "name": _name(v.id),
                    "verdict": v.verdict,
                    "colour": _COLOURS[v.verdict],
                    "finding": tex(_KINDS[v.finding][0]),
                    "reason": v.reason.latex,
                }
                for v in verdicts
            ],
            sections=sections,
            appendix=[
                {"title": s["title"], "label": s["appendix_label"], "tables": s["appendix"]}
                for s in sections
                if s["appendix"]
            ],
            corrected={
                "bptt": [_equation(d) for d in equation(5).displays("as_derived")],
                "jacobian": [_equation(d) for d in equation(7).displays("as_derived")],
            },
        )
    )


def _compile(folder: Path) -> None:
    environment = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "FORCE_SOURCE_DATE": "1"}
    for _ in range(2):  # the second run resolves the references of the summary table
        result = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
            cwd=folder,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            errors = [line for line in result.stdout.splitlines() if line.startswith("!")]
            raise ReportError(f"pdflatex failed: {errors[0] if errors else 'see report.log'}")


def build_report(
    directory: Path,
    seed: int = 0,
    pdf: bool = True,
    date: str = "",
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write ``directory``/report.tex with its figures (and report.pdf when ``pdf`` and
    pdflatex is on PATH), replacing the folder only once everything is written.  Each claim's
    check runs once; the figures and the LaTeX are drawn from the verdicts it returns."""
    say = progress or (lambda message: None)
    directory = Path(directory)
    try:  # the path is checked before any work: a bad -o fails at once
        target = folder_target(directory, _OWN)
    except OutputError as error:
        raise ReportError(str(error)) from None
    say("computing the verdicts")
    verdicts = verify(seed=seed, progress=lambda n, total, i: say(f"  [{n}/{total}] {i}"))
    with staged_folder(target) as folder:
        (folder / "figures").mkdir()
        say("drawing the figures")
        write_figures(verdicts, folder / "figures")
        say("writing report.tex")
        (folder / "report.tex").write_text(render(verdicts, seed, date), encoding="utf-8")
        if pdf and shutil.which("pdflatex"):
            say("compiling report.pdf with pdflatex")
            _compile(folder)
            for name in ("report.aux", "report.log", "report.out"):
                (folder / name).unlink(missing_ok=True)
        publish_folder(folder, target)  # one rename, or entry by entry into a mount point
    return sorted(directory.rglob("*"))


def write_figures(verdicts: list[Verdict], directory: Path) -> dict:
    """Every Grid and Curve of ``verdicts`` as a figure in ``directory`` (matplotlib is
    imported only when a report is built)."""
    from .figures import write_figures as draw

    return draw(verdicts, directory)
