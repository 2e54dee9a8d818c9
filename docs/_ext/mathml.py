"""Math rendered to MathML when the site is built: no JavaScript, no fonts, no network.

Sphinx's default renderer, MathJax, is loaded from a CDN; a page built here must render offline.
``latex2mathml`` (pure Python) converts each formula once, at build time, and browsers display
MathML Core natively.  A command the converter does not know would come out as the literal
text ``\\foo``: that is a warning (an error under ``-W``), never a silent wrong formula.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

# an <mi>/<mo>/<mtext> holding a backslash: a command latex2mathml passed through unconverted
_UNKNOWN = re.compile(r"<m(?:i|o|text)[^>]*>(\\[A-Za-z]+)")
# SymPy's ``_repr_latex_`` wraps its output in $\displaystyle …$
_DOLLARS = re.compile(r"^\s*\$+(.*?)\$+\s*$", re.S)


def to_mathml(latex: str, display: bool = False) -> str:
    """MathML of one formula; ValueError naming the command when a part was not converted."""
    latex = _DOLLARS.sub(r"\1", latex).strip()
    if display and r"\\" in latex and r"\begin" not in latex:
        latex = r"\begin{aligned}" + latex + r"\end{aligned}"  # lines of one display
    mathml = convert(latex, display="block" if display else "inline")
    unknown = _UNKNOWN.search(mathml)
    if unknown:
        raise ValueError(f"{unknown.group(1)} is not converted to MathML (in {latex!r})")
    return mathml


def _convert(translator: Any, node: nodes.Element, display: bool) -> str:
    try:
        return to_mathml(node.astext(), display)
    except Exception as error:  # latex2mathml's own errors too: one warning at the formula
        logger.warning("math: %s", error, location=node)
        return translator.encode(node.astext())


def visit_math(self: Any, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate"))
    self.body.append(_convert(self, node, display=False) + "</span>")
    raise nodes.SkipNode


def visit_displaymath(self: Any, node: nodes.math_block) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    parts = [part for part in node.astext().split("\n\n") if part.strip()]
    for part in parts:
        self.body.append(_convert(self, nodes.math_block(part, part, source=node.source), True))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app: Any) -> dict[str, Any]:
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
