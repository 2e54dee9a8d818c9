r"""A derivation file: a TOML file naming a cell and listing a derivation's equations in LaTeX.

.. code-block:: toml

    title = "GRU BPTT (lecture notes)"
    cell = "gru-torch"       # elman-sigmoid, elman-tanh, lstm, lstm-1997, gru-torch, gru-cho,
                             # or "module:attribute" naming a derivations.Graph
    readout = "sigmoid"      # optional (identity, linear, sigmoid); loss = "bce" likewise
    [symbols]                # the text's symbols -> the cell's names, where they differ
    S = "h"
    [[equation]]
    id = "7"
    latex = '''\frac{\partial S_t}{\partial S_{t-1}} = W \cdot \sigma''''
    text = "the step Jacobian"   # optional

:func:`load` reads and checks the whole file before any work: an unknown key, a cell that is not
one, LaTeX the reader cannot read or a symbol the cell does not have is a
:class:`DerivationFileError` whose one-line message names the key, the equation and the token.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from derivations import cells
from derivations.graph import Graph
from derivations.reading import Line, ReadError, read, tree

__all__ = ["CELLS", "Binding", "Derivation", "DerivationFileError", "Equation", "load", "loads"]

#: The library cells a file may name.
CELLS = {
    "elman-sigmoid": lambda: cells.elman("sigmoid"),
    "elman-tanh": lambda: cells.elman("tanh"),
    "lstm": lambda: cells.lstm(),
    "lstm-1997": lambda: cells.lstm(forget_gate=False),
    "gru-torch": lambda: cells.gru("torch"),
    "gru-cho": lambda: cells.gru("cho"),
}
_KEYS = {"title", "cell", "readout", "loss", "symbols", "equation", "source", "note"}
_EQUATION_KEYS = {"id", "latex", "text", "expect", "cell", "reading"}
_LOSS_NAMES = {"L", "E", r"\mathcal{L}", r"\mathcal{E}", r"\ell"}
_ACTIVATIONS = {r"\sigma": "sigma", r"\delta": "sigma", r"\tanh": "tanh"}
_INDEX = re.compile(r"^(?:(?P<var>[a-zA-Z]|\\tau)(?P<off>[+-]\d+)?|(?P<num>\d+))$")


class DerivationFileError(ValueError):
    """A derivation file that cannot be checked; the message is one line naming the key."""


@dataclass(frozen=True)
class Binding:
    """What a symbol of the text is in the cell: ``kind`` ``"node"`` (``unit`` cell or head,
    ``name`` the node or input), ``"param"``, ``"loss"``, ``"act"`` (a bare activation σ, σ'),
    or ``"def"`` (a symbol an earlier equation defines)."""

    kind: str
    name: str
    unit: str = "cell"


@dataclass(frozen=True)
class Equation:
    """One ``[[equation]]``: its id, LaTeX, lines as read, optional text and expected verdict."""

    id: str
    latex: str
    lines: tuple[Line, ...]
    text: str = ""
    expect: str = ""
    cell: str | None = None  # a cell of its own (the article's RNN and LSTM in one file)


@dataclass
class Derivation:
    """A derivation file, read and checked: its cell, head, symbol table and equations."""

    title: str
    cell_name: str
    cell: Graph
    head: Graph | None
    readout: str | None
    loss: str | None
    symbols: dict[str, str]
    equations: tuple[Equation, ...]
    path: str = "<string>"
    source: str = ""
    definitions: dict[str, str] = field(default_factory=dict)  # stem -> id of its equation
    base: Path | None = None  # the file's folder: "module:attribute" cells may live there

    def for_equation(self, equation: Equation) -> Derivation:
        """The derivation as ``equation`` reads it: with its own cell when it names one."""
        if equation.cell is None or equation.cell == self.cell_name:
            return self
        return replace(self, cell=_cell(equation.cell, self.base), cell_name=equation.cell)

    def bind(self, sym: tree.Sym) -> Binding:
        """The binding of ``sym`` (a :class:`DerivationFileError` naming it when it has none)."""
        found = _bind(self, sym)
        if found is None:
            raise DerivationFileError(_unknown(self, sym))
        return found


def parse_index(text: str) -> tuple[str | None, int]:
    """A time index as written: ``t-1`` → ("t", -1), ``3`` → (None, 3), ``T`` → ("T", 0); a
    sum of indices (``T+t-i``) → ("", 0), read by :func:`index_terms`."""
    text = text.replace("{", "").replace("}", "")
    match = _INDEX.match(text)
    if match is None:
        index_terms(text)  # raises when it is not one
        return "", 0
    if match.group("num") is not None:
        return None, int(match.group("num"))
    return match.group("var"), int(match.group("off") or 0)


def index_terms(text: str) -> list[tuple[int, str]]:
    """The signed terms of an index expression: ``T+t-i`` → [(1, "T"), (1, "t"), (-1, "i")]."""
    text = text.replace("{", "").replace("}", "")
    parts = re.findall(r"([+-]?)(\\tau|[a-zA-Z]|\d+)", text)
    if not parts or "".join(sign + term for sign, term in parts) != text:
        raise ValueError(f"{text!r} is not a time index (t, t-1, k, 0, 3, T, T+t-i)")
    return [(-1 if sign == "-" else 1, term) for sign, term in parts]


def _stem_table(derivation: Derivation) -> dict[str, Binding]:
    cell, table = derivation.cell, {}
    new_of = {prev: new for new, prev in cell.state}
    for node, tex in cell.latex_names:
        match = re.match(r"^(.*)_\{t(?:-1)?\}$", tex)
        if match is None or node not in cell.sizes:
            continue
        table.setdefault(match.group(1), Binding("node", new_of.get(node, node)))
    sequence = [i for i in cell.input_names if i not in new_of]
    if len(sequence) == 1:
        for stem in ("x", "X"):
            table.setdefault(stem, Binding("node", sequence[0]))
    if len(cell.state) == 1:
        for stem in ("h", "S", "s"):
            table.setdefault(stem, Binding("node", cell.state[0][0]))
    if derivation.head is not None:
        for stem in ("O", "y"):
            table.setdefault(stem, Binding("node", stem, "head"))
    return table


def _param(derivation: Derivation, name: str) -> Binding | None:
    params = set(derivation.cell.parameters)
    if derivation.head is not None:
        params |= set(derivation.head.parameters)
    return Binding("param", name) if name in params else None


def _target(derivation: Derivation, value: str) -> Binding | None:
    """A [symbols] value: a node or input of the cell, a parameter, sigma/tanh, or the loss."""
    if value in ("sigma", "tanh"):
        return Binding("act", value)
    if value in ("L", "loss"):
        return Binding("loss", "")
    found = _param(derivation, value)
    if found is not None:
        return found
    new_of = {prev: new for new, prev in derivation.cell.state}
    if value in derivation.cell.sizes:
        return Binding("node", new_of.get(value, value))
    if derivation.head is not None and value in derivation.head.sizes:
        return Binding("node", value, "head")
    return None


def _bind(derivation: Derivation, sym: tree.Sym) -> Binding | None:
    sub = sym.sub.replace("{", "").replace("}", "").replace(",", "") if sym.sub else None
    full = sym.stem + (f"_{sub}" if sub is not None else "")
    symbols = derivation.symbols
    for key in (full, sym.stem + (f"_{{{sub}}}" if sub else "")):
        if sub is not None and key in symbols:
            return _target(derivation, symbols[key])
    if sym.primes == 0 and sub is not None:
        found = _param(derivation, full)
        if found is not None:
            return found
    stem = sym.stem
    if stem in symbols:
        target = _target(derivation, symbols[stem])
        if target is not None and target.kind == "param" and sub is not None:
            return None
        return target
    if stem in derivation.definitions:
        return Binding("def", stem)
    if stem in _LOSS_NAMES:
        return Binding("loss", "")
    if stem in _ACTIVATIONS and sub is None:
        return Binding("act", _ACTIVATIONS[stem])
    if sub is None:
        return _param(derivation, stem) if sym.primes == 0 else None
    found = _stem_table(derivation).get(stem)
    if found is not None:
        try:
            parse_index(sub)
        except ValueError:
            return None
    return found


def _unknown(derivation: Derivation, sym: tree.Sym) -> str:
    known = sorted(
        {*_stem_table(derivation), *derivation.cell.parameters}
        | (set(derivation.head.parameters) if derivation.head is not None else set())
    )
    return (
        f"symbol {sym.name} (offset {sym.pos}) is not a name of {derivation.cell_name}: known are "
        f"{', '.join(known)}, the loss L, σ and tanh; map it in [symbols] or define it in an "
        "earlier equation"
    )


def _symbols_of(node) -> list[tree.Sym]:
    out = []
    if isinstance(node, tree.Sym):
        return [node]
    for value in vars(node).values():
        if isinstance(value, tree.Node):
            out += _symbols_of(value)
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, tree.Node):
                    out += _symbols_of(item)
                elif isinstance(item, tuple):
                    out += [s for part in item if isinstance(part, tree.Node)
                            for s in _symbols_of(part)]  # fmt: skip
    return out


def _module(module: str, base: Path | None):
    """``module`` imported, or else the file ``module``.py beside the derivation file."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if base is None:
            raise
        path = base / (module.replace(".", "/") + ".py")
        if not path.exists():
            raise
        spec = importlib.util.spec_from_file_location(f"_derivation_cell_{path.stem}", path)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        return loaded


def _cell(spec: object, base: Path | None = None) -> Graph:
    if not isinstance(spec, str):
        raise DerivationFileError(f"cell must be a string, got {type(spec).__name__}")
    if spec in CELLS:
        return CELLS[spec]()
    module, sep, attribute = spec.partition(":")
    if not sep:
        raise DerivationFileError(
            f"cell {spec!r} is not one of {', '.join(CELLS)} nor 'module:attribute'"
        )
    try:
        graph = getattr(_module(module, base), attribute)
    except (ImportError, AttributeError) as error:
        raise DerivationFileError(f"cell {spec!r} cannot be imported: {error}") from None
    graph = graph() if callable(graph) and not isinstance(graph, Graph) else graph
    if not isinstance(graph, Graph) or not graph.state:
        raise DerivationFileError(f"cell {spec!r} is not a derivations.Graph with a state")
    return graph


def _head(data: dict) -> tuple[Graph | None, str | None, str | None]:
    readout, loss = data.get("readout"), data.get("loss")
    if readout is None and loss is None:
        return None, None, None
    readout = readout or "sigmoid"
    loss = loss or ("bce" if readout == "sigmoid" else "mse")
    try:
        return cells.head(cells.readout(readout), cells.loss(loss)), readout, loss
    except ValueError as error:
        raise DerivationFileError(f"readout/loss: {error}") from None


def loads(text: str, path: str = "<string>") -> Derivation:
    """A derivation file from its text; every error is found before any work."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DerivationFileError(f"{path}: not TOML: {error}") from None
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise DerivationFileError(f"{path}: unknown key {unknown[0]!r}; known: {sorted(_KEYS)}")
    for key in ("title", "cell"):
        if key not in data:
            raise DerivationFileError(f"{path}: the key {key!r} is missing")
    if not isinstance(data["title"], str):
        raise DerivationFileError(f"{path}: title must be a string")
    base = None if path == "<string>" else Path(path).resolve().parent
    cell = _cell(data["cell"], base)
    head, readout, loss = _head(data)
    symbols = data.get("symbols", {})
    if not isinstance(symbols, dict) or not all(isinstance(v, str) for v in symbols.values()):
        raise DerivationFileError(f"{path}: [symbols] must map symbols to names (strings)")
    raw = data.get("equation")
    if not isinstance(raw, list) or not raw:
        raise DerivationFileError(f"{path}: no [[equation]] entries")
    derivation = Derivation(
        data["title"], data["cell"], cell, head, readout, loss, dict(symbols), (), path,
        data.get("source", ""), base=base,
    )  # fmt: skip
    for value in symbols.values():
        if _target(derivation, value) is None:
            raise DerivationFileError(
                f"{path}: [symbols] maps to {value!r}, which is not a node, input or parameter "
                f"of {derivation.cell_name} (nor sigma, tanh, L)"
            )
    equations, seen = [], set()
    for number, entry in enumerate(raw, 1):
        equations.append(_equation(derivation, entry, number, seen, path))
    derivation.equations = tuple(equations)
    return derivation


def _equation(derivation: Derivation, entry: object, number: int, seen: set, path: str):
    where = f"{path}: equation {number}"
    if not isinstance(entry, dict):
        raise DerivationFileError(f"{where}: must be a table with id and latex")
    unknown = sorted(set(entry) - _EQUATION_KEYS)
    if unknown:
        raise DerivationFileError(f"{where}: unknown key {unknown[0]!r}")
    for key in ("id", "latex"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise DerivationFileError(f"{where}: the key {key!r} must be a non-empty string")
    identifier = entry["id"]
    if identifier in seen:
        raise DerivationFileError(f"{where}: id {identifier!r} repeats")
    seen.add(identifier)
    where = f"{path}: equation {identifier!r}"
    own = entry.get("cell")
    if own is not None:
        _cell(own, derivation.base)  # checked now: a bad cell fails before any work
    derivation = derivation.for_equation(Equation(identifier, "", (), cell=own))
    try:
        lines = read(entry["latex"])
    except ReadError as error:
        raise DerivationFileError(f"{where}: latex: {error}") from None
    first = lines[0].sides[0]
    if lines[0].continued:
        raise DerivationFileError(f"{where}: the first line starts with '=': nothing on its left")
    if len(lines[0].sides) < 2 and len(lines) < 2:
        raise DerivationFileError(f"{where}: latex has no '=': nothing to check")
    defines = isinstance(first, tree.Sym) and first.primes == 0 and _bind(derivation, first) is None
    if defines:
        derivation.definitions[first.stem] = identifier
    for line in lines:
        for side in line.sides:
            for sym in _symbols_of(side):
                found = _bind(derivation, sym)
                if found is None:
                    raise DerivationFileError(f"{where}: latex: {_unknown(derivation, sym)}")
                if derivation.head is None and (found.kind == "loss" or found.unit == "head"):
                    raise DerivationFileError(
                        f"{where}: latex: {sym.name} (offset {sym.pos}) is the loss or the "
                        "output, but the file gives no readout/loss (add readout = ..., loss = ...)"
                    )
    return Equation(identifier, entry["latex"], lines, entry.get("text", ""),
                    entry.get("expect", ""), own)  # fmt: skip


def load(path: str | Path) -> Derivation:
    """A derivation file from disk (:func:`loads` of its text)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DerivationFileError(f"{path}: cannot read: {error.strerror}") from None
    return loads(text, str(path))
