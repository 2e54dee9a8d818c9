r"""Tokens of a derivation's LaTeX, each with its offset in the source.

Spacing (``\ ``, ``\,``, ``\quad``, ``~``), sizing (``\left``, ``\right``, ``\big``) and the
alignment ``&`` are dropped; the article's equation numbers ``\ \ \ (7)`` and ``\tag{7}``
become one ``NUMBER`` token; the words ``tanh``, ``log``, ``exp``, ``diag``, ``softmax`` written
without a backslash are read as those functions.  A command the reader does not know is an
error naming it and its position.

>>> [t.text for t in tokenize(r"W\cdot {\sigma }'\ \ \ (7)")]
['W', '\\cdot', '{', '\\sigma', '}', "'", '(7)']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["COMMANDS", "ReadError", "Token", "tokenize"]


class ReadError(ValueError):
    """LaTeX the reader cannot read (in eq. (1)-(14) or any derivation): the message names the
    token and its position."""

    def __init__(self, message: str, source: str, pos: int) -> None:
        line = source.count("\n", 0, pos) + 1
        column = pos - (source.rfind("\n", 0, pos) + 1) + 1
        snippet = source[pos : pos + 20].split("\n")[0]
        super().__init__(f"{message} at line {line}, column {column} (offset {pos}): {snippet!r}")
        self.pos = pos


@dataclass(frozen=True)
class Token:
    kind: str  # CMD, LETTER, NUM, WORD, SYM, NEWLINE, NUMBER, DOTS
    text: str
    pos: int


#: Commands the reader knows, by the role they play.
GREEK = {
    r"\alpha", r"\beta", r"\gamma", r"\delta", r"\epsilon", r"\varepsilon", r"\eta", r"\theta",
    r"\lambda", r"\mu", r"\nu", r"\phi", r"\varphi", r"\psi", r"\rho", r"\sigma", r"\tau",
    r"\xi", r"\zeta", r"\omega", r"\Delta", r"\Theta", r"\ell",
}  # fmt: skip
FUNCTIONS = {r"\tanh", r"\log", r"\ln", r"\exp", r"\sigmoid"}
DECORATIONS = {r"\tilde": "tilde", r"\hat": "hat", r"\bar": "bar", r"\widetilde": "tilde",
               r"\widehat": "hat", r"\overline": "bar"}  # fmt: skip
FONTS = {r"\mathbf", r"\boldsymbol", r"\bm", r"\mathit", r"\mathcal", r"\mathrm", r"\text",
         r"\operatorname", r"\textrm", r"\mathsf"}  # fmt: skip
PRODUCTS = {r"\cdot": "mat", r"\times": "mat", r"\odot": "had", r"\circ": "had", "*": "had",
            r"\otimes": "had", r"\ast": "had"}  # fmt: skip
OTHER = {r"\frac", r"\dfrac", r"\tfrac", r"\partial", r"\sum", r"\prod", r"\top", r"\intercal",
         r"\prime", r"\cdots", r"\ldots", r"\dots", r"\dotsb", r"\dotsm", r"\mathrm", r"\tag",
         r"\begin", r"\end", r"\nabla"}  # fmt: skip
COMMANDS = GREEK | FUNCTIONS | set(DECORATIONS) | FONTS | set(PRODUCTS) | OTHER

_IGNORED = {r"\left", r"\right", r"\big", r"\Big", r"\bigg", r"\Bigg", r"\bigl", r"\bigr",
            r"\Bigl", r"\Bigr", r"\biggl", r"\biggr", r"\quad", r"\qquad", r"\displaystyle",
            r"\limits", r"\nonumber", r"\notag"}  # fmt: skip
_WORDS = ("softmax", "sigmoid", "tanh", "diag", "log", "exp")
_PATTERN = re.compile(
    r"(?P<NUMBER>(?:\\\s|\\quad|\\qquad|~)+\s*\(\s*(?P<number>\d+(?:\.\d+)?)\s*\)\s*(?=\\\\|\\end|$))"
    r"|(?P<TAG>\\tag\s*\{\s*(?P<tag>[^{}]*)\})"
    r"|(?P<ENV>\\(?:begin|end)\s*\{\s*(?:aligned|align\*?|split|equation\*?|gathered)\s*\})"
    r"|(?P<NEWLINE>\\\\)"
    r"|(?P<SPACE>\\[ ,;:!]|~|&|\s+)"
    r"|(?P<DOTS>\.\.\.|…)"
    r"|(?P<CMD>\\[A-Za-z]+)"
    r"|(?P<WORD>" + "|".join(_WORDS) + r")"
    r"|(?P<NUM>\d+(?:\.\d+)?)"
    r"|(?P<LETTER>[A-Za-z])"
    r"|(?P<SYM>[{}()\[\]_^'+\-=;,|*/.<>])"
)


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``; an unknown command or character is a :class:`ReadError`."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        match = _PATTERN.match(source, pos)
        if match is None:
            raise ReadError(f"unknown character {source[pos]!r}", source, pos)
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "NUMBER":
            tokens.append(Token("NUMBER", f"({match.group('number')})", match.start()))
        elif kind == "TAG":
            tokens.append(Token("NUMBER", f"({match.group('tag').strip()})", match.start()))
        elif kind == "CMD":
            if text in _IGNORED:
                if source.startswith(".", match.end()):  # \left. : an invisible delimiter
                    pos = match.end() + 1
                    continue
            elif text not in COMMANDS:
                raise ReadError(f"unknown command {text}", source, match.start())
            else:
                tokens.append(Token("CMD", text, match.start()))
        elif kind == "DOTS":
            tokens.append(Token("DOTS", text, match.start()))
        elif kind not in ("SPACE", "ENV"):
            tokens.append(Token(kind, text, match.start()))
        pos = match.end()
    return tokens
