"""The documentation's build checks (docs/_ext): the scanner that fails the build on any page
loading from another host, and the escaping that lets plain-prose docstrings through
reStructuredText unchanged.  Plain Python, no Sphinx: the site itself is built by
``python -m sphinx -W --keep-going -b html docs docs/_build/html``."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "docs" / "_ext"))

from offline import external_loads  # noqa: E402  (docs/_ext is not a package)
from plaindocstrings import escape  # noqa: E402

LOADS = {
    "a script from a CDN": ('<script src="https://cdn.example/mathjax.js"></script>', 1),
    "a style sheet over http": ('<link rel="stylesheet" href="http://fonts.example/a.css">', 1),
    "a protocol-relative image": ('<img src="//img.example/a.png">', 1),
    "an image set": ('<img src="a.png" srcset="https://img.example/a2.png 2x">', 1),
    "a frame": ('<iframe src="https://video.example/embed"></iframe>', 1),
    "a background in a style": ("<div style=\"background: url( 'https://x.example/b.png')\">", 1),
    "a local script": ('<script src="_static/furo.js"></script>', 0),
    "a local style sheet": ('<link rel="stylesheet" href="../_static/pygments.css">', 0),
    "a link a reader clicks": ('<a href="https://github.com/">source</a>', 0),
    "a MathML namespace": ('<math xmlns="http://www.w3.org/1998/Math/MathML"></math>', 0),
    "a preloaded file": ('<link rel="preload" href="https://x.example/f">', 1),
}


@pytest.mark.parametrize(("html", "count"), LOADS.values(), ids=LOADS.keys())
def test_external_loads_are_found(html, count):
    assert len(external_loads(html)) == count


ESCAPES = {
    "an absolute value": ("|x| ≤ 1", r"\|x\| ≤ 1"),
    "a norm written with bars": ("||W||_2", r"\|\|W\|\|_2"),
    "an unpacked shape": ("(T, *shape)", r"(T, \*shape)"),
    "emphasis stays": ("*not* a shape", "*not* a shape"),
    "a product stays": ("2 * h", "2 * h"),
    "inside a literal": ("``|x|`` and |y|", r"``|x|`` and \|y\|"),
    "a literal over two lines": ("``a\n   |b|`` then |c|", "``a\n   |b|`` then \\|c\\|"),
    "inside a role": (":math:`|x|` and |y|", r":math:`|x|` and \|y\|"),
}


@pytest.mark.parametrize(("text", "escaped"), ESCAPES.values(), ids=ESCAPES.keys())
def test_plain_prose_is_escaped_outside_literals(text, escaped):
    assert escape(text) == escaped
