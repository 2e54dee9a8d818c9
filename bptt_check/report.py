"""``bptt-check report``: the article's derivation checked line by line, as LaTeX and PDF.

The report renders; it computes nothing.  :func:`build_report` runs each claim's check once
(:func:`bptt_check.verdicts.verify`); everything after that reads the verdicts alone: the
figures are their Grid and Curve items (:mod:`bptt_check.figures`), the sections their
reasons, findings, takeaways and items (:mod:`bptt_check.report_items`), the article's quotes
come from :mod:`bptt_check.registry` and the terms from :mod:`bptt_check.glossary`.

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
from .evidence import FINDINGS, Verdict
from .glossary import FINDING_NAMES, GLOSSARY
from .latex import cjk, tex
from .output import OutputError, folder_target, publish_folder, staged_folder
from .report_items import appendix_items, evidence, example, figure_file
from .verdicts import verify

__all__ = ["ReportError", "build_report", "figure_file", "render", "write_figures"]

_COLOURS = {"holds": "holds", "holds-if": "holdsif", "fails": "fails"}
#: What a report folder holds; a folder with anything else is not replaced.
_OWN = {
    "report.tex",
    "report.html",
    "report.pdf",
    "report.aux",
    "report.log",
    "report.out",
    "figures",
}
#: A fixed epoch for pdflatex's dates (2026-01-01): the PDF carries no build time.
EPOCH = "1767225600"


class ReportError(RuntimeError):
    """The report could not be written or compiled (the message is one line)."""


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


# ---- sections -------------------------------------------------------------------------------


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


def _verdict_fields(v: Verdict) -> dict:
    claim = registry.get(v.id)
    appendix = appendix_items(v)
    label = _appendix_label(v.id) if appendix else ""
    return {
        "verdict": v.verdict,
        "colour": _COLOURS[v.verdict],
        "finding": tex(FINDING_NAMES[v.finding][0]),
        "finding_means": tex(FINDINGS[v.finding]),
        "reason": v.reason.latex,
        "condition": v.condition.latex if v.condition else "",
        "condition_latex": v.condition_latex or "",
        "takeaway": v.takeaway.latex if v.takeaway else "",
        "quote": [cjk(line) for line in claim.quote],
        "translation": tex(claim.translation),
        "evidence": evidence(v.id, v.evidence),
        "counterexamples": [
            example(
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
            singular, plural = FINDING_NAMES[kind]
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
            date="" if not date else tex(date),
            seed=seed,
            software=tex(software),
            glossary=[(term, text.latex) for term, text in GLOSSARY],
            findings=_findings(verdicts),
            summary_rows=[
                {
                    "name": _name(v.id),
                    "verdict": v.verdict,
                    "colour": _COLOURS[v.verdict],
                    "finding": tex(FINDING_NAMES[v.finding][0]),
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
    verdicts: list[Verdict] | None = None,
) -> list[Path]:
    """Write ``directory``/report.tex with its figures, report.html (the same verdicts as one
    offline web page), and report.pdf when ``pdf`` and pdflatex is on PATH, replacing the
    folder only once everything is written.  Each claim's check runs once; the figures, the
    LaTeX and the page are drawn from the verdicts it returns, or from ``verdicts`` when given
    (computed with ``seed`` by :func:`bptt_check.verify`)."""
    say = progress or (lambda message: None)
    directory = Path(directory)
    try:  # the path is checked before any work: a bad -o fails at once
        target = folder_target(directory, _OWN)
    except OutputError as error:
        raise ReportError(str(error)) from None
    if verdicts is None:
        say("computing the verdicts")
        verdicts = verify(seed=seed, progress=lambda n, total, i: say(f"  [{n}/{total}] {i}"))
    with staged_folder(target) as folder:
        (folder / "figures").mkdir()
        say("drawing the figures")
        write_figures(verdicts, folder / "figures")
        say("writing report.tex")
        (folder / "report.tex").write_text(render(verdicts, seed, date), encoding="utf-8")
        say("writing report.html")
        write_page(verdicts, folder, seed, date)
        if pdf and shutil.which("pdflatex"):
            say("compiling report.pdf with pdflatex")
            _compile(folder)
            for name in ("report.aux", "report.log", "report.out"):
                (folder / name).unlink(missing_ok=True)
        publish_folder(folder, target)  # one rename, or entry by entry into a mount point
    return sorted(directory.rglob("*"))


def write_page(verdicts: list[Verdict], directory: Path, seed: int, date: str) -> Path:
    """``directory``/report.html: the same verdicts as one offline web page
    (:func:`bptt_check.html.write_html`, imported only when a report is built)."""
    from .html import write_html

    return write_html(verdicts, directory, seed=seed, date=date or None)


def write_figures(verdicts: list[Verdict], directory: Path) -> dict:
    """Every Grid and Curve of ``verdicts`` as a figure in ``directory`` (matplotlib is
    imported only when a report is built)."""
    from .figures import write_figures as draw

    return draw(verdicts, directory)
