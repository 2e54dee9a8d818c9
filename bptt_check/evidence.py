r"""A verdict and its typed evidence: what the report renders and the JSON carries.

A :class:`Verdict` on one statement of the article (eq. (1)-(14) and the prose claims) carries

* its **reason** and **condition** as :class:`Text`: plain Unicode (terminal, JSON) and LaTeX
  (the report), both written by the check;
* its **evidence**, a tuple of items of a few kinds: a :class:`Quantity` (a named value with its
  symbol, unit and meaning, and its mpmath confirmation if it has one), a :class:`Table` (columns
  with headers and units, rows of values), :class:`Proofs` (what was proved exactly, at which
  explicit sizes), a :class:`Statement` (a proved or stated fact, with its formula);
* its **counterexample**, a tuple of :class:`Example`: a model (its parameters and inputs), the
  quantities it shows and their mpmath confirmations.

Descriptions written by a check (headers, captions, meanings) are LaTeX text, which may hold
``$…$``; data (values, table cells, parameter names) are plain values, typeset by the report.
A new claim renders through these types with no report code of its own.

:meth:`Verdict.to_json` keeps the JSON of schema 1 (``evidence`` and ``counterexample`` as
key → value objects) and adds ``reason_latex``, ``condition_text_latex`` and the typed items
(``evidence_items``, ``counterexample_items``); the document carries ``schema`` =
:data:`SCHEMA`.

>>> q = Quantity("growth", 42.0, r"\|\partial S_T/\partial S_0\|_2", "growth", mpmath="42.0")
>>> q.json()
{'growth': 42.0, 'mpmath_growth': '42.0'}
>>> Table("t", "two numbers", (Column("name", "name"), Column("value", "value")),
...       (("a", 1), ("b", 2)), layout="columns").json()
{'value': {'a': 1, 'b': 2}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

__all__ = [
    "SCHEMA",
    "Axis",
    "Column",
    "ConfirmationError",
    "Curve",
    "Example",
    "FINDINGS",
    "Grid",
    "Item",
    "Named",
    "Overlay",
    "Proofs",
    "Proved",
    "Quantity",
    "Series",
    "Statement",
    "Table",
    "Text",
    "Verdict",
    "confirm",
]

#: Version of the JSON document written by ``bptt-check verify --json`` (1: bptt-check 0.1).
SCHEMA = 2

Kind = Literal["holds", "holds-if", "fails"]

#: The kinds of finding a verdict is, with what each means: a wrong derivation, a missing
#: condition, a wording slip and a definition are different findings, and are counted apart.
FINDINGS: dict[str, str] = {
    "definition": "a definition: nothing to derive, and it agrees with the model",
    "sound": "a correct derivation or statement",
    "missing-condition": "right only under a condition the article does not state",
    "wrong-formula": "a formula that is wrong as written",
    "wrong-derivation": "a derivation that does not give the quantity it names",
    "invalid-inference": "a conclusion that does not follow from its premise",
    "wording": "a notation or wording slip; the mathematics it stands for is right",
}
_FINDINGS_OF = {
    "holds": {"definition", "sound"},
    "holds-if": {"missing-condition", "wording"},
    "fails": {"wrong-formula", "wrong-derivation", "invalid-inference", "wording"},
}


def _one_line(self: Any) -> str:
    """A one-line repr (:func:`bptt_check.display.one_line`)."""
    from .display import one_line

    return one_line(self)


def _html(self: Any) -> str:
    """Notebook HTML: the escaped text repr, then the rendered item (xarray's convention)."""
    from .display import item_html, repr_html

    return repr_html(self, item_html(self))


def _latex(self: Any) -> str:
    """Notebook LaTeX: math as ``$\\displaystyle …$`` (SymPy's convention)."""
    from .display import item_latex

    return item_latex(self)


@dataclass(frozen=True)
class Text:
    """A sentence in two forms: plain Unicode for the terminal and JSON, LaTeX for the report."""

    plain: str
    latex: str

    def __str__(self) -> str:
        return self.plain

    __repr__ = _one_line
    _repr_html_ = _html
    _repr_latex_ = _latex


@dataclass(frozen=True)
class Named:
    """A value with its own display: ``value`` in the JSON, ``latex`` (LaTeX text) in the
    report — a reading's key and its name, a formula's LaTeX and the formula set as math."""

    value: Any
    latex: str


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Named) else value


def _numbers(values: Any) -> list[float | None] | None:
    """Values for strict JSON: a NaN (a point not measured) is ``null``."""
    if values is None:
        return None
    return [None if value != value else value for value in values]  # NaN != NaN


@dataclass(frozen=True)
class Quantity:
    """A named value: its JSON key, its symbol (LaTeX math), what it means (LaTeX text), its
    unit (LaTeX text, empty when it has none) and, when confirmed, its value in mpmath at 30
    digits (a string)."""

    key: str
    value: Any
    symbol: str
    meaning: str = ""
    unit: str = ""
    mpmath: str | None = None

    kind: ClassVar[str] = "quantity"

    def json(self) -> dict[str, Any]:
        out = {self.key: _plain(self.value)}
        if self.mpmath is not None:
            out[f"mpmath_{self.key}"] = self.mpmath
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "symbol_latex": self.symbol,
            "meaning_latex": self.meaning,
            "unit_latex": self.unit,
            "value": _plain(self.value),
            **({"mpmath": self.mpmath} if self.mpmath is not None else {}),
        }

    __repr__ = _one_line
    _repr_html_ = _html
    _repr_latex_ = _latex


@dataclass(frozen=True)
class Column:
    """A table column: its JSON key, its header and unit (LaTeX text)."""

    key: str
    header: str
    unit: str = ""
    percent: bool = False  # its values are shares (fractions of 1), shown as percentages


@dataclass(frozen=True)
class Table:
    """Rows of values under named columns.  In the JSON a table is a list of row objects
    under its key (``layout="rows"``), or, for a table whose first column names its rows, one
    object per other column, row name → value, each under the column's key
    (``layout="columns"``)."""

    key: str
    caption: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    layout: Literal["rows", "columns"] = "rows"
    appendix: bool = False  # reference detail: a renderer sets it apart from the claim's text

    kind: ClassVar[str] = "table"

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.key}: a row has {len(row)} values for {len(self.columns)} columns"
                )

    def column(self, key: str) -> list[Any]:
        """The values of column ``key``, top to bottom."""
        keys = [c.key for c in self.columns]
        if key not in keys:
            raise ValueError(f"table {self.key} has no column {key!r}; it has {keys}")
        return [row[keys.index(key)] for row in self.rows]

    def json(self) -> dict[str, Any]:
        if self.layout == "columns":
            return {
                column.key: {_plain(row[0]): _plain(row[i]) for row in self.rows}
                for i, column in enumerate(self.columns[1:], 1)
            }
        keys = [c.key for c in self.columns]
        return {
            self.key: [{k: _plain(v) for k, v in zip(keys, row, strict=True)} for row in self.rows]
        }

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "caption_latex": self.caption,
            "columns": [
                {"key": c.key, "header_latex": c.header, "unit_latex": c.unit, "percent": c.percent}
                for c in self.columns
            ],
            "rows": [[_plain(v) for v in row] for row in self.rows],
            "appendix": self.appendix,
        }

    __repr__ = _one_line
    _repr_html_ = _html
    _repr_latex_ = _latex


@dataclass(frozen=True)
class Proved:
    """One exact proof: its name, what it proves (LaTeX text), at which explicit sizes."""

    name: str
    statement: str
    sizes: dict[str, int]
    holds: bool

    __repr__ = _one_line
    _repr_html_ = _html
    _repr_latex_ = _latex


@dataclass(frozen=True)
class Proofs:
    """Exact proofs (symbolic identities at explicit sizes, interval bounds), not samples."""

    key: str
    proofs: tuple[Proved, ...]

    kind: ClassVar[str] = "proofs"

    @property
    def hold(self) -> bool:
        return all(p.holds for p in self.proofs)

    def json(self) -> dict[str, Any]:
        return {self.key: {p.name: p.holds for p in self.proofs}}

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "proofs": [
                {"name": p.name, "statement_latex": p.statement, "sizes": p.sizes, "holds": p.holds}
                for p in self.proofs
            ],
        }

    __repr__ = _one_line
    _repr_html_ = _html
    _repr_latex_ = _latex


@dataclass(frozen=True)
class Statement:
    """A fact in words (:class:`Text`) with, if it has one, its formula (LaTeX math)."""

    key: str
    text: Text
    formula: str = ""

    kind: ClassVar[str] = "statement"

    def json(self) -> dict[str, Any]:
        return {self.key: self.text.plain}

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "text": self.text.plain,
            "text_latex": self.text.latex,
            "formula_latex": self.formula,
        }

    __repr__ = _one_line
    _repr_html_ = _html
    _repr_latex_ = _latex


@dataclass(frozen=True)
class Example:
    """A model and what it shows: its parameters and inputs (the JSON's ``params``, ``xs``,
    ``s0`` or ``h0``/``c0``, ``T``), then the quantities it exhibits, each with its mpmath
    confirmation when it has one.  ``title`` says what it shows, ``model`` which model it is
    (LaTeX text)."""

    key: str
    title: str
    model: str
    params: tuple[Quantity, ...] = ()
    inputs: tuple[Quantity, ...] = ()
    quantities: tuple[Quantity, ...] = ()

    kind: ClassVar[str] = "example"

    def quantity(self, key: str) -> Quantity:
        """The input or quantity ``key``."""
        for q in (*self.params, *self.inputs, *self.quantities):
            if q.key == key:
                return q
        raise ValueError(f"example {self.key} has no quantity {key!r}")

    def json(self) -> dict[str, Any]:
        return {self.key: self.record()}

    def record(self) -> dict[str, Any]:
        """The example as one JSON object: ``params``, its inputs, its quantities and their
        confirmations (``mpmath_…``)."""
        out: dict[str, Any] = {}
        if self.params:
            out["params"] = {q.key: _plain(q.value) for q in self.params}
        for q in (*self.inputs, *self.quantities):
            out |= q.json()
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "title_latex": self.title,
            "model_latex": self.model,
            "params": [q.describe() for q in self.params],
            "inputs": [q.describe() for q in self.inputs],
            "quantities": [q.describe() for q in self.quantities],
        }

    __repr__ = _one_line
    _repr_html_ = _html
    _repr_latex_ = _latex


@dataclass(frozen=True)
class Axis:
    """One axis of a :class:`Grid`: its JSON key, its label (matplotlib mathtext, e.g.
    ``r"$b_f$"``) and its values."""

    key: str
    label: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Overlay:
    """A region drawn over a :class:`Grid`: ``region[j][i]`` is whether the point (x[i], y[j])
    is in it (a certificate's region, the side of a line); its outline is drawn and labelled
    in the legend (``label``, mathtext)."""

    label: str
    region: tuple[tuple[bool, ...], ...]


@dataclass(frozen=True)
class Grid:
    """A map: a value over a grid of two parameters (``values[j][i]`` at ``x[i]``, ``y[j]``),
    drawn by the report as a figure with a labelled colour bar (``label``, mathtext), with the
    outlines of its ``overlays``; the caption is LaTeX text."""

    key: str
    caption: str
    x: Axis
    y: Axis
    values: tuple[tuple[float, ...], ...]
    label: str
    overlays: tuple[Overlay, ...] = ()

    kind: ClassVar[str] = "grid"

    def __post_init__(self) -> None:
        shape = (len(self.y.values), len(self.x.values))
        for what, rows in (("values", self.values), *((o.label, o.region) for o in self.overlays)):
            if len(rows) != shape[0] or any(len(row) != shape[1] for row in rows):
                raise ValueError(f"grid {self.key}: {what} must be {shape[0]} rows of {shape[1]}")

    def json(self) -> dict[str, Any]:
        return {
            self.key: {
                self.x.key: list(self.x.values),
                self.y.key: list(self.y.values),
                "values": [_numbers(row) for row in self.values],
            }
        }

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "caption_latex": self.caption,
            "x": {"key": self.x.key, "label": self.x.label, "values": list(self.x.values)},
            "y": {"key": self.y.key, "label": self.y.label, "values": list(self.y.values)},
            "label": self.label,
            "values": [_numbers(row) for row in self.values],
            "overlays": [
                {"label": o.label, "region": [list(row) for row in o.region]} for o in self.overlays
            ],
        }

    __repr__ = _one_line
    _repr_html_ = _html
    _repr_latex_ = _latex


@dataclass(frozen=True)
class Series:
    """One line of a :class:`Curve`: ``y[i]`` at the curve's ``x[i]`` (NaN where not
    measured), an optional standard error ``se`` (drawn as a band), its legend ``label``
    (mathtext) and whether it is measured (markers) or computed from a theory (a line)."""

    label: str
    y: tuple[float, ...]
    se: tuple[float, ...] | None = None
    theory: bool = False
    group: str = ""  # series of one group (a measurement and its bound) share one colour
    key: str = ""  # its key in the JSON (the label when empty)


@dataclass(frozen=True)
class Curve:
    """A value against one parameter: one or more :class:`Series` over ``x``, drawn by the
    report as a line plot (``y_label`` mathtext, ``log_y`` a log scale) with horizontal
    reference lines ``hlines`` (value, mathtext label), and the vertical lines ``vlines``
    (value, label) at exact positions; the caption is LaTeX text."""

    key: str
    caption: str
    x: Axis
    series: tuple[Series, ...]
    y_label: str
    hlines: tuple[tuple[float, str], ...] = ()
    vlines: tuple[tuple[float, str], ...] = ()
    log_x: bool = False
    log_y: bool = False

    kind: ClassVar[str] = "curve"

    def __post_init__(self) -> None:
        for line in self.series:
            for what, values in (("y", line.y), ("se", line.se)):
                if values is not None and len(values) != len(self.x.values):
                    raise ValueError(
                        f"curve {self.key}: series {line.label!r} {what} must have "
                        f"{len(self.x.values)} values, got {len(values)}"
                    )

    def json(self) -> dict[str, Any]:
        return {
            self.key: {
                self.x.key: list(self.x.values),
                **{line.key or line.label: _numbers(line.y) for line in self.series},
            }
        }

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "caption_latex": self.caption,
            "x": {"key": self.x.key, "label": self.x.label, "values": list(self.x.values)},
            "y_label": self.y_label,
            "series": [
                {
                    "label": line.label,
                    "y": _numbers(line.y),
                    "se": _numbers(line.se),
                    "theory": line.theory,
                    "group": line.group,
                    "key": line.key or line.label,
                }
                for line in self.series
            ],
            "hlines": [list(h) for h in self.hlines],
            "vlines": [list(v) for v in self.vlines],
        }

    __repr__ = _one_line
    _repr_html_ = _html
    _repr_latex_ = _latex


Item = Quantity | Table | Proofs | Statement | Example | Grid | Curve


@dataclass(frozen=True)
class Verdict:
    """The verdict on one statement of the article (eq. (1)-(14) and the prose claims).

    ``equation`` is the article's equation the statement is about: its two readings (as
    written, as derived) come from :mod:`derivations.equations`."""

    id: str
    verdict: Kind
    reason: Text
    equation: int
    evidence: tuple[Item, ...] = ()
    condition: Text | None = None
    condition_latex: str | None = None
    counterexample: tuple[Example, ...] = ()
    finding: str = ""  # a key of FINDINGS: the kind of finding this verdict is
    takeaway: Text | None = None  # what a student should take away, written by the check

    def __post_init__(self) -> None:
        if self.verdict not in ("holds", "holds-if", "fails"):
            raise ValueError(f"{self.id}: unknown verdict {self.verdict!r}")
        if self.finding not in _FINDINGS_OF[self.verdict]:
            raise ValueError(
                f"{self.id}: finding must be one of {sorted(_FINDINGS_OF[self.verdict])} for a "
                f"{self.verdict!r} verdict, got {self.finding!r}"
            )
        if self.verdict == "holds-if" and not self.condition:
            raise ValueError(f"{self.id}: holds-if needs its condition")
        if self.verdict != "holds" and not self.counterexample:
            raise ValueError(f"{self.id}: {self.verdict} needs a counterexample")
        keys = [key for item in self.evidence for key in item.json()]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.id}: evidence keys repeat: {keys}")

    @property
    def as_written_latex(self) -> str:
        from derivations.equations import equation

        return equation(self.equation).latex("as_written")

    @property
    def derived_latex(self) -> str:
        from derivations.equations import equation

        return equation(self.equation).latex("as_derived")

    def item(self, key: str) -> Item:
        """The evidence item ``key``."""
        for item in self.evidence:
            if item.key == key:
                return item
        raise ValueError(f"{self.id} has no evidence {key!r}")

    def example(self, key: str | None = None) -> Example:
        """The counterexample ``key`` (the only one when ``key`` is None)."""
        if key is None and len(self.counterexample) == 1:
            return self.counterexample[0]
        for example in self.counterexample:
            if example.key == key:
                return example
        raise ValueError(f"{self.id} has no counterexample {key!r}")

    def to_json(self) -> dict[str, Any]:
        """The verdict as the JSON object documented in the README (schema :data:`SCHEMA`)."""
        out: dict[str, Any] = {
            "id": self.id,
            "verdict": self.verdict,
            "finding": self.finding,
            "reason": self.reason.plain,
            **({"takeaway": self.takeaway.plain} if self.takeaway else {}),
            "reason_latex": self.reason.latex,
            "as_written_latex": self.as_written_latex,
            "derived_latex": self.derived_latex,
            "evidence": {k: v for item in self.evidence for k, v in item.json().items()},
            "evidence_items": [item.describe() for item in self.evidence],
        }
        if self.verdict == "holds-if":
            assert self.condition is not None
            out["condition"] = self.condition.plain
            out["condition_text_latex"] = self.condition.latex
            if self.condition_latex:
                out["condition_latex"] = self.condition_latex
        if self.counterexample:
            examples = self.counterexample
            out["counterexample"] = (
                examples[0].record()
                if len(examples) == 1
                else {k: v for example in examples for k, v in example.json().items()}
            )
            out["counterexample_items"] = [example.describe() for example in examples]
        return out

    __repr__ = _one_line
    _repr_html_ = _html
    _repr_latex_ = _latex


class ConfirmationError(RuntimeError):
    """An independent confirmation disagrees with the path that found the evidence: the check
    cannot conclude (the CLI reports it and exits 1), it does not flip a verdict."""


def confirm(agrees: bool, what: str) -> None:
    """Raise :class:`ConfirmationError` when an independent confirmation disagrees."""
    if not agrees:
        raise ConfirmationError(f"confirmation failed: {what}")
