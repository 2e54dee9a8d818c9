r"""The unrolled cell of a derivation file at small sizes, in mpmath: what each side is read on.

A :class:`World` holds a cell (a :class:`derivations.Graph`), an optional head (readout and loss,
eq. (2)-(3)), explicit sizes, T steps and one seeded point (parameters, inputs, targets, initial
states) at :data:`DPS` digits.  It answers the quantities a derivation names — a node at a step
(S_t, C_{t-1}, O_t), a parameter, the loss of one step or their sum — and the derivative of one
quantity with respect to another under each reading of ∂:

* ``"total"`` — every path: the perturbation flows through the rest of the unrolled network;
* ``"partial"`` — the direct dependence only: the step that computes the numerator is
  recomputed with the other inputs of that step held at their values (∂C_t/∂C_{t-1} with
  h_{t-1} fixed; ∂S_t/∂W with S_{t-1} fixed; ∂L/∂S_t through O_t alone).

Derivatives are central differences at 50 digits with step 1e-15 (error below 1e-28), so they do
not depend on the derivations under test; :func:`bptt_check.claims_derivation` compares the
gradient of the loss with :class:`numeric.Model`'s derived BPTT as an independent check.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cache

import mpmath
import sympy as sp

from derivations import dims as symbols
from derivations.graph import Affine, Elementwise, Graph, MaxShift, Sum

__all__ = ["DPS", "Quantity", "World", "make_world"]

DPS = 50
_H = "1e-15"

Vector = list  # of mpf: a column
Matrix = list  # of rows, each a list of mpf


@dataclass(frozen=True)
class Quantity:
    """A quantity a derivation names: ``kind`` is ``"node"`` (``unit`` ``"cell"`` or ``"head"``,
    ``name`` a node or input, ``step``), ``"param"`` (``name``) or ``"loss"`` (``step`` None for
    the sum over t)."""

    kind: str
    name: str = ""
    unit: str = "cell"
    step: int | None = None


def _mp_sigma(x):
    return 1 / (1 + mpmath.exp(-x))


_MODULES = [{"sigma": _mp_sigma, "delta": _mp_sigma}, "mpmath"]


@cache
def _compiled(graph: Graph) -> dict[str, tuple[tuple[str, ...], object]]:
    """Each elementwise step of ``graph`` as an mpmath function of its symbols, in name order."""
    out = {}
    for step in graph.steps:
        if isinstance(step, Elementwise):
            names = tuple(sorted(s.name for s in sp.sympify(step.expr).free_symbols))
            fn = sp.lambdify([sp.Symbol(s) for s in names], step.expr, modules=_MODULES)
            out[step.out] = (names, fn)
    return out


def _matvec(matrix: Matrix, vector: Vector) -> Vector:
    return [mpmath.fsum(a * b for a, b in zip(row, vector, strict=True)) for row in matrix]


def evaluate_unit(
    graph: Graph,
    inputs: dict[str, Vector],
    params: dict[str, Matrix],
    overrides: dict[str, Vector] | None = None,
) -> dict[str, Vector]:
    """One step of ``graph`` (a cell or the head) on mpmath numbers; ``overrides`` replace a
    node's value (its consumers then read the replaced value)."""
    overrides = overrides or {}
    functions = _compiled(graph)
    values = {name: overrides.get(name, value) for name, value in inputs.items()}
    for step in graph.steps:
        if step.out in overrides:
            values[step.out] = overrides[step.out]
            continue
        if isinstance(step, Affine):
            total = None
            for weight, operands in step.terms:
                stacked = [v for o in operands for v in values[o]]
                part = _matvec(params[weight], stacked)
                total = part if total is None else [a + b for a, b in zip(total, part, strict=True)]
            if step.bias is not None:
                total = [a + row[0] for a, row in zip(total, params[step.bias], strict=True)]
            values[step.out] = total
        elif isinstance(step, Sum):
            values[step.out] = [mpmath.fsum(values[step.operand])]
        elif isinstance(step, MaxShift):
            values[step.out] = [max(values[step.operand])]
        else:
            names, fn = functions[step.out]
            length = max(len(values[s]) for s in names)
            values[step.out] = [
                fn(*(values[s][i if len(values[s]) > 1 else 0] for s in names))
                for i in range(length)
            ]
    return values


@dataclass
class Trajectory:
    """Node values of every cell step (``cell[0]`` holds the initial states) and head step."""

    cell: list[dict[str, Vector]]
    head: list[dict[str, Vector]]


@dataclass
class World:
    """A cell at explicit sizes with one seeded point, ``T`` steps, at :data:`DPS` digits."""

    cell: Graph
    head: Graph | None
    reads: str
    dims: dict[str, int]
    T: int
    params: dict[str, Matrix]
    xs: list[dict[str, Vector]]
    ys: list[Vector]
    init: dict[str, Vector]
    seed: int
    _cache: dict = field(default_factory=dict, repr=False)

    # ---- the forward pass ----------------------------------------------------------------
    @property
    def states(self) -> tuple[tuple[str, str], ...]:
        return self.cell.state

    def head_params(self) -> set[str]:
        return set() if self.head is None else set(self.head.parameters)

    def run(
        self,
        params: dict[str, Matrix] | None = None,
        init: dict[str, Vector] | None = None,
        overrides: dict[tuple[str, int, str], Vector] | None = None,
    ) -> Trajectory:
        """The unrolled network; ``overrides[(unit, t, node)]`` replaces a node at step t (an
        input of step t when ``node`` is one)."""
        params = self.params if params is None else params
        overrides = overrides or {}
        first = dict(self.init if init is None else init)
        cell_steps: list[dict[str, Vector]] = [
            {new: overrides.get(("cell", 0, new), first[prev]) for new, prev in self.states}
        ]
        head_steps: list[dict[str, Vector]] = [{}]
        for t in range(1, self.T + 1):
            inputs = {prev: cell_steps[t - 1][new] for new, prev in self.states}
            inputs |= self.xs[t - 1]
            local = {
                name: v for (unit, s, name), v in overrides.items() if unit == "cell" and s == t
            }
            cell_steps.append(evaluate_unit(self.cell, inputs, params, local))
            head_steps.append(self._head(t, cell_steps[t], params, overrides))
        return Trajectory(cell_steps, head_steps)

    def _head(self, t, cell_values, params, overrides) -> dict[str, Vector]:
        if self.head is None:
            return {}
        local = {name: v for (unit, s, name), v in overrides.items() if unit == "head" and s == t}
        inputs = {"s": cell_values[self.reads], "y": self.ys[t - 1]}
        return evaluate_unit(self.head, inputs, params, local)

    @property
    def base(self) -> Trajectory:
        if "base" not in self._cache:
            with mpmath.workdps(DPS):
                self._cache["base"] = self.run()
        return self._cache["base"]

    # ---- quantities ----------------------------------------------------------------------
    def value(self, q: Quantity, trajectory: Trajectory | None = None) -> Matrix | None:
        """The value of ``q`` as a matrix (a vector is a column); None beyond the last step."""
        tr = self.base if trajectory is None else trajectory
        if q.kind == "param":
            return [list(row) for row in self.params[q.name]]
        if q.kind == "loss":
            if self.head is None:
                raise ValueError("the derivation names the loss, but the file gives no loss")
            steps = range(1, self.T + 1) if q.step is None else [q.step]
            if q.step is not None and not 1 <= q.step <= self.T:
                return None
            return [[mpmath.fsum(v for t in steps for v in tr.head[t]["ell"])]]
        if q.step is None or q.step > self.T or q.step < 0:
            return None
        units = tr.cell if q.unit == "cell" else tr.head
        values = units[q.step]
        if q.name not in values:
            if q.step == 0:
                raise ValueError(f"{q.name} has no value at step 0: only the states start there")
            raise ValueError(f"{q.name} is not a node of {self.cell.name}")
        return [[v] for v in values[q.name]]

    # ---- derivatives ---------------------------------------------------------------------
    def jacobian(self, a: Quantity, b: Quantity, mode: str) -> Matrix | None:
        """∂a/∂b as a |a| × |b| matrix (both flattened row by row), ``mode`` ``"total"`` or
        ``"partial"``; None when b is not a direct input of a's step (no partial reading) or
        a quantity lies beyond the steps."""
        key = ("jacobian", a, b, mode)
        if key not in self._cache:
            with mpmath.workdps(DPS):
                self._cache[key] = self._jacobian(a, b, mode)
        return self._cache[key]

    def _jacobian(self, a: Quantity, b: Quantity, mode: str) -> Matrix | None:
        b0 = self.value(b)
        a0 = self.value(a)
        if b0 is None or a0 is None:
            return None
        flat = [v for row in b0 for v in row]
        h = mpmath.mpf(_H)
        evaluate = self._total if mode == "total" else self._partial(a, b)
        if evaluate is None:
            return None
        columns = []
        for j in range(len(flat)):
            sides = []
            for sign in (1, -1):
                moved = list(flat)
                moved[j] += sign * h
                shaped = [moved[r * len(b0[0]) : (r + 1) * len(b0[0])] for r in range(len(b0))]
                sides.append([v for row in evaluate(a, b, shaped) for v in row])
            columns.append([(p - q) / (2 * h) for p, q in zip(*sides, strict=True)])
        return [list(row) for row in zip(*columns, strict=True)]

    def _total(self, a: Quantity, b: Quantity, value: Matrix) -> Matrix:
        if b.kind == "param":
            return self.value(a, self.run(params={**self.params, b.name: value}))
        vector = [row[0] for row in value]
        if b.unit == "cell" and b.step == 0:
            prev = dict(self.states)[b.name]
            return self.value(a, self.run(init={**self.init, prev: vector}))
        return self.value(a, self.run(overrides={(b.unit, b.step, b.name): vector}))

    def _partial(self, a: Quantity, b: Quantity):
        """The recomputation of a's own step with b moved, or None when b is not direct."""
        base = self.base
        state_of = dict(self.states)  # new state -> the input holding its previous value

        def cell_step(t: int, params, overrides) -> dict[str, Vector]:
            inputs = {prev: base.cell[t - 1][new] for new, prev in self.states} | self.xs[t - 1]
            return evaluate_unit(self.cell, inputs, params, overrides)

        def cell_direct(t: int) -> bool:
            if b.kind == "param":
                return b.name in self.cell.parameters
            if b.unit != "cell":
                return False
            return (b.step == t - 1 and b.name in state_of) or b.step == t

        def moved_cell(t: int, value: Matrix) -> dict[str, Vector]:
            if b.kind == "param":
                return cell_step(t, {**self.params, b.name: value}, {})
            vector = [row[0] for row in value]
            name = state_of[b.name] if b.step == t - 1 else b.name
            return cell_step(t, self.params, {name: vector})

        def head_direct(t: int) -> bool:
            if b.kind == "param":
                return b.name in self.head_params()
            if b.unit == "head":
                return b.step == t
            return b.step == t and b.name == self.reads

        def moved_head(t: int, value: Matrix) -> dict[str, Vector]:
            params, local = self.params, {}
            if b.kind == "param":
                params = {**self.params, b.name: value}
            elif b.unit == "head":
                local = {b.name: [row[0] for row in value]}
            s = [row[0] for row in value] if b.unit == "cell" else base.cell[t][self.reads]
            inputs = {"s": s, "y": self.ys[t - 1]}
            return evaluate_unit(self.head, inputs, params, local)

        if a.kind == "node" and a.unit == "cell":
            if a.step < 1 or not cell_direct(a.step):
                return None
            return lambda a_, b_, value: [[v] for v in moved_cell(a.step, value)[a.name]]
        if a.kind == "node" and a.unit == "head":
            if not head_direct(a.step):
                return None
            return lambda a_, b_, value: [[v] for v in moved_head(a.step, value)[a.name]]
        if a.kind == "loss":
            steps = range(1, self.T + 1) if a.step is None else [a.step]
            direct = [t for t in steps if head_direct(t)]
            if not direct:
                return None

            def loss(a_, b_, value):
                total = mpmath.mpf(0)
                for t in steps:
                    head = moved_head(t, value) if t in direct else base.head[t]
                    total += mpmath.fsum(head["ell"])
                return [[total]]

            return loss
        return None


def _draw(rng: random.Random, rows: int, columns: int, scale: float) -> Matrix:
    """Entries k/10 · scale with k uniform in -10..10: simple numbers, the same for a seed."""
    return [
        [mpmath.mpf(rng.randint(-10, 10)) / 10 * mpmath.mpf(scale) for _ in range(columns)]
        for _ in range(rows)
    ]


def make_world(cell: Graph, head: Graph | None, n: int, m: int, k: int, T: int, seed: int) -> World:
    """A world with parameters, inputs, targets and initial states drawn from ``seed``."""
    rng = random.Random(seed)
    dims = {"n": n, "m": m, "k": k}
    subs = {symbols.n: n, symbols.m: m, symbols.k: k}
    with mpmath.workdps(DPS):
        params: dict[str, Matrix] = {}
        for graph in (cell, head) if head is not None else (cell,):
            for name, (rows, columns) in graph.parameter_shapes.items():
                r, c = int(sp.sympify(rows).subs(subs)), int(sp.sympify(columns).subs(subs))
                params[name] = _draw(rng, r, c, 1.5)
        sizes = {name: int(sp.sympify(size).subs(subs)) for name, size in cell.inputs}
        state_inputs = {prev for _, prev in cell.state}
        sequence = [name for name in cell.input_names if name not in state_inputs]
        xs = [{name: [row[0] for row in _draw(rng, sizes[name], 1, 1.0)] for name in sequence}
              for _ in range(T)]  # fmt: skip
        init = {prev: [row[0] for row in _draw(rng, sizes[prev], 1, 0.5)] for prev in state_inputs}
        ys = []
        if head is not None:
            length = int(sp.sympify(head.sizes["y"]).subs(subs))
            ys = [[mpmath.mpf(rng.randint(1, 9)) / 10 for _ in range(length)] for _ in range(T)]
            if head.name.endswith("loss[ce]"):  # a softmax's target is a distribution
                ys = [[v / mpmath.fsum(y) for v in y] for y in ys]
    reads = cell.outputs[-1]
    return World(cell, head, reads, dims, T, params, xs, ys, init, seed)
