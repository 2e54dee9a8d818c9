"""One step of a cell, and its state Jacobian applied to a frame, for a grid of parameter sets.

The Lyapunov exponents (:mod:`numeric.lyapunov`) need, at every step t, the new state
s_t = F(s_{t-1}, x_t; θ) of eq. (1), (8)-(13) and the product J_t Q of the state Jacobian
∂s_t/∂s_{t-1} of eq. (7), (14) with a frame Q of tangent vectors — for G parameter sets θ_g and
B inputs at once.  Both are generated from :mod:`derivations`, never written here:

* the step evaluates the graph's affine steps (one batched matmul per operand of each run of
  affine steps, the weights of a run stacked) and its elementwise steps (compiled
  :class:`~numeric._kernels.Kernel` groups, which broadcast over the leading axes);
* the Jacobian is the derived Σ diag(c) · tail of :func:`derivations.adjoint.jacobian_terms`:
  one compiled kernel gives every coefficient c and every diagonal of the tails, and the tails
  are applied to the frame's vectors right to left (weight blocks as batched matmuls of the
  rows with the transposed blocks), so J_t itself is never formed.  The weight blocks applied
  first to one previous state are stacked into one matmul, and the terms diag(c_j) M_j of one
  Jacobian block are summed by one more (the c_j stacked like the M_j).

Arrays carry a leading grid axis G (each parameter set its own weights): parameters are
(G, *shape), node values (G, B, size) — a sequence input x_t (B, m) is shared by the grid —
and frames of c tangent vectors, one a row, (G, B, c, size).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from derivations.adjoint import jacobian_terms
from derivations.graph import Affine, Graph
from derivations.matrices import Diag, WeightBlock

from ._engine import Plan, _names
from ._inplace import INPLACE_FROM
from ._kernels import Kernel

__all__ = ["Runner", "Stepper", "stepper"]

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class _Run:
    """Consecutive affine steps, evaluated as one matmul per operand with stacked weights."""

    steps: tuple[Affine, ...]

    @property
    def operands(self) -> tuple[str, ...]:
        return tuple(sorted({o for step in self.steps for _, ops in step.terms for o in ops}))


@dataclass(frozen=True)
class Weights:
    """Parameters of a grid laid out for :class:`Stepper`: per run, each operand's stacked
    weight blocks (G, cols, total) and the stacked bias (G, 1, total); each Jacobian matrix
    factor transposed, (G, cols, rows); per previous state, the first-applied factors stacked
    the same way, with the columns of each; per Jacobian block, the terms diag(c) M with M
    one of those factors, as (coefficient name, columns) and the 0/1 matrix that sums their
    columns."""

    sizes: dict[str, int]
    layouts: tuple[dict[str, slice], ...]
    stacked: tuple[dict[str, np.ndarray], ...]
    biases: tuple[np.ndarray | None, ...]
    factors: dict[sp.MatrixExpr, np.ndarray]
    first: dict[str, tuple[np.ndarray, dict[sp.MatrixExpr, slice]]]
    sums: dict[tuple[str, str], tuple[tuple[tuple[str, slice], ...], np.ndarray]]


class Runner:
    """A kernel run into buffers reused over the steps of one run: the in-place float64 kernel
    of :mod:`numeric._inplace` when every node it touches has one shape, ``copies`` sets of
    outputs taken in turn (two for a step's outputs, which the next step reads as its previous
    state); the lambdified kernel otherwise."""

    def __init__(self, kernel: Kernel, shape: tuple[int, ...] | None, copies: int = 1) -> None:
        self.kernel = kernel
        compiled = kernel.inplace if shape is not None else None
        self.function = None if compiled is None else compiled[0]
        if compiled is not None:
            self.work = [np.empty(shape) for _ in range(compiled[1])]
            self.outs = [[np.empty(shape) for _ in kernel.outputs] for _ in range(copies)]
        self.turn = 0

    def __call__(self, values: Arrays) -> Arrays:
        if self.function is None:
            return self.kernel(values)
        outs = self.outs[self.turn]
        self.turn = (self.turn + 1) % len(self.outs)
        with np.errstate(over="ignore"):  # e^{-x} = inf inside σ(x) for x < -709
            self.function([values[name] for name in self.kernel.inputs], outs, self.work)
        return dict(zip(self.kernel.outputs, outs, strict=True))


class Stepper:
    """A graph compiled for a grid of parameter sets: :meth:`step` and :meth:`tangent`."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.stages: list[_Run | Kernel] = []
        available: set[str] = set(graph.input_names)
        run: list = []
        for step in (*graph.steps, None):
            if run and (step is None or type(step) is not type(run[0])):
                if isinstance(run[0], Affine):
                    self.stages.append(_Run(tuple(run)))
                else:  # consecutive elementwise steps fused: later ones see earlier ones
                    exprs: dict[str, sp.Expr] = {}
                    for s in run:
                        exprs[s.out] = sp.sympify(s.expr).xreplace(
                            {sp.Symbol(k): v for k, v in exprs.items()}
                        )
                    self.stages.append(Kernel.build(exprs))
                available |= {s.out for s in run}
                run = []
            if step is not None:
                run.append(step)
        self.runs = tuple(s for s in self.stages if isinstance(s, _Run))
        # the derived Jacobian: every coefficient and every diagonal in one kernel
        self.terms: dict[tuple[str, str], tuple[tuple[str, tuple], ...]] = {}
        exprs = {}
        diagonals: dict[sp.Expr, str] = {}
        for new, _ in graph.state:
            for _, prev in graph.state:
                named = []
                for i, (coefficient, tail) in enumerate(jacobian_terms(graph, new, prev)):
                    name = f"c_{new}_{prev}_{i}"
                    exprs[name] = coefficient
                    named.append((name, tail))
                    for factor in tail:
                        if isinstance(factor, Diag) and factor.expr not in diagonals:
                            diagonals[factor.expr] = f"d{len(diagonals)}"
                            exprs[diagonals[factor.expr]] = factor.expr
                self.terms[(new, prev)] = tuple(named)
        self.diagonals = diagonals
        self.jacobian = Kernel.build(exprs) if exprs else None
        # per previous state, the matrix factors applied first (the last of a tail)
        self.first: dict[str, tuple[sp.MatrixExpr, ...]] = {}
        for (_, prev), named in self.terms.items():
            for _, tail in named:
                if tail and not isinstance(tail[-1], Diag):
                    known = self.first.setdefault(prev, ())
                    if tail[-1] not in known:
                        self.first[prev] = (*known, tail[-1])

    # ---- parameters -------------------------------------------------------------------------
    def prepare(self, params: Mapping[str, np.ndarray], inputs: Mapping[str, int]) -> Weights:
        """Lay out ``params`` (each (G, *shape)) for the steps; ``inputs`` gives input sizes."""
        graph = self.graph
        G = next(iter(params.values())).shape[0]
        sizes = dict(inputs)
        for step in graph.steps:
            if isinstance(step, Affine):
                sizes[step.out] = params[step.terms[0][0]].shape[1]
            else:  # the engine's rule: the largest of the names read (length 1 broadcasts)
                sizes[step.out] = max(sizes[name] for name in _names(step.expr))
        matrices = {name: p[:, :, None] if p.ndim == 2 else p for name, p in params.items()}
        layouts, stacked, biases = [], [], []
        for run in self.runs:
            layout, start = {}, 0
            for step in run.steps:
                layout[step.out] = slice(start, start + sizes[step.out])
                start += sizes[step.out]
            by_operand = {o: np.zeros((G, sizes[o], start)) for o in run.operands}
            bias = None
            for step in run.steps:
                for weight, operands in step.terms:
                    for index, operand in enumerate(operands):
                        block = Plan.block(matrices, sizes, weight, operands, index)
                        by_operand[operand][:, :, layout[step.out]] += block.transpose(0, 2, 1)
                if step.bias is not None:
                    bias = np.zeros((G, 1, start)) if bias is None else bias
                    bias[:, 0, layout[step.out]] = params[step.bias]
            layouts.append(layout)
            stacked.append(by_operand)
            biases.append(bias)
        factors: dict[sp.MatrixExpr, np.ndarray] = {}
        for named in self.terms.values():
            for _, tail in named:
                for factor in tail:
                    if isinstance(factor, WeightBlock):
                        block = Plan.block(
                            matrices, sizes, factor.name, factor.operands, factor.index
                        )
                        factors[factor] = np.ascontiguousarray(block.transpose(0, 2, 1))
                    elif isinstance(factor, sp.MatrixSymbol):
                        transposed = matrices[factor.name].transpose(0, 2, 1)
                        factors[factor] = np.ascontiguousarray(transposed)
        first = {}
        for prev, group in self.first.items():
            where, start = {}, 0
            for factor in group:
                rows = factors[factor].shape[-1]
                where[factor] = slice(start, start + rows)
                start += rows
            stacked_first = np.concatenate([factors[f] for f in group], axis=-1)
            first[prev] = (np.ascontiguousarray(stacked_first), where)
        sums = {}
        for (new, prev), named in self.terms.items():
            if prev not in first:
                continue
            _, where = first[prev]
            fused = tuple(
                (name, where[tail[0]])
                for name, tail in named
                if len(tail) == 1 and tail[0] in where
            )
            if fused:
                total = max(columns.stop for columns in where.values())
                summing = np.zeros((total, sizes[new]))
                for _, columns in fused:
                    summing[columns] = np.eye(sizes[new])
                sums[(new, prev)] = (fused, summing)
        return Weights(sizes, tuple(layouts), tuple(stacked), tuple(biases), factors, first, sums)

    # ---- one step ---------------------------------------------------------------------------
    def runners(self, weights: Weights, lead: tuple[int, ...]) -> tuple[list, Runner | None]:
        """Buffered :class:`Runner` s for the kernels of a run whose node values are
        (*lead, size): one per elementwise stage of :meth:`step`, and the Jacobian's."""

        def shape(kernel: Kernel) -> tuple[int, ...] | None:
            names = (*kernel.inputs, *kernel.outputs)
            lengths = {weights.sizes[name] for name in names if name in weights.sizes}
            if len(lengths) != 1:
                return None
            full = (*lead, lengths.pop())
            return full if np.prod(full) >= INPLACE_FROM else None

        stages = [Runner(k, shape(k), 2) if isinstance(k, Kernel) else None for k in self.stages]
        jacobian = None if self.jacobian is None else Runner(self.jacobian, shape(self.jacobian))
        return stages, jacobian

    def step(self, weights: Weights, values: Arrays, runners: list | None = None) -> Arrays:
        """Every node of one step (eq. (1), (8)-(13)) from the previous states (G, B, size) and
        the sequence inputs (B, size) in ``values`` (updated in place and returned)."""
        runs = iter(zip(weights.layouts, weights.stacked, weights.biases, strict=True))
        for i, stage in enumerate(self.stages):
            if isinstance(stage, Kernel):
                values.update((runners[i] if runners else stage)(values))
                continue
            layout, stacked, bias = next(runs)
            z = None
            for operand, matrix in stacked.items():
                product = values[operand] @ matrix
                z = product if z is None else z.__iadd__(product)
            if bias is not None:
                z += bias
            for out, where in layout.items():
                values[out] = np.ascontiguousarray(z[..., where])
        return values

    def _apply(
        self, weights: Weights, c: Arrays, frames: Arrays, applied: dict, prev: str, tail: tuple
    ) -> np.ndarray:
        """A tail of Jacobian factors applied to the rows of ``frames[prev]``, right to left,
        each partial product kept in ``applied`` for the terms that share it."""
        if not tail:
            return frames[prev]
        key = (prev, tail)
        if key not in applied:
            inner = self._apply(weights, c, frames, applied, prev, tail[1:])
            factor = tail[0]
            if isinstance(factor, Diag):
                applied[key] = _scaled(c[self.diagonals[factor.expr]], inner)
            else:
                applied[key] = _times(inner, weights.factors[factor])
        return applied[key]

    def tangent(
        self, weights: Weights, values: Arrays, frames: Arrays, jacobian: Runner | None = None
    ) -> Arrays:
        """J_t applied to the tangent vectors in ``frames`` {previous state: (G, B, c, size)},
        one vector a row: {new state: (G, B, c, size)}, each row v becoming (J_t vᵀ)ᵀ with
        J_t = ∂s_t/∂s_{t-1} the derived Σ diag(coefficient) · tail (eq. (7), (14))."""
        kernel = jacobian or self.jacobian
        c = kernel(values) if kernel is not None else {}
        applied: dict[tuple[str, tuple], np.ndarray] = {}
        products = {}
        for prev, (stacked, where) in weights.first.items():
            products[prev] = _times(frames[prev], stacked)
            for factor, columns in where.items():
                applied[(prev, (factor,))] = products[prev][..., columns]

        out: Arrays = {}
        for (new, prev), named in self.terms.items():
            fused, summing = weights.sums.get((new, prev), ((), None))
            terms = []
            if fused:  # Σ diag(c_j) (v M_jᵀ) as one product with the stacked coefficients
                product = products[prev]
                coefficients = np.zeros((*product.shape[:2], product.shape[-1]))
                for name, columns in fused:
                    coefficients[..., columns] = c[name]
                terms.append(_summed(product * coefficients[..., None, :], summing))
            done = {name for name, _ in fused}
            for name, tail in named:
                if name not in done:
                    applied_tail = self._apply(weights, c, frames, applied, prev, tail)
                    terms.append(_scaled(c[name], applied_tail))
            for term in terms:
                out[new] = term if new not in out else out[new] + term
        for new, prev in self.graph.state:
            if new not in out:  # a state that depends on no previous state
                out[new] = np.zeros_like(frames[prev])
        return out


def _times(rows: np.ndarray, transposed: np.ndarray) -> np.ndarray:
    """Rows (G, B, c, cols) times a matrix given transposed, (G, cols, r): (G, B, c, r) — one
    matmul of B·c rows per grid point."""
    G, B, count, width = rows.shape
    return (rows.reshape(G, B * count, width) @ transposed).reshape(G, B, count, -1)


def _summed(rows: np.ndarray, summing: np.ndarray) -> np.ndarray:
    """Rows (G, B, c, K) times a matrix (K, size) shared by the grid: one matmul."""
    return (rows.reshape(-1, rows.shape[-1]) @ summing).reshape(*rows.shape[:-1], -1)


def _scaled(diagonal: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """diag(d) applied to every row: d (G, B, size) or a constant (0-d)."""
    return (diagonal[..., None, :] if np.ndim(diagonal) else diagonal) * rows


@cache
def stepper(graph: Graph) -> Stepper:
    """The compiled :class:`Stepper` of ``graph`` (built once per process)."""
    return Stepper(graph)
