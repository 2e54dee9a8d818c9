r"""A recursive-descent reader for the notation of BPTT derivations, LaTeX to :mod:`.tree`.

Precedence, loosest first: ``=``; ``+`` and ``-``; products.  In a product, juxtaposition and
``\cdot``/``\times`` are matrix products, ``\odot``/``\circ``/``*`` entry-by-entry products;
juxtaposition binds tighter than ``\odot`` (``W h \odot x`` is ``(W h) ⊙ x``), and a product
that mixes ``\cdot`` with ``\odot`` has two readings.  ``\sum`` and ``\prod`` take the rest of
their product as body; a ``\prod`` followed by more than one factor has a second reading with
the first factor alone as body (the article's eq. (5)).

>>> (line,) = read(r"\frac{\partial S_{t}}{\partial S_{t-1}}=W\cdot {\sigma }'\ \ \ \ \ (7)")
>>> line.number, type(line.sides[0]).__name__, to_latex(line.sides[1])
('(7)', 'Deriv', "(W \\cdot \\sigma')")
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import lexer
from .lexer import ReadError, Token
from .printing import to_latex
from .tree import (
    Add,
    Ambiguous,
    BigOp,
    Call,
    Concat,
    Deriv,
    Dots,
    Frac,
    Line,
    Node,
    Num,
    Pow,
    Prod,
    Sym,
    Transpose,
)

__all__ = ["read", "read_expression", "to_latex"]

_ACTIVATIONS = {r"\sigma", r"\delta", r"\phi", r"\varphi"}  # Greek letters that may be applied
_WORD_FUNCTIONS = {"tanh": r"\tanh", "log": r"\log", "exp": r"\exp", "sigmoid": r"\sigma",
                   "diag": "diag", "softmax": "softmax"}  # fmt: skip
_FONT_FUNCTIONS = {"diag": "diag", "softmax": "softmax", "tanh": r"\tanh", "sigmoid": r"\sigma",
                   "log": r"\log", "exp": r"\exp", "Diag": "diag"}  # fmt: skip
_INDEX_EXPR = re.compile(r"^[a-zA-Z0-9]+(?:[+-][a-zA-Z0-9]+)*$")
_TRANSPOSE = {"T", r"\top", r"\intercal", r"\mathsf{T}", r"\mathrm{T}", r"\text{T}"}


@dataclass(frozen=True)
class _Open(Node):
    """A ``\\sum``/``\\prod`` whose body is the rest of its product (closed by ``_build``)."""

    kind: str = ""
    var: str = ""
    lo: str = ""
    hi: str = ""


@dataclass(frozen=True)
class _Partial(Node):
    """``\\partial x`` outside a fraction, waiting for ``/ \\partial y``."""

    arg: Node | None = None
    total: bool = False


class _Parser:
    def __init__(self, source: str, tokens: list[Token]) -> None:
        self.source, self.tokens, self.i = source, tokens, 0

    # ---- tokens --------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def at(self, text: str) -> bool:
        token = self.peek()
        return token is not None and token.text == text and token.kind in ("SYM", "CMD")

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise ReadError("unexpected end of the formula", self.source, len(self.source))
        self.i += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.peek()
        if token is None or token.text != text:
            found = "the end" if token is None else repr(token.text)
            pos = len(self.source) if token is None else token.pos
            raise ReadError(f"expected {text!r}, found {found}", self.source, pos)
        return self.next()

    def fail(self, token: Token, message: str) -> ReadError:
        return ReadError(message, self.source, token.pos)

    # ---- lines ---------------------------------------------------------------------------
    def line(self) -> Line:
        start = self.peek()
        continued = self.at("=")
        if continued:
            self.next()
        sides = [self.expr()]
        while self.at("="):
            self.next()
            sides.append(self.expr())
        number = None
        token = self.peek()
        if token is not None and token.kind == "NUMBER":
            number = self.next().text
            token = self.peek()
        if token is not None:
            raise self.fail(token, f"unexpected {token.text!r}")
        return Line(tuple(sides), continued, number, pos=start.pos if start else 0)

    # ---- expressions ---------------------------------------------------------------------
    def expr(self) -> Node:
        first = self.peek()
        sign = 1
        if self.at("-") or self.at("+"):
            sign = -1 if self.next().text == "-" else 1
        terms = [(sign, self.product())]
        while self.at("+") or self.at("-"):
            sign = -1 if self.next().text == "-" else 1
            terms.append((sign, self.product()))
        if len(terms) == 1 and terms[0][0] == 1:
            return terms[0][1]
        return Add(tuple(terms), pos=first.pos if first else 0)

    def starts_factor(self, token: Token | None) -> bool:
        if token is None:
            return False
        if token.kind in ("LETTER", "NUM", "WORD", "DOTS"):
            return True
        if token.kind == "SYM":
            return token.text in "{(["
        if token.kind == "CMD":
            return token.text not in lexer.PRODUCTS and token.text not in (
                r"\top",
                r"\intercal",
                r"\prime",
            )
        return False

    def product(self) -> Node:
        token = self.peek()
        if not self.starts_factor(token):
            if token is None:
                raise ReadError("unexpected end of the formula", self.source, len(self.source))
            raise self.fail(token, f"unexpected {token.text!r}")
        items: list[tuple[str, Node]] = [("start", self.factor())]
        while True:
            token = self.peek()
            if token is not None and token.text in lexer.PRODUCTS and token.kind in ("CMD", "SYM"):
                self.next()
                repeated = self.peek()
                if (
                    isinstance(items[-1][1], Dots)
                    and repeated is not None
                    and repeated.text == token.text
                ):  # "\cdot…\cdot \cdot": a doubled operator after the dots, read once
                    self.next()
                items.append((lexer.PRODUCTS[token.text], self.factor()))
            elif token is not None and token.kind == "SYM" and token.text == "/":
                self.next()
                items.append(("div", self.factor()))
            elif self.starts_factor(token):
                items.append(("juxt", self.factor()))
            else:
                break
        return _build(items, self.source)

    def factor(self) -> Node:
        return self.postfix(self.primary())

    # ---- groups --------------------------------------------------------------------------
    def group_tokens(self) -> tuple[list[Token], int, int]:
        """The tokens of ``{…}`` (or of one token), with the source span of the content."""
        token = self.next()
        if token.text != "{" or token.kind != "SYM":
            return [token], token.pos, token.pos + len(token.text)
        depth, start = 1, self.i
        while True:
            inner = self.next()
            if inner.kind == "SYM" and inner.text == "{":
                depth += 1
            elif inner.kind == "SYM" and inner.text == "}":
                depth -= 1
                if depth == 0:
                    body = self.tokens[start : self.i - 1]
                    end = inner.pos
                    begin = body[0].pos if body else end
                    return body, begin, end

    def raw(self) -> str:
        """A subscript's or superscript's text, without spaces (``t-1``, ``hh``, ``\\top``)."""
        body, begin, end = self.group_tokens()
        if not body:
            raise ReadError("empty subscript or superscript", self.source, begin)
        return "".join(t.text for t in body)

    def sub_parser(self, body: list[Token]) -> _Parser:
        return _Parser(self.source, body)

    def braced(self) -> Node:
        body, begin, _ = self.group_tokens()
        if not body:
            raise ReadError("empty group", self.source, begin)
        inner = self.sub_parser(body)
        node = inner.expr()
        if inner.peek() is not None:
            token = inner.peek()
            raise inner.fail(token, f"unexpected {token.text!r}")
        return node

    # ---- primaries -----------------------------------------------------------------------
    def primes(self) -> int:
        count = 0
        while True:
            if self.at("'"):
                self.next()
                count += 1
            elif self.at("^") and self._superscript_is_prime():
                self.next()
                self.raw()
                count += 1
            else:
                return count

    def _superscript_is_prime(self) -> bool:
        token = self.peek(1)
        if token is None:
            return False
        if token.text == r"\prime":
            return True
        following = self.peek(2)
        return token.text == "{" and following is not None and following.text == r"\prime"

    def call_or_symbol(self, token: Token, fn: str, apply_bare: bool) -> Node:
        primes = self.primes()
        power = None
        if self.at("^") and apply_bare:  # \tanh^2(C_t): the square of the call
            self.next()
            text = self.raw()
            if not text.isdigit():
                raise self.fail(token, f"unknown power {text!r} of {token.text}")
            power = int(text)
        node: Node
        if self.at("("):
            self.next()
            arg = self.expr()
            self.expect(")")
            node = Call(fn, arg, primes, pos=token.pos)
        elif apply_bare and self.starts_factor(self.peek()):  # \log x, \tanh C_t
            node = Call(fn, self.factor(), primes, pos=token.pos)
        elif power is not None:
            raise self.fail(token, f"{token.text}^{power} needs an argument")
        else:
            return Sym(fn, primes=primes, pos=token.pos)
        return node if power is None else Pow(node, power, pos=token.pos)

    def primary(self) -> Node:
        token = self.next()
        kind, text = token.kind, token.text
        if kind == "LETTER":
            return Sym(text, pos=token.pos)
        if kind == "NUM":
            return Num(text, pos=token.pos)
        if kind == "WORD":
            fn = _WORD_FUNCTIONS[text]
            return self.call_or_symbol(token, fn, apply_bare=fn != r"\sigma")
        if kind == "DOTS":
            return Dots(pos=token.pos)
        if kind == "SYM":
            if text == "{":
                self.i -= 1
                return self.braced()
            if text == "(":
                node = self.expr()
                self.expect(")")
                return node
            if text == "[":
                parts = [self.expr()]
                while self.at(";") or self.at(","):
                    self.next()
                    parts.append(self.expr())
                self.expect("]")
                return Concat(tuple(parts), pos=token.pos) if len(parts) > 1 else parts[0]
            raise self.fail(token, f"unexpected {text!r}")
        # commands
        if text in (r"\cdots", r"\ldots", r"\dots", r"\dotsb", r"\dotsm"):
            return Dots(pos=token.pos)
        if text in _ACTIVATIONS:
            return self.call_or_symbol(token, text, apply_bare=False)
        if text in lexer.GREEK:
            return Sym(text, primes=self.primes(), pos=token.pos)
        if text in lexer.FUNCTIONS:
            fn = r"\log" if text == r"\ln" else (r"\sigma" if text == r"\sigmoid" else text)
            return self.call_or_symbol(token, fn, apply_bare=True)
        if text in lexer.DECORATIONS:
            inner = self.braced()
            if not isinstance(inner, Sym) or inner.decor:
                raise self.fail(token, f"{text} must decorate one symbol")
            return Sym(inner.base, lexer.DECORATIONS[text], inner.sub, inner.primes, pos=token.pos)
        if text in lexer.FONTS:
            return self.font(token)
        if text in (r"\frac", r"\dfrac", r"\tfrac"):
            return self.frac(token)
        if text in (r"\sum", r"\prod"):
            return self.big(token)
        if text == r"\partial":
            return _Partial(arg=self.factor(), pos=token.pos)
        if text == r"\nabla":
            self.expect("_")
            wrt = self.sub_parser(self.group_tokens()[0]).expr()
            return Deriv(self.factor(), wrt, pos=token.pos)
        raise self.fail(token, f"{text} cannot start a factor")

    def font(self, token: Token) -> Node:
        body, begin, end = self.group_tokens()
        word = "".join(t.text for t in body)
        if word in _FONT_FUNCTIONS:
            fn = _FONT_FUNCTIONS[word]
            return self.call_or_symbol(token, fn, apply_bare=fn != r"\sigma")
        if token.text == r"\mathcal" and len(word) == 1:
            return Sym(rf"\mathcal{{{word}}}", pos=token.pos)
        if word == "d":
            return Sym("d", pos=token.pos)
        inner = self.sub_parser(body)
        node = inner.primary() if body else None
        if node is None or inner.peek() is not None or not isinstance(node, Sym):
            raise ReadError(f"{token.text}{{{word}}} is not a symbol the reader knows", self.source,
                            token.pos)  # fmt: skip
        return node

    def frac(self, token: Token) -> Node:
        num_tokens, _, _ = self.group_tokens()
        den_tokens, _, _ = self.group_tokens()
        num, den = self._differential(num_tokens), self._differential(den_tokens)
        if num is not None and den is not None:
            if num[1] != den[1]:
                raise self.fail(token, "a derivative with ∂ on one side and d on the other")
            return Deriv(num[0], den[0], total=num[1], pos=token.pos)
        if (num is None) != (den is None) and any(
            t.text == r"\partial" for t in (*num_tokens[:1], *den_tokens[:1])
        ):
            raise self.fail(token, "∂ in only one of numerator and denominator")
        top, bottom = self.sub_parser(num_tokens), self.sub_parser(den_tokens)
        a, b = top.expr(), bottom.expr()
        for part in (top, bottom):
            if part.peek() is not None:
                raise part.fail(part.peek(), f"unexpected {part.peek().text!r}")
        return Frac(a, b, pos=token.pos)

    def _differential(self, body: list[Token]) -> tuple[Node, bool] | None:
        """``∂X`` → (X, False), ``dX`` / ``\\mathrm{d}X`` → (X, True), else None."""
        if not body:
            return None
        if body[0].text == r"\partial":
            rest, total = body[1:], False
        elif body[0].kind == "LETTER" and body[0].text == "d" and len(body) > 1:
            rest, total = body[1:], True
        elif (
            body[0].text == r"\mathrm"
            and len(body) > 4
            and [t.text for t in body[1:4]] == ["{", "d", "}"]
        ):
            rest, total = body[4:], True
        else:
            return None
        inner = self.sub_parser(rest)
        node = inner.expr()
        if inner.peek() is not None:
            raise inner.fail(inner.peek(), f"unexpected {inner.peek().text!r}")
        return node, total

    def big(self, token: Token) -> Node:
        sub = sup = None
        for _ in range(2):
            if self.at("_") and sub is None:
                self.next()
                sub = self.raw()
            elif self.at("^") and sup is None:
                self.next()
                sup = self.raw()
        if sub is None:
            raise self.fail(token, f"{token.text} needs a subscript naming its index")
        var, _, lo = sub.partition("=")
        kind = "sum" if token.text == r"\sum" else "prod"
        return _Open(kind=kind, var=var, lo=lo or "1", hi=sup or "T", pos=token.pos)

    # ---- postfix -------------------------------------------------------------------------
    def postfix(self, node: Node) -> Node:
        while True:
            token = self.peek()
            if token is None or token.kind != "SYM":
                return node
            if token.text == "_":
                self.next()
                if not isinstance(node, Sym) or node.sub is not None:
                    raise self.fail(token, "a subscript on something that is not a symbol")
                sub = self.raw()
                node = Sym(node.base, node.decor, sub, node.primes, pos=node.pos)
            elif token.text == "^":
                self.next()
                sup = self.raw()
                if sup in _TRANSPOSE:
                    node = Transpose(node, pos=node.pos)
                elif sup.lstrip("-").isdigit():
                    node = Pow(node, int(sup), pos=node.pos)
                elif _INDEX_EXPR.match(sup):  # (W^\top)^{T-i}: a power by an index
                    node = Pow(node, sup, pos=node.pos)
                elif sup == r"\prime" and isinstance(node, Sym):
                    node = Sym(node.base, node.decor, node.sub, node.primes + 1, pos=node.pos)
                else:
                    raise self.fail(token, f"unknown superscript {sup!r}")
            elif token.text == "'" and isinstance(node, Sym):
                self.next()
                node = Sym(node.base, node.decor, node.sub, node.primes + 1, pos=node.pos)
            elif token.text == "|" and isinstance(node, Deriv):
                self.next()
                self.expect("_")
                fixed = self.sub_parser(self.group_tokens()[0]).expr()
                node = Deriv(node.num, node.den, node.total, fixed, pos=node.pos)
            else:
                return node


def _close(open_: _Open, body: Node) -> BigOp:
    return BigOp(open_.kind, open_.var, open_.lo, open_.hi, body, pos=open_.pos)


def _build(items: list[tuple[str, Node]], source: str) -> Node:
    """A product from its factors and operators: big operators take the rest as body."""
    for index, (op, factor) in enumerate(items):
        if not isinstance(factor, _Open):
            continue
        rest = items[index + 1 :]
        if not rest:
            raise ReadError(f"\\{factor.kind} without a body", source, factor.pos)
        head = items[:index]
        body = _build([("start", rest[0][1]), *rest[1:]], source)
        wide = _combine([*head, (op, _close(factor, body))], source)
        if factor.kind != "prod" or len(rest) == 1:
            return wide
        narrow_body = _build([("start", rest[0][1])], source)
        narrow = _build([*head, (op, _close(factor, narrow_body)), *rest[1:]], source)
        return Ambiguous((wide, narrow), "the extent of the product", pos=factor.pos)
    return _combine(items, source)


def _fold(items: list[tuple[str, Node]]) -> Node:
    node = items[0][1]
    for op, factor in items[1:]:
        node = Prod("mat" if op == "juxt" else op, node, factor, pos=node.pos)
    return node


def _runs(items: list[tuple[str, Node]], loose: str) -> Node:
    """Split at the ``loose`` operator, fold each run, join the runs with it."""
    runs: list[list[tuple[str, Node]]] = [[]]
    for op, factor in items:
        if op == loose:
            runs.append([("start", factor)])
        else:
            runs[-1].append((op, factor))
    node = _fold(runs[0])
    for run in runs[1:]:
        node = Prod(loose, node, _fold(run), pos=node.pos)
    return node


def _combine(items: list[tuple[str, Node]], source: str) -> Node:
    merged: list[tuple[str, Node]] = []
    for op, factor in items:  # a / b and ∂a / ∂b bind tightest
        if op == "div":
            if not merged:
                raise ReadError("'/' without a numerator", source, factor.pos)
            prev_op, prev = merged.pop()
            if isinstance(prev, _Partial) and isinstance(factor, _Partial):
                merged.append((prev_op, Deriv(prev.arg, factor.arg, pos=prev.pos)))
            else:
                merged.append((prev_op, Frac(prev, factor, pos=prev.pos)))
        else:
            merged.append((op, factor))
    for _, factor in merged:
        if isinstance(factor, _Partial):
            raise ReadError("∂ outside a derivative", source, factor.pos)
    ops = {op for op, _ in merged[1:]}
    if "had" in ops and "mat" in ops:
        had_tight = _runs([(o if o != "juxt" else "mat", f) for o, f in merged], "mat")
        mat_tight = _runs(merged, "had")
        if had_tight == mat_tight:
            return had_tight
        return Ambiguous((mat_tight, had_tight), "the order of · and ⊙", pos=merged[0][1].pos)
    if "had" in ops:
        return _runs(merged, "had")  # juxtaposition binds tighter than ⊙
    return _fold(merged)


def read(source: str) -> tuple[Line, ...]:
    r"""The displayed lines of ``source`` (split at ``\\``: eq. (5) has two, (1)-(2) are one
    display), each a :class:`~.tree.Line`."""
    if not isinstance(source, str):
        raise TypeError(f"source must be a str of LaTeX, got {type(source).__name__}")
    tokens = lexer.tokenize(source)
    lines, current = [], []
    for token in tokens:
        if token.kind == "NEWLINE":
            if current:
                lines.append(current)
            current = []
        else:
            current.append(token)
    if current:
        lines.append(current)
    if not lines:
        raise ReadError("no formula", source, 0)
    return tuple(_Parser(source, line).line() for line in lines)


def read_expression(source: str) -> Node:
    r"""One expression (no ``=``): a side of an equation, as eq. (7)'s ``W\cdot {\sigma }'``."""
    tokens = lexer.tokenize(source)
    parser = _Parser(source, tokens)
    node = parser.expr()
    if parser.peek() is not None:
        raise parser.fail(parser.peek(), f"unexpected {parser.peek().text!r}")
    return node
