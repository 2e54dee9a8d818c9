"""Docstrings written as plain prose, read as reStructuredText without surprises.

The project's docstrings write absolute values and norms as ``|x|`` and shapes as
``(T, *shape)``, which reStructuredText reads as a substitution reference and the start of an
emphasis.  Before numpydoc and autodoc parse a docstring, a ``|`` and a ``*name`` unpacking
outside inline literals are escaped, so they print as written.
"""

from __future__ import annotations

import re
from typing import Any

_LITERAL = re.compile(r"(``.+?``|:[a-z:]+:`[^`]+`|`[^`]+`_?)", re.S)
_BAR = re.compile(r"(?<!\\)\|")
_UNPACK = re.compile(r"(?<![\\\w*])\*(?=\w+[),\]])")


def escape(text: str) -> str:
    """``text`` (a whole docstring: a literal may span lines) with its bars and ``*name``
    unpackings escaped outside inline literals."""
    parts = _LITERAL.split(text)
    for i in range(0, len(parts), 2):  # the even parts are outside literals and roles
        parts[i] = _UNPACK.sub(r"\\*", _BAR.sub(r"\\|", parts[i]))
    return "".join(parts)


def _process(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    lines[:] = escape("\n".join(lines)).split("\n")


def setup(app: Any) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", _process, priority=100)  # before numpydoc (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
