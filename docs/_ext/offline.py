"""The built site loads nothing from the network: a build check.

After an HTML build every page is read and each ``<script src>``, ``<link href>``, ``<img
src>``, ``<iframe src>``, ``<source src>`` and CSS ``url(...)`` that points to another host
(``http://``, ``https://`` or ``//``) is a warning, so ``sphinx -W`` fails the build.  Links a
reader clicks (``<a href>``) are not loads and stay allowed.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

_LOADS = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src"}
_EXTERNAL = ("http://", "https://", "//")


class _Loads(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attribute = _LOADS.get(tag)
        for name, value in attrs:
            if value and value.strip().lower().startswith(_EXTERNAL):
                if name == attribute or name == "srcset":
                    self.found.append(f"<{tag} {name}={value!r}>")
            if name == "style" and value and "url(" in value and "//" in value.replace(" ", ""):
                self.found.append(f"<{tag} style={value!r}>")


def external_loads(html: str) -> list[str]:
    """The tags of ``html`` that would load something from another host."""
    parser = _Loads()
    parser.feed(html)
    return parser.found


def _check(app: Any, exception: Exception | None) -> None:
    from sphinx.util import logging  # here: the scanner above is plain Python, tested alone

    logger = logging.getLogger(__name__)
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in sorted(outdir.rglob("*.html")):
        for load in external_loads(page.read_text(encoding="utf-8")):
            logger.warning("%s loads from the network: %s", page.relative_to(outdir), load)
    for sheet in sorted(outdir.rglob("*.css")):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        if "url(http" in text.replace('"', "").replace("'", "").replace(" ", ""):
            logger.warning("%s loads from the network (a url(http…))", sheet.relative_to(outdir))


def setup(app: Any) -> dict[str, Any]:
    app.connect("build-finished", _check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
