r"""Each side of a derivation's equation as numbers: the tree of :mod:`derivations.reading`
evaluated on a :class:`~bptt_check.derivation_world.World`, under every reading.

A side evaluates to a list of readings, each a matrix (a vector is a column) with the labels of
the choices made: ∂ ``total`` or ``partial``; a scalar's derivative by a vector as a row or a
column; a vector beside a matrix in a product read as its diagonal; ∏ multiplied from its top
index down (the chain-rule order) or from its bottom index; a bare σ or σ' as each activation of
the cell; the readings of an :class:`~derivations.reading.Ambiguous` node.  A reading whose shapes
do not fit is dropped.  Quantities beyond the last step are zero (the usual δ_{T+1} = 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath
import sympy as sp

from derivations.graph import Elementwise
from derivations.reading import to_latex, tree

from .derivation_file import Derivation, index_terms, parse_index
from .derivation_values import (
    FUNCTIONS,
    ZERO,
    broadcast,
    close,
    diag,
    entrywise,
    is_vector,
    matmul_readings,
    matrix,
)
from .derivation_world import DPS, Quantity, World

__all__ = ["Context", "EvaluationError", "evaluate"]

#: Readings per node at most: a side with more is an error, never cut silently.
MAX_READINGS = 256


class EvaluationError(ValueError):
    """A side that has no value (no reading fits, a quantity that does not exist)."""


Reading = tuple[object, tuple[str, ...]]


@dataclass
class Context:
    """What a side is evaluated in: the derivation, the world, the bound indices, and how the
    left-hand side's own derivative is read (``mode``, ``loss``: ``"sum"`` or ``"step"``)."""

    derivation: Derivation
    world: World
    env: dict[str, int]
    mode: str | None = None
    loss: str = "sum"
    defaults_only: bool = False
    memo: dict = field(default_factory=dict)

    def index(self, text: str) -> int:
        parse_index(text)  # a clear error for what is not an index
        total = 0
        for sign, term in index_terms(text):
            if term.isdigit():
                value = int(term)
            elif term in ("T", "n", "N"):
                value = self.world.T
            elif term in self.env:
                value = self.env[term]
            else:  # a free index (the article's k after its ∏) reads as t
                value = self.env["t"]
            total += sign * value
        return total


_FN_NAMES = {r"\sigma": "sigma", r"\delta": "sigma", r"\tanh": "tanh", r"\log": "log",
             r"\exp": "exp"}  # fmt: skip


def _limit(readings: list[Reading]) -> list[Reading]:
    """The readings, refused when there are too many to try (never cut silently)."""
    if len(readings) > MAX_READINGS:
        raise EvaluationError(
            f"more than {MAX_READINGS} readings; add parentheses or \\left.\\right|_{{…}} to "
            "say which one is meant"
        )
    return readings


def _combine(parts: list[list[Reading]], join) -> list[Reading]:
    """Readings of a node from its children's: every combination, joined by ``join`` (which
    returns a list of (value, label) or [] when the shapes do not fit)."""
    results: list[Reading] = [(None, ())]
    for index, options in enumerate(parts):
        new = []
        for acc, labels in results:
            for value, more in options:
                if index == 0:
                    new.append((value, labels + more))
                    continue
                for joined, label in join(acc, value):
                    new.append((joined, labels + more + ((label,) if label else ())))
        results = _limit(new)
    return results


def evaluate(node: tree.Node, ctx: Context, lhs: bool = False) -> list[Reading]:
    """Every reading of ``node`` in ``ctx``; ``lhs``: the node is the left-hand side, whose
    derivative is read as ``ctx.mode`` and ``ctx.loss``."""
    with mpmath.workdps(DPS):
        readings = _evaluate(node, ctx, lhs)
    if not readings:
        raise EvaluationError(f"{to_latex(node)}: the shapes of its parts do not fit together")
    return readings


def _evaluate(node: tree.Node, ctx: Context, lhs: bool = False) -> list[Reading]:
    if isinstance(node, tree.Sym):
        return _symbol(node, ctx)
    if isinstance(node, tree.Num):
        return [(matrix([[mpmath.mpf(node.text)]]), ())]
    if isinstance(node, tree.Deriv):
        return _derivative(node, ctx, lhs)
    if isinstance(node, tree.Prod):
        return _product(node, ctx)
    if isinstance(node, tree.Add):
        parts = [_signed(sign, _evaluate(term, ctx)) for sign, term in node.terms]

        def add(a, b):
            if a is ZERO:
                return [(b, "")]
            if b is ZERO:
                return [(a, "")]
            value = broadcast(a, b, lambda x, y: x + y)
            return [] if value is None else [(value, "")]

        return _combine(parts, add)
    if isinstance(node, tree.Call):
        return _call(node, ctx)
    if isinstance(node, tree.Pow):
        out = []
        exp = node.exp if isinstance(node.exp, int) else ctx.index(node.exp)
        for value, labels in _evaluate(node.base, ctx):
            if value is ZERO:
                out.append((ZERO, labels))
            elif value.rows == value.cols and value.rows > 1:
                out.append((value**exp, labels))
            else:
                out.append((entrywise(value, lambda x, e=exp: x**e), labels))
        return out
    if isinstance(node, tree.Transpose):
        return [(v if v is ZERO else v.T, labels) for v, labels in _evaluate(node.arg, ctx)]
    if isinstance(node, tree.Concat):
        parts = [_evaluate(part, ctx) for part in node.parts]

        def stack(a, b):
            if a is ZERO or b is ZERO or a.cols != 1 or b.cols != 1:
                return []
            stacked = [[a[i, 0]] for i in range(a.rows)] + [[b[i, 0]] for i in range(b.rows)]
            return [(matrix(stacked), "")]

        return _combine(parts, stack)
    if isinstance(node, tree.Frac):
        parts = [_evaluate(node.num, ctx), _evaluate(node.den, ctx)]

        def divide(a, b):
            if b is ZERO or b.rows * b.cols != 1:
                return []
            return [(ZERO if a is ZERO else a / b[0, 0], "")]

        return _combine(parts, divide)
    if isinstance(node, tree.BigOp):
        return _big(node, ctx)
    if isinstance(node, tree.Ambiguous):
        out = []
        for number, reading in enumerate(node.readings, 1):
            label = f"reading {number} of {node.what}: {to_latex(reading)}"
            out += [(v, (label, *labels)) for v, labels in _evaluate(reading, ctx, lhs)]
        return _limit(out)
    if isinstance(node, tree.Dots):
        raise EvaluationError("⋯ outside a chain of ∂ factors")
    raise EvaluationError(f"cannot evaluate {type(node).__name__}")


def _signed(sign: int, readings: list[Reading]) -> list[Reading]:
    if sign > 0:
        return readings
    return [(v if v is ZERO else -v, labels) for v, labels in readings]


def _symbol(sym: tree.Sym, ctx: Context) -> list[Reading]:
    binding = ctx.derivation.bind(sym)
    world = ctx.world
    if binding.kind == "param":
        return [(matrix(world.params[binding.name]), ())]
    if binding.kind == "node":
        step = ctx.index(sym.sub)
        value = world.value(Quantity("node", binding.name, binding.unit, step))
        return [(ZERO if value is None else matrix(value), ())]
    if binding.kind == "loss":
        step = None if sym.sub is None else ctx.index(sym.sub)
        if step is None and ctx.loss == "step":
            step = ctx.env["t"]
        value = world.value(Quantity("loss", step=step))
        return [(ZERO if value is None else matrix(value), ())]
    if binding.kind == "act":
        return _bare_activation(binding.name, sym.primes, ctx)
    if binding.kind == "def":
        return _defined(sym, ctx)
    raise EvaluationError(f"{sym.name}: cannot evaluate a {binding.kind}")


def _bare_activation(fn: str, primes: int, ctx: Context) -> list[Reading]:
    """σ or σ' written without its argument: each σ(·) of the cell, at step t."""
    world, t = ctx.world, ctx.env["t"]
    values = world.base.cell[t]
    target = {"sigma": "sigma", "tanh": "tanh"}[fn]
    out = []
    for step in world.cell.steps:
        if not isinstance(step, Elementwise):
            continue
        for call in sp.sympify(step.expr).atoms(sp.Function):
            if type(call).__name__ != target:
                continue
            names = sorted(s.name for s in call.args[0].free_symbols)
            arg = sp.lambdify([sp.Symbol(s) for s in names], call.args[0], modules="mpmath")
            length = max(len(values[s]) for s in names)
            xs = [arg(*(values[s][i if len(values[s]) > 1 else 0] for s in names))
                  for i in range(length)]  # fmt: skip
            f = FUNCTIONS[fn][1 if primes else 0]
            label = (
                rf"{'σ' if fn == 'sigma' else 'tanh'}{chr(39) * primes} read as at {call.args[0]}"
            )
            out.append((matrix([[f(x)] for x in xs]), (label,)))
    if not out:
        raise EvaluationError(f"the cell {world.cell.name} has no {fn}")
    return out


def _defined(sym: tree.Sym, ctx: Context) -> list[Reading]:
    """A symbol an earlier equation defines (δ_t = ∂L/∂h_t), at the step written."""
    derivation = ctx.derivation
    equation = next(e for e in derivation.equations if e.id == derivation.definitions[sym.stem])
    head = equation.lines[0].sides[0]
    body = equation.lines[0].sides[1] if len(equation.lines[0].sides) > 1 else None
    if body is None:
        body = equation.lines[1].sides[0]
    env = dict(ctx.env)
    if head.sub is not None and sym.sub is not None:
        var, offset = parse_index(head.sub)
        step = ctx.index(sym.sub)
        if var is not None:
            if step > ctx.world.T:
                return [(ZERO, ())]
            env[var] = step - offset
    key = ("def", sym.stem, tuple(sorted(env.items())))
    if key not in ctx.memo:
        inner = Context(derivation, ctx.world, env, defaults_only=True, memo=ctx.memo)
        ctx.memo[key] = _evaluate(body, inner)
    return ctx.memo[key]


def _quantities(node: tree.Node, ctx: Context, step_loss: bool) -> list[Quantity]:
    parts = node.parts if isinstance(node, tree.Concat) else (node,)
    out = []
    for part in parts:
        if not isinstance(part, tree.Sym):
            raise EvaluationError(f"∂ of {to_latex(part)}: write ∂ of a named quantity")
        binding = ctx.derivation.bind(part)
        if binding.kind == "param":
            out.append(Quantity("param", binding.name))
        elif binding.kind == "node":
            out.append(Quantity("node", binding.name, binding.unit, ctx.index(part.sub)))
        elif binding.kind == "loss":
            step = None if part.sub is None else ctx.index(part.sub)
            if step is None and step_loss:
                step = ctx.env["t"]
            out.append(Quantity("loss", step=step))
        else:
            raise EvaluationError(f"∂ of {part.name}: not a quantity of the cell")
    return out


def _derivative(node: tree.Deriv, ctx: Context, lhs: bool) -> list[Reading]:
    world = ctx.world
    nums = _quantities(node.num, ctx, ctx.loss == "step")
    dens = _quantities(node.den, ctx, False)
    if node.fixed is not None:
        modes = ["partial"]
    elif node.total:  # written with d: the total derivative
        modes = ["total"]
    elif (
        lhs
        and ctx.mode == "total"
        and all(q.kind == "param" for q in dens)
        and all(q.kind == "node" for q in nums)
    ):  # ∂z_t/∂b_z: a node's derivative by a parameter is read either way, as written
        modes = ["total", "partial"]
    elif lhs and ctx.mode is not None:
        modes = [ctx.mode]
    elif ctx.defaults_only:
        modes = ["total"]
    else:
        modes = ["total", "partial"]
    out: list[Reading] = []
    for mode in modes:
        rows, missing, beyond = [], False, False
        for a in nums:
            blocks = []
            for b in dens:
                block = world.jacobian(a, b, mode)
                if block is None and mode == "partial":
                    missing = True
                beyond = beyond or block is None
                blocks.append(block)
            rows.append(blocks)
        if missing:
            continue
        label = f"{to_latex(node)} {mode}" if len(modes) > 1 else ""
        if beyond:  # a quantity beyond the last step: zero (labelled as at the other steps)
            if not any(v is ZERO for v, _ in out):
                out.append((ZERO, (label,) if label else ()))
            continue
        jacobian = matrix(_assemble(rows))
        if any(close(jacobian, other) for other, _ in out):
            continue
        out += _shaped(jacobian, nums, dens, world, (label,) if label else ())
    return out


def _assemble(rows: list[list[list[list]]]) -> list[list]:
    """Block rows (each a list of blocks, each a list of rows) as one list of rows."""
    out = []
    for blocks in rows:
        for r in range(len(blocks[0])):
            out.append([v for block in blocks for v in block[r]])
    return out


def _shaped(matrix, nums, dens, world: World, labels) -> list[Reading]:
    """A scalar's derivative: as a row (numerator layout), and as the variable's shape (a
    column for a vector: the gradient)."""
    if matrix.rows != 1 or len(nums) != 1 or len(dens) != 1:
        return [(matrix, labels)]
    value = world.value(dens[0])
    rows, cols = len(value), len(value[0])
    if rows * cols == 1:
        return [(matrix, labels)]
    shaped = mpmath.matrix(rows, cols)
    for i in range(rows):
        for j in range(cols):
            shaped[i, j] = matrix[0, i * cols + j]
    return [(matrix, (*labels, "∂ of a scalar as a row")), (shaped, labels)]


def _chain(node: tree.Node) -> list[tree.Node]:
    if isinstance(node, tree.Prod) and node.op == "mat":
        return _chain(node.left) + _chain(node.right)
    return [node]


def _step_of(factor: tree.Node, ctx: Context) -> tuple[int, int] | None:
    """(numerator step, denominator step) of a ∂ factor between two indexed symbols."""
    if not isinstance(factor, tree.Deriv):
        return None
    if not (isinstance(factor.num, tree.Sym) and isinstance(factor.den, tree.Sym)):
        return None
    if factor.num.sub is None or factor.den.sub is None:
        return None
    try:
        return ctx.index(factor.num.sub), ctx.index(factor.den.sub)
    except ValueError:
        return None


def _at(sym: tree.Sym, step: int) -> tree.Sym:
    return tree.Sym(sym.base, sym.decor, str(step), sym.primes, pos=sym.pos)


def _fill(factors: list[tree.Node], ctx: Context) -> list[tree.Node]:
    """``J_a ⋯ J_b``: the factors between, from the pattern of the neighbours of ⋯."""
    out: list[tree.Node] = []
    for index, factor in enumerate(factors):
        if not isinstance(factor, tree.Dots):
            out.append(factor)
            continue
        before = factors[index - 1] if index else None
        after = factors[index + 1] if index + 1 < len(factors) else None
        steps = (_step_of(before, ctx), _step_of(after, ctx)) if before and after else None
        if before is not None and isinstance(before, tree.Sym) and isinstance(after, tree.Sym):
            a, b = ctx.index(before.sub), ctx.index(after.sub)
            if before.stem != after.stem or b >= a:
                raise EvaluationError(f"⋯ cannot be filled between {before.name} and {after.name}")
            out += [_at(before, step) for step in range(a - 1, b, -1)]
            continue
        if not steps or None in steps:
            raise EvaluationError("⋯ between factors that are not ∂ of indexed symbols")
        (a_num, a_den), (b_num, _) = steps
        gap = a_num - a_den
        if gap != 1 or b_num > a_den:
            raise EvaluationError(f"⋯ cannot be filled between steps {a_num} and {b_num}")
        for step in range(a_den, b_num, -1):
            out.append(tree.Deriv(_at(before.num, step), _at(before.den, step - 1),
                                  before.total, pos=before.pos))  # fmt: skip
    return out


def _product(node: tree.Prod, ctx: Context) -> list[Reading]:
    if node.op == "had":
        parts = [_evaluate(node.left, ctx), _evaluate(node.right, ctx)]

        def hadamard(a, b):
            if a is ZERO or b is ZERO:
                return [(ZERO, "")]
            value = broadcast(a, b, lambda x, y: x * y)
            return [] if value is None else [(value, "")]

        return _combine(parts, hadamard)
    factors = _fill(_chain(node), ctx)
    parts = [_evaluate(factor, ctx) for factor in factors]
    return _combine(parts, matmul_readings)


def _call(node: tree.Call, ctx: Context) -> list[Reading]:
    fn = ctx.derivation.symbols.get(node.fn, _FN_NAMES.get(node.fn, node.fn))
    out = []
    for value, labels in _evaluate(node.arg, ctx):
        if value is ZERO:
            raise EvaluationError(f"{to_latex(node)}: its argument is beyond the last step")
        if fn == "diag":
            if not is_vector(value) and value.rows * value.cols != 1:
                continue
            out.append((diag(value), labels))
        elif fn == "softmax":
            total = mpmath.fsum(mpmath.exp(value[i, 0]) for i in range(value.rows))
            out.append((entrywise(value, lambda x, s=total: mpmath.exp(x) / s), labels))
        elif fn in FUNCTIONS:
            f = FUNCTIONS[fn][1 if node.primes else 0]
            if node.primes > 1:
                raise EvaluationError(f"{to_latex(node)}: only first derivatives")
            out.append((entrywise(value, f), labels))
        else:
            raise EvaluationError(f"{node.fn} is not a function the checker knows")
    return out


def _big(node: tree.BigOp, ctx: Context) -> list[Reading]:
    lo, hi = ctx.index(node.lo), ctx.index(node.hi)
    terms = []
    for value in range(lo, hi + 1):
        inner = Context(ctx.derivation, ctx.world, {**ctx.env, node.var: value}, ctx.mode,
                        ctx.loss, ctx.defaults_only, ctx.memo)  # fmt: skip
        terms.append(dict((labels, v) for v, labels in reversed(_evaluate(node.body, inner))))
    if not terms:
        return [(ZERO, ())]
    labels_all = list(dict.fromkeys(key for term in terms for key in term))
    out: list[Reading] = []
    orders = [("", list(reversed(terms)))]
    if node.kind == "prod":
        orders.append((f"∏ multiplied from {node.var} = {node.lo} on the left", terms))
    for labels in labels_all:
        for order_label, ordered in orders:
            values = [_matching(t, labels) for t in ordered]
            acc = values[0]
            ok = True
            for v in values[1:]:
                if node.kind == "sum":
                    if acc is ZERO:
                        acc = v
                    elif v is not ZERO:
                        s = broadcast(acc, v, lambda x, y: x + y)
                        if s is None:
                            ok = False
                            break
                        acc = s
                else:
                    products = matmul_readings(acc, v)
                    if not products:
                        ok = False
                        break
                    acc = products[0][0]
            if ok:
                extra = (order_label,) if order_label else ()
                if node.kind == "prod" and order_label and any(close(acc, o) for o, _ in out):
                    continue
                out.append((acc, labels + extra))
    return out


def _matching(term: dict, labels: tuple[str, ...]):
    """The reading of one term of a Σ or ∏ with ``labels``; where a partial reading does not
    exist at this index (or equals the total one), the total one."""
    if labels in term:
        return term[labels]
    total = tuple(label.replace(" partial", " total") for label in labels)
    if total in term:
        return term[total]
    kept = [key for key in term if set(key) <= set(total)]
    return term[max(kept, key=len)] if kept else next(iter(term.values()))
