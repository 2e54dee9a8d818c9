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
from .evidence import Example, Grid, Proofs, Quantity, Statement, Table, Verdict
from .latex import digits, number, tex, value
from .output import OutputError, folder_target, publish_folder, staged_folder
from .verdicts import verify

__all__ = ["ReportError", "build_report", "render"]

_COLOURS = {"holds": "holds", "holds-if": "holdsif", "fails": "fails"}
#: What a report folder holds; a folder with anything else is not replaced.
_OWN = {"report.tex", "report.pdf", "report.aux", "report.log", "report.out", "figures"}
#: A fixed epoch for pdflatex's dates (2026-01-01): the PDF carries no build time.
EPOCH = "1767225600"


class ReportError(RuntimeError):
    """The report could not be written or compiled (the message is one line)."""


def write_figures(directory: Path, seed: int) -> list[Path]:
    """The figures of :mod:`bptt_check.figures` (imported when the report is built), and one
    per :class:`~bptt_check.evidence.Grid` in the evidence of the verdicts of ``seed``."""
    from .figures import write_figures as draw
    from .figures import write_grid

    paths = draw(directory, seed)
    for v in verify(seed=seed):  # computed once per process: the verdicts of the report
        for item in v.evidence:
            if isinstance(item, Grid):
                paths.append(write_grid(item, directory / _grid_file(v.id, item)))
    return paths


def _grid_file(identifier: str, grid: Grid) -> str:
    return f"{identifier}-{grid.key.replace('_', '-')}.pdf"


def _grid(identifier: str, grid: Grid) -> str:
    """A map as a figure in the text (not floating: it stays in its claim's section)."""
    return "\n".join(
        [
            _keep(22),
            r"\begin{center}",
            rf"\includegraphics[width=0.7\linewidth]{{figures/{_grid_file(identifier, grid)}}}",
            r"\end{center}",
            grid.caption,
        ]
    )


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


def _table(item: Table) -> str:
    header = [_header(c.header, c.unit) for c in item.columns]
    rows = [[value(cell) for cell in row] for row in item.rows]
    spec = "l" * len(item.columns)
    table = "\n".join(
        [
            r"\par\noindent\begin{tabular}{@{}" + spec + "@{}}",
            r"\toprule",
            " & ".join(header) + r" \\",
            r"\midrule",
            *map(_row, rows),
            r"\bottomrule",
            r"\end{tabular}\par",
        ]
    )
    return _keep(len(rows) + 6) + "\n" + item.caption + "\n" + table


def _statement(item: Statement) -> str:
    text = item.text.latex[0].upper() + item.text.latex[1:]
    return text + (rf":\[ {item.formula} \]" if item.formula else ".")


def _zero(q: Quantity) -> bool:
    return isinstance(q.value, list) and all(v == 0 for v in _flat(q.value))


def _flat(data) -> list:
    return [x for v in data for x in _flat(v)] if isinstance(data, list) else [data]


def _example(example: Example, label: str) -> str:
    """A model example: what it shows, the model, a table of its numbers (parameters that are
    0 in one row) and of what it exhibits, with the mpmath confirmations."""
    zeros = [q for q in example.params if _zero(q)]
    shown = [q for q in example.params if not _zero(q)]
    rows = [[_math(q.symbol), "parameter", value(q.value)] for q in shown]
    if zeros:
        names = ", ".join(q.symbol for q in zeros)
        rows.append([f"${names}$", "parameters", "all $0$"])
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


def _evidence(identifier: str, items) -> list[str]:
    """Each item as LaTeX, consecutive quantities in one table."""
    out, pending = [], []
    for item in (*items, None):
        if isinstance(item, Quantity):
            pending.append(item)
            continue
        if pending:
            out.append(_quantities(pending))
            pending = []
        if isinstance(item, Proofs):
            out.append(_proofs(item))
        elif isinstance(item, Table):
            out.append(_table(item))
        elif isinstance(item, Statement):
            out.append(_statement(item))
        elif isinstance(item, Example):
            out.append(_example(item, "Example"))
        elif isinstance(item, Grid):
            out.append(_grid(identifier, item))
    return out


# ---- sections -------------------------------------------------------------------------------


def _title(identifier: str) -> str:
    """A section title: LaTeX in the text, plain in the PDF's bookmarks."""
    title = registry.get(identifier).title
    if title.latex == title.plain:
        return title.latex
    return rf"\texorpdfstring{{{title.latex}}}{{{_bookmark(title.plain)}}}"


def _bookmark(plain: str) -> str:
    """Plain text as a PDF bookmark: ASCII, underscores escaped."""
    return plain.replace("σ", "sigma").replace("_", r"\_")


def _verdict_fields(v: Verdict) -> dict:
    return {
        "verdict": v.verdict,
        "colour": _COLOURS[v.verdict],
        "reason": v.reason.latex,
        "condition": v.condition.latex if v.condition else "",
        "condition_latex": v.condition_latex or "",
        "evidence": _evidence(v.id, v.evidence),
        "counterexamples": [
            _example(e, "Counterexample" if len(v.counterexample) == 1 else f"Counterexample {i}")
            for i, e in enumerate(v.counterexample, 1)
        ],
    }


def _sections(verdicts: list[Verdict]) -> list[dict]:
    """One section per claim; consecutive claims that hold on the same evidence (the LSTM's
    model equations) share one section with a table of their equations.  An equation is
    displayed in the first section about it; later ones refer to that section."""
    from derivations.equations import equation

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
    shown: dict[int, str] = {}
    sections = []
    for group in groups:
        first = group[0]
        section = {
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


def render(verdicts: list[Verdict], seed: int, date: str, checks: list[dict]) -> str:
    """The report's LaTeX source for these verdicts."""
    from derivations.equations import equation

    from .figures import FIGURES

    by_kind = {
        kind: [rf"\hyperref[claim:{v.id}]{{{tex(v.id)}}}" for v in verdicts if v.verdict == kind]
        for kind in ("holds", "holds-if", "fails")
    }
    software = ", ".join(
        f"{name} {version(name)}" for name in ("sympy", "numpy", "mpmath", "matplotlib")
    )
    return (
        _environment()
        .get_template("report.tex.j2")
        .render(
            version=tex(__version__),
            date=tex(date),
            seed=seed,
            software=tex(software),
            summary_rows=[
                {
                    "id": v.id,
                    "id_tex": tex(v.id),
                    "verdict": v.verdict,
                    "colour": _COLOURS[v.verdict],
                    "reason": v.reason.latex,
                }
                for v in verdicts
            ],
            sections=_sections(verdicts),
            checks=checks,
            figures=[
                {"path": f"figures/{name}", "caption": caption} for name, caption in FIGURES.items()
            ],
            summary={
                "holds": ", ".join(by_kind["holds"]) or "none",
                "holds_if": ", ".join(by_kind["holds-if"]) or "none",
                "fails": ", ".join(by_kind["fails"]) or "none",
            },
            corrected={
                "bptt": [_equation(d) for d in equation(5).displays("as_derived")],
                "jacobian": [_equation(d) for d in equation(7).displays("as_derived")],
            },
        )
    )


def gradient_checks(seed: int) -> list[dict]:
    """Every check of :mod:`numeric.checks` on a seeded RNN and LSTM: the worst comparison of
    each, with its tolerance and why."""
    import numpy as np

    from numeric import checks, lstm, rnn

    rng = np.random.default_rng(seed)
    n, m, k, T, B = 3, 2, 2, 5, 2
    problems = {
        "RNN (1)-(3)": rnn.problem(
            {
                "W": rng.uniform(-1, 1, (n, n)),
                "U": rng.uniform(-1, 1, (n, m)),
                "V": rng.uniform(-1, 1, (k, n)),
            },
            rng.uniform(-1, 1, (T, B, m)),
            rng.uniform(0, 1, (T, B, k)),
            rng.uniform(-1, 1, (B, n)),
        ),
        "LSTM (8)-(13)": lstm.problem(
            {
                **{f"W_{g}": rng.uniform(-1, 1, (n, n + m)) for g in "ifco"},
                **{f"b_{g}": rng.uniform(-1, 1, n) for g in "ifco"},
            },
            rng.uniform(-1, 1, (T, B, m)),
            rng.uniform(-1, 1, (B, n)),
            rng.uniform(-1, 1, (B, n)),
            rng.normal(size=(T, B, n)),
        ),
    }
    rows = []
    for model, problem in problems.items():
        for check in (
            checks.complex_step,
            checks.central_difference,
            checks.direction,
            checks.taylor,
            checks.per_step,
            checks.high_precision,
        ):
            report = check(problem)
            worst = report.worst
            rows.append(
                {
                    "model": model,
                    "check": tex(report.check),
                    "count": len(report.comparisons),
                    "passed": "yes" if report.passed else "no",
                    "error": number(float(f"{worst.abs_error:.2e}")),
                    "tolerance": number(float(f"{worst.tolerance:.2e}")),
                    "why": tex(worst.why),
                }
            )
    return rows


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
    date: str = "undated",
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write ``directory``/report.tex with its figures (and report.pdf when ``pdf`` and
    pdflatex is on PATH), replacing the folder only once everything is written."""
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
        write_figures(folder / "figures", seed)
        say("running the gradient checks")
        checks = gradient_checks(seed)
        say("writing report.tex")
        (folder / "report.tex").write_text(render(verdicts, seed, date, checks), encoding="utf-8")
        if pdf and shutil.which("pdflatex"):
            say("compiling report.pdf with pdflatex")
            _compile(folder)
            for name in ("report.aux", "report.log", "report.out"):
                (folder / name).unlink(missing_ok=True)
        publish_folder(folder, target)  # one rename, or entry by entry into a mount point
    return sorted(directory.rglob("*"))
