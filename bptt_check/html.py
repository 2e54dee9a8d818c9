"""``report.html``: the verdicts and their evidence as one offline web page.

The same evidence as the LaTeX report, rendered once more (:mod:`bptt_check.display`): math as
MathML converted from the LaTeX the checks and the equations write, maps and curves as inline
SVG drawn by :mod:`bptt_check.figures`, the style inline.  The page loads nothing — no script,
font, style or image from the network or from beside it — and reads on a phone: its tables and
long equations scroll sideways on their own.  One ``<section>`` per claim, its element id the
claim id, with the article's sentence quoted in Chinese where the claim carries it; the
summary table links to the sections.  Same verdicts, same bytes (no clock is read; the SVG
ids are salted).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from . import __version__, registry
from .display import CSS, badge, finding_text, mathml, text_html, verdict_html
from .evidence import FINDINGS, Verdict
from .output import file_target, write_text

__all__ = ["render_html", "write_html"]

#: The page's own style, after the display's (phone first: no fixed widths).
_PAGE_CSS = """
body { margin: 0; padding: 0 1rem 2rem; background: #fff; }
.bc { margin: 0 auto; }
.bc h1 { font-size: 1.5rem; line-height: 1.25; }
.bc h2 { font-size: 1.2rem; margin-top: 2rem; border-top: 1px solid #ccc; padding-top: 1rem; }
.bc h3 { font-size: 1rem; }
.bc section { overflow-wrap: break-word; }
.bc blockquote[lang|="zh"] { font-size: 1.05rem; }
.bc .top { font-size: 0.85em; }
.bc math[display="block"] { margin: 0.2em 0; }
@media (max-width: 40rem) { body { padding: 0 0.6rem 1rem; } .bc h1 { font-size: 1.25rem; } }
""".strip()

#: Beyond this many characters of LaTeX an equation is set term by term (a phone's width).
_LONG = 110


def _text(value: Any) -> str:
    """A text of the registry (a :class:`~bptt_check.evidence.Text`, or a plain string) as
    HTML."""
    if value is None:
        return ""
    if hasattr(value, "latex"):
        return text_html(value.latex)
    if isinstance(value, tuple | list):  # the article's sentences: one after the other
        return " ".join(html.escape(str(part)) for part in value)
    return html.escape(str(value))


def _display(display: Any) -> str:
    """One displayed line of :mod:`derivations.equations` as MathML: on one line, or, when long,
    its first term after ``lhs =`` and each further term on a line of its own."""
    intro = f"<p>{text_html(display.intro)}</p>" if display.intro else ""
    if len(display.terms) == 1 or len(display.latex) <= _LONG:
        return f'{intro}<div class="eq">{mathml(display.latex, True)}</div>'
    lines = [mathml(f"{display.lhs} = {display.terms[0]}", True)]
    lines += [f'<div class="cont">{mathml(term, True)}</div>' for term in display.terms[1:]]
    return f'{intro}<div class="eq">{"".join(lines)}</div>'


def _equation(number: int) -> dict[str, Any]:
    from derivations.equations import equation

    eq = equation(number)
    readings = [
        {"label": label, "displays": [_display(d) for d in eq.displays(reading)]}
        for label, reading in (("As written", "as_written"), ("As derived", "as_derived"))
    ]
    return {"number": number, "topic": eq.topic, "readings": readings}


def _counts(verdicts: Sequence[Verdict]) -> str:
    kinds = ", ".join(
        f"{sum(v.verdict == kind for v in verdicts)} {kind}"
        for kind in ("holds", "holds-if", "fails")
    )
    findings = [f for f in FINDINGS if any(v.finding == f for v in verdicts)]
    by_finding = "; ".join(
        f"{sum(v.finding == f for v in verdicts)} {finding_text(f)}" for f in findings
    )
    plural = "" if len(verdicts) == 1 else "s"
    return f"{len(verdicts)} claim{plural}: {kinds}" + (
        f" (by finding: {by_finding})" if by_finding else ""
    )


def render_html(verdicts: Sequence[Verdict], *, seed: int, date: str | None = None) -> str:
    """The page for these verdicts, as a string."""
    import jinja2
    from markupsafe import Markup

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("bptt_check", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    shown: dict[int, dict[str, str]] = {}
    sections, summary = [], []
    for v in verdicts:
        claim = registry.get(v.id)
        title = Markup(_text(claim.title))
        summary.append(
            {
                "id": v.id,
                "title": title,
                "badge": Markup(badge(v.verdict)),
                "finding": finding_text(v.finding),
            }
        )
        section: dict[str, Any] = {
            "id": v.id,
            "title": title,
            "quote": Markup(_text(getattr(claim, "quote", None))),
            "translation": Markup(_text(getattr(claim, "translation", None))),
            "body": Markup(verdict_html(v)),
            "equation": None,
            "see": None,
        }
        if v.equation in shown:
            section["see"] = shown[v.equation]
        else:
            equation = _equation(v.equation)
            for reading in equation["readings"]:
                reading["displays"] = [Markup(d) for d in reading["displays"]]
            section["equation"] = equation
            shown[v.equation] = {"number": v.equation, "id": v.id, "title": title}
        sections.append(section)
    software = ", ".join(
        f"{name} {version(name)}"
        for name in ("sympy", "numpy", "mpmath", "matplotlib", "latex2mathml")
    )
    return environment.get_template("report.html.j2").render(
        css=Markup(f"{CSS}\n{_PAGE_CSS}"),
        version=__version__,
        seed=seed,
        date=date,
        counts=_counts(verdicts),
        summary=summary,
        sections=sections,
        software=f"Computed with {software}.",
    )


def write_html(
    verdicts: Sequence[Verdict], directory: str | Path, *, seed: int, date: str | None = None
) -> Path:
    """Write ``directory``/report.html for these verdicts (all at once: a temporary file
    renamed into place); return its path."""
    target = file_target(Path(directory) / "report.html")
    write_text(target, render_html(verdicts, seed=seed, date=date))
    return target
