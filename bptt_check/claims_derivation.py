r"""Verdicts on the equations of a derivation file, one per ``[[equation]]``.

Each side of an equation is evaluated on small unrolled networks of the file's cell
(:mod:`bptt_check.derivation_world`: n = m = k = 2, T = 4, two seeded points, at t = T and
t = T - 1; and n = m = k = 1 for the condition n = 1) under every reading
(:mod:`bptt_check.derivation_eval`).  Its left-hand side is read first as written — every ∂ the
total derivative, L the sum of the losses over t — then under the conditions a derivation may
leave unstated, fewest first:

* ``partial`` — the left-hand ∂ holds the other inputs of its step fixed (∂C_t/∂C_{t-1} with
  h_{t-1} fixed, ∂S_t/∂W with S_{t-1} fixed), as for eq. (14);
* ``step`` — L is the loss of one step, L_t (eq. (4));
* ``layout`` — the Jacobian in denominator layout, transposed;
* ``n1`` — a scalar state, n = 1 (eq. (7)).

The verdict is ``holds`` when a reading of the right-hand side equals the left as written at
every point, ``holds-if`` with the conditions when it does only under them, ``fails`` otherwise;
the counterexample is the first point where the sides differ, at 50 digits (mpmath), and the
gradient of the loss is confirmed against :class:`numeric.Model`'s derived BPTT in float64.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import mpmath

from derivations.graph import Graph
from derivations.reading import to_latex, tree

from .derivation_eval import Context, EvaluationError, evaluate
from .derivation_evidence import cell_proofs, counterexample, exact_definition, gradient_check
from .derivation_file import Derivation, Equation
from .derivation_values import close, difference
from .derivation_world import World, make_world
from .evidence import (
    Column,
    Example,
    Named,
    Quantity,
    Table,
    Text,
    Verdict,
)

__all__ = ["CONDITIONS", "DerivationVerdict", "check", "check_equation"]

SIZES = (2, 2, 2)  # n, m, k
T = 4
SEEDS = (0, 1)
STEPS = (T, T - 1)  # the free t of an equation is read at these steps

_ROW = "∂ of a scalar as a row"
#: What a student takes away from a line that holds (a definition of the cell's node, or not).
_RIGHT = {
    True: "the definition agrees with the cell",
    False: "this line is right as written: its left side is the total derivative, L the sum",
}
#: The conditions tried on the left-hand side, in order, with their names in the verdict.
CONDITIONS = ("partial", "step", "layout", "n1")


@dataclass(frozen=True)
class DerivationVerdict(Verdict):
    """A verdict on one equation of a derivation file: its LaTeX as written in the file and
    the reading that was checked (the reader's output, canonical)."""

    written: str = ""
    reading: str = ""

    @property
    def as_written_latex(self) -> str:
        return self.written

    @property
    def derived_latex(self) -> str:
        return self.reading


@cache
def _worlds(cell: Graph, head: Graph | None, n: int, seed: int = 0) -> tuple[World, ...]:
    """The points of a check, built once per process: SEEDS shifted by ``seed``."""
    m, k = (1, 1) if n == 1 else SIZES[1:]
    return tuple(make_world(cell, head, n, m, k, T, seed + s) for s in SEEDS)


@dataclass
class _Outcome:
    """One set of conditions tried: whether every right-hand side holds under it, the readings
    that did, and the largest difference of the first reading where none did."""

    conditions: tuple[str, ...]
    holds: bool
    readings: tuple[str, ...]
    worst: float
    failure: tuple | None  # (world, t, side index, lhs value, rhs value, labels)


def _condition_text(conditions: tuple[str, ...], lhs: tree.Node, derivation: Derivation) -> str:
    words = []
    for c in conditions:
        if c == "partial":
            words.append(_held_fixed(lhs, derivation))
        elif c == "step":
            words.append("L is the loss of one step, L_t (the loss sums over t)")
        elif c == "layout":
            words.append("the Jacobian is read in denominator layout (transposed)")
        elif c == "n1":
            words.append("n = 1 (a scalar state)")
    return "; ".join(words)


def _held_fixed(lhs: tree.Node, derivation: Derivation) -> str:
    """What the partial reading of the left-hand ∂ holds fixed, in the text's names."""
    if not isinstance(lhs, tree.Deriv) or not isinstance(lhs.den, tree.Sym):
        return "the other inputs of the step held fixed (the partial derivative)"
    den = lhs.den
    binding = derivation.bind(den)
    names = {new: prev for new, prev in derivation.cell.state}
    num = lhs.num if isinstance(lhs.num, tree.Sym) else None
    if num is not None and derivation.bind(num).kind == "loss":
        return f"only L's direct dependence on {den.name} (every state held fixed)"
    if binding.kind == "param":
        states = [derivation.cell.latex_name(prev) for _, prev in derivation.cell.state]
        return f"{', '.join(states)} held fixed (the immediate partial, one step)"
    others = [derivation.cell.latex_name(prev) for new, prev in names.items()
              if new != binding.name]  # fmt: skip
    if binding.kind == "node" and others:
        return f"{', '.join(others)} held fixed (the partial derivative)"
    return "only the direct dependence (the other inputs of the step held fixed)"


def _applicable(lhs: tree.Node, derivation: Derivation) -> list[str]:
    out = []
    if isinstance(lhs, tree.Deriv):
        out.append("partial")
        nums = lhs.num.parts if isinstance(lhs.num, tree.Concat) else (lhs.num,)
        if any(isinstance(p, tree.Sym) and derivation.bind(p).kind == "loss" and p.sub is None
               for p in nums):  # fmt: skip
            out.append("step")
        else:
            out.append("layout")
    out.append("n1")
    return out


def _try(
    derivation: Derivation,
    lhs: tree.Node,
    sides: list[tree.Node],
    conditions: tuple[str, ...],
    seed: int = 0,
) -> _Outcome:
    n = 1 if "n1" in conditions else SIZES[0]
    mode = "partial" if "partial" in conditions else "total"
    loss = "step" if "step" in conditions else "sum"
    holding: list[str] = []
    worst, failure = 0.0, None
    for index, side in enumerate(sides):
        alive: dict[tuple[str, ...], bool] | None = None
        first_fail = None
        records: dict[tuple[str, ...], tuple] = {}
        steps = STEPS if _t_is_free(lhs, sides) else STEPS[:1]  # no free t: t = T, the end
        for world in _worlds(derivation.cell, derivation.head, n, seed):
            for t in steps:
                memo: dict = {}
                env = {"t": t} | {var: 1 for var in _free(lhs)}  # ∂h_t/∂h_k: k = 1
                ctx = Context(derivation, world, env, mode, loss, memo=memo)
                left = evaluate(lhs, ctx, lhs=True)
                right = evaluate(side, Context(derivation, world, env, loss=loss, memo=memo))
                results = {}
                for (lv, llabels), (rv, rlabels) in itertools.product(left, right):
                    key = llabels + rlabels
                    if "layout" in conditions and isinstance(lv, mpmath.matrix):
                        lv = lv.T  # noqa: PLW2901 - the left side in denominator layout
                    ok = close(lv, rv)
                    results[key] = results.get(key, False) or ok
                    if not ok and key not in records:
                        records[key] = (world, t, index, lv, rv, key)
                if alive is None:
                    alive = results
                else:
                    alive = {k: v and results.get(k, False) for k, v in alive.items()}
        if records:  # the plainest reading that differs somewhere, where it first differs
            plainest = min(
                records,
                key=lambda k: (
                    difference(records[k][3], records[k][4]) is None,  # shapes that compare
                    len([x for x in k if x != _ROW and not x.endswith(" total")]),
                    len([x for x in k if x != _ROW]),
                ),
            )
            first_fail = records[plainest]
        good = sorted((k for k, v in (alive or {}).items() if v), key=len)
        if not good and first_fail is None:  # every point matched, each by another reading
            raise EvaluationError("no one reading of the sides matches at every point")
        if not good:
            lv, rv = first_fail[3], first_fail[4]
            diff = difference(lv, rv)
            return _Outcome(conditions, False, (), float("inf") if diff is None else diff,
                            first_fail)  # fmt: skip
        shown = [label for label in good[0] if label != _ROW and not label.endswith(" total")]
        holding.append("; ".join(shown) or "as written")
        if failure is None and first_fail is not None:
            failure = first_fail
    return _Outcome(conditions, True, tuple(holding), worst, failure)


def _t_is_free(lhs: tree.Node, sides: list[tree.Node]) -> bool:
    """Whether t appears in the equation outside a Σ or ∏ over t."""

    def walk(node, bound: frozenset) -> bool:
        if isinstance(node, tree.Sym):
            return node.sub is not None and "t" in node.sub and "t" not in bound
        if isinstance(node, tree.BigOp):
            inner = bound | {node.var}
            return ("t" in node.lo + node.hi and "t" not in bound) or walk(node.body, inner)
        children = [v for v in vars(node).values() if isinstance(v, tree.Node)]
        for value in vars(node).values():
            if isinstance(value, tuple):
                for item in value:
                    if isinstance(item, tree.Node):
                        children.append(item)
                    elif isinstance(item, tuple):
                        children += [p for p in item if isinstance(p, tree.Node)]
        return any(walk(child, bound) for child in children)

    return any(walk(node, frozenset()) for node in (lhs, *sides))


def _free(node: tree.Node) -> set[str]:
    """Index letters of the left-hand side other than t (and T, n): ∂h_t/∂h_k's k."""
    from .derivation_file import parse_index

    out = set()
    for sym in _symbols(node):
        if sym.sub is None:
            continue
        try:
            var, _ = parse_index(sym.sub)
        except ValueError:
            continue
        if var is not None and var not in ("t", "T", "n", "N"):
            out.add(var)
    return out


def _symbols(node) -> list[tree.Sym]:
    if isinstance(node, tree.Sym):
        return [node]
    if isinstance(node, tree.Deriv):
        return _symbols(node.num) + _symbols(node.den)
    if isinstance(node, tree.Concat):
        return [s for part in node.parts for s in _symbols(part)]
    return []


def _sides(equation: Equation) -> tuple[tree.Node, list[tree.Node], list[int]]:
    """The left-hand side, every later side, and the line (from 1) each is on."""
    first = equation.lines[0]
    lhs = first.sides[0]
    sides, lines = list(first.sides[1:]), [1] * (len(first.sides) - 1)
    for number, line in enumerate(equation.lines[1:], 2):
        sides += list(line.sides)
        lines += [number] * len(line.sides)
    return lhs, sides, lines


def check_equation(
    derivation: Derivation, equation: Equation, number: int = 0, seed: int = 0
) -> Verdict:
    """The verdict on one equation of ``derivation`` (its lines compared with its left side)."""
    view = derivation.for_equation(equation)
    lhs, sides, line_of = _sides(equation)
    reading = r" \\ ".join(to_latex(line) for line in equation.lines)
    common = {"written": equation.latex, "reading": reading}
    if isinstance(lhs, tree.Sym) and view.definitions.get(lhs.stem) == equation.id:
        world = _worlds(view.cell, view.head, SIZES[0], seed)[0]
        try:  # a definition is evaluated once, so that a side without a value is reported
            evaluate(sides[0], Context(view, world, {"t": STEPS[0]}, defaults_only=True))
        except EvaluationError as error:
            return _no_value(equation, number, str(error), common)
        return DerivationVerdict(
            equation.id, "holds",
            Text(f"defines {lhs.name}", f"defines ${to_latex(lhs)}$"), number,
            (Quantity("defines", lhs.name, "", "the symbol it defines"),),
            finding="definition",
            takeaway=Text(f"{lhs.name} is a name: the lines after it are checked with it",
                          f"${to_latex(lhs)}$ is a name: the lines after it are checked with it"),
            **common,
        )  # fmt: skip
    applicable = _applicable(lhs, view)
    subsets = [()] + [
        combo for size in (1, 2) for combo in itertools.combinations(applicable, size)
    ]
    outcomes: list[_Outcome] = []
    for conditions in subsets:
        try:
            outcome = _try(view, lhs, sides, conditions, seed)
        except EvaluationError as error:
            if not conditions:  # as written, a side has no value: the line is not well formed
                return _no_value(equation, number, str(error), common)
            # under this condition a side has no value (∂L/∂W with the states held fixed): the
            # condition does not apply
            outcome = _Outcome(conditions, False, (), float("inf"), None)
        outcomes.append(outcome)
        if outcome.holds:
            break
    best = outcomes[-1]
    table = Table(
        "readings",
        "Each set of conditions tried on the left-hand side, fewest first: whether every "
        "right-hand side then equals it at every point, and the reading that does.",
        (
            Column("conditions", "conditions"),
            Column("holds", "holds"),
            Column("reading", "reading"),
            Column("difference", r"$\max|\Delta|$"),
        ),  # fmt: skip
        tuple(
            (
                Named(
                    ", ".join(o.conditions) or "as written",
                    _condition_text(o.conditions, lhs, view) or "as written",
                ),
                o.holds,
                "; ".join(o.readings),
                o.worst,
            )  # fmt: skip
            for o in outcomes
        ),
    )
    evidence: list = [table, cell_proofs(view.cell)]
    exact = exact_definition(view, lhs, sides, best.holds and not best.conditions)
    if exact is not None:
        evidence.append(exact)
    evidence += gradient_check(view, lhs, _worlds(view.cell, view.head, SIZES[0], seed)[0])
    definition = isinstance(lhs, tree.Sym)
    default = outcomes[0]
    if best.holds and not best.conditions:
        why = "; ".join(r for r in best.readings if r != "as written")
        said = (
            "both sides agree as written" if not why else f"both sides agree read as: {why}"
        ) + (
            f" at {len(SEEDS)} points of the unrolled cell (n = {SIZES[0]}, m = {SIZES[1]}, "
            f"T = {T}), every entry, at 50 digits"
        )
        return DerivationVerdict(
            equation.id, "holds", Text(said, said),
            number, tuple(evidence), finding="definition" if definition else "sound",
            takeaway=Text(_RIGHT[definition], _RIGHT[definition]), **common,
        )  # fmt: skip
    world, t, index, lv, rv, labels = default.failure
    where = _where(index, line_of, len(sides))
    title = f"as written, {where} differs from the left-hand side at t = {t}"
    example = counterexample(world, t, lv, rv, labels, title)
    if best.holds:
        condition = _condition_text(best.conditions, lhs, view)
        return DerivationVerdict(
            equation.id, "holds-if",
            Text(f"holds only if {condition}; as written the sides differ by "
                 f"{default.worst:.3g}", f"holds only if {condition}; as written the sides "
                 f"differ by {default.worst:.3g}"),
            number, tuple(evidence),
            condition=Text(condition, condition),
            finding="missing-condition", counterexample=(example,),
            takeaway=Text(f"state the condition: {condition}", f"state the condition: {condition}"),
            **common,
        )  # fmt: skip
    return DerivationVerdict(
        equation.id, "fails",
        Text(f"{where} is not the left-hand side under any reading or condition tried; at the "
             f"counterexample they differ by {default.worst:.3g}",
             f"{where} is not the left-hand side under any reading or condition tried; at the "
             f"counterexample they differ by {default.worst:.3g}"),
        number, tuple(evidence),
        finding="wrong-formula" if definition else "wrong-derivation",
        counterexample=(example,),
        takeaway=Text("this line is wrong: recompute it from the cell's equations",
                      "this line is wrong: recompute it from the cell's equations"),
        **common,
    )  # fmt: skip


def _where(index: int, line_of: list[int], count: int) -> str:
    if count == 1:
        return "the right-hand side"
    same_line = [i for i, line in enumerate(line_of) if line == line_of[index]]
    if len(same_line) == 1:
        return f"the right-hand side on line {line_of[index]}"
    return f"side {same_line.index(index) + 2} of line {line_of[index]}"


def _no_value(equation: Equation, number: int, message: str, common: dict) -> Verdict:
    example = Example("no_value", "a side without a value", "the equation as read",
                      quantities=(Quantity("error", message, "", "why"),))  # fmt: skip
    return DerivationVerdict(
        equation.id, "fails", Text(f"cannot be evaluated: {message}",
                                   f"cannot be evaluated: {message}"),
        number, (), finding="wrong-formula", counterexample=(example,),
        takeaway=Text("the line does not make sense as written (shapes or steps)",
                      "the line does not make sense as written (shapes or steps)"), **common,
    )  # fmt: skip


def check(derivation: Derivation, seed: int = 0, progress=None) -> list[Verdict]:
    """One verdict per equation of ``derivation``, in file order, on the points of ``seed``."""
    verdicts = []
    for number, equation in enumerate(derivation.equations, 1):
        if progress is not None:
            progress(number, len(derivation.equations), equation.id)
        verdicts.append(check_equation(derivation, equation, number, seed))
    return verdicts
