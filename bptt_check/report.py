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
import tempfile
from collections.abc import Callable
from functools import cache
from importlib.metadata import version
from pathlib import Path

from . import __version__, registry
from .latex import evidence_items, tex
from .verdicts import Verdict, verify

__all__ = ["ReportError", "build_report", "render"]

_COLOURS = {"holds": "holds", "holds-if": "holdsif", "fails": "fails"}
#: What a report folder holds; a folder with anything else is not replaced.
_OWN = {"report.tex", "report.pdf", "report.aux", "report.log", "report.out", "figures"}
#: A fixed epoch for pdflatex's dates (2026-01-01): the PDF carries no build time.
EPOCH = "1767225600"


class ReportError(RuntimeError):
    """The report could not be written or compiled (the message is one line)."""


def _display(latex: str) -> str:
    """One display equation; a wide one is shrunk to the line (never enlarged)."""
    if len(latex) > 100:
        width = r"\ifdim\width>\linewidth\linewidth\else\width\fi"
        return rf"\[ \resizebox{{{width}}}{{!}}{{$\displaystyle {latex}$}} \]"
    return rf"\[ {latex} \]"


def _lines(latex: str) -> list[str]:
    """Display lines of a reading; the 2n × 2n LSTM Jacobian is set block by block."""
    out = []
    for line in latex.split(r" \\ "):
        out += _jacobian_blocks() if r"\begin{matrix}" in line else [_display(line)]
    return out


@cache
def _jacobian_blocks() -> list[str]:
    import sympy as sp

    from derivations.adjoint import jacobian_blocks
    from derivations.lstm import lstm_cell
    from derivations.notation import Partial
    from derivations.printing import latex

    cell = lstm_cell()
    names = dict(cell.latex_names)
    lines = []
    for (new, _), row in zip(cell.state, jacobian_blocks(cell), strict=True):
        for (_, prev), block in zip(cell.state, row, strict=True):
            vectors = [sp.MatrixSymbol(names[v], 1, 1) for v in (new, prev)]
            equation = sp.Eq(Partial(*vectors), block, evaluate=False)
            lines.append(_display(latex(equation, cell)))
    return lines


def _title(identifier: str) -> str:
    """A section title: LaTeX in the text, plain in the PDF's bookmarks."""
    title = registry.get(identifier).title
    if title.latex == title.plain:
        return title.latex
    return rf"\texorpdfstring{{{title.latex}}}{{{_bookmark(title.plain)}}}"


def _bookmark(plain: str) -> str:
    """Plain text as a PDF bookmark: ASCII, underscores escaped."""
    return plain.replace("σ", "sigma").replace("_", r"\_")


def _items(data: dict) -> str:
    lines, depth = [r"\begin{itemize}"], 0
    for level, text in evidence_items(data):
        while depth < level:
            lines.append(r"\begin{itemize}")
            depth += 1
        while depth > level:
            lines.append(r"\end{itemize}")
            depth -= 1
        lines.append(rf"\item {text}")
    lines += [r"\end{itemize}"] * (depth + 1)
    return "\n".join(lines)


def _claim(v: Verdict) -> dict:
    return {
        "id": v.id,
        "id_tex": tex(v.id),
        "title": _title(v.id),
        "verdict": v.verdict,
        "colour": _COLOURS[v.verdict],
        "reason": tex(v.reason),
        "written": _lines(v.as_written_latex),
        "derived": _lines(v.derived_latex),
        "condition": tex(v.condition) if v.condition else "",
        "condition_latex": v.condition_latex or "",
        "exact": " (exact: symbolic identities and interval bounds, not samples)"
        if "exact" in v.evidence or any("exact" in key for key in v.evidence)
        else "",
        "evidence": _items(v.evidence),
        "counterexample": _items(v.counterexample) if v.counterexample else "",
    }


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
        kind: [tex(v.id) for v in verdicts if v.verdict == kind]
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
            claims=[_claim(v) for v in verdicts],
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
                "bptt": [_display(x) for x in equation(5).latex("as_derived").split(r" \\ ")],
                "jacobian": [_display(equation(7).latex("as_derived"))],
                "lstm": [_display(equation(14).latex("as_derived").split(r" \\ ")[1])],
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
                    "passed": report.passed,
                    "error": f"{worst.abs_error:.2e}",
                    "tolerance": f"{worst.tolerance:.2e}",
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
    from . import figures

    say = progress or (lambda message: None)
    directory = Path(directory)
    parent = directory.resolve().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ReportError(f"cannot write into {parent}: not a writable folder")
    if directory.exists() and not directory.is_dir():
        raise ReportError(f"{directory} exists and is not a folder: choose another -o")
    if directory.is_dir():
        foreign = sorted(p.name for p in directory.iterdir() if p.name not in _OWN)
        if foreign:
            raise ReportError(
                f"{directory} holds files that are not a report "
                f"({', '.join(foreign[:3])}): choose another -o"
            )
    say("computing the verdicts")
    verdicts = verify(seed=seed, progress=lambda n, total, i: say(f"  [{n}/{total}] {i}"))
    with tempfile.TemporaryDirectory(prefix=".bptt-report-", dir=parent) as scratch:
        folder = Path(scratch) / "report"
        (folder / "figures").mkdir(parents=True)
        say("drawing the figures")
        figures.write_figures(folder / "figures", seed)
        say("running the gradient checks")
        checks = gradient_checks(seed)
        say("writing report.tex")
        (folder / "report.tex").write_text(render(verdicts, seed, date, checks), encoding="utf-8")
        if pdf and shutil.which("pdflatex"):
            say("compiling report.pdf with pdflatex")
            _compile(folder)
            for name in ("report.aux", "report.log", "report.out"):
                (folder / name).unlink(missing_ok=True)
        previous = Path(scratch) / "previous"
        if directory.exists():
            directory.rename(previous)
        try:
            folder.rename(directory)
        except OSError:
            if previous.exists():  # put the old report back before failing
                previous.rename(directory)
            raise
    return sorted(directory.rglob("*"))
