"""The BPTT engine: a :class:`derivations.graph.Graph` run forward and backward over time.

Everything here is generated from :mod:`derivations`: the forward pass evaluates the graph's
affine and elementwise steps, and the backward pass interprets the graph's derived backward
program (:func:`derivations.adjoint.backward`) at every step, in reverse — the adjoint
recursion δ_t = ∂L_t/∂s_t + (∂s_{t+1}/∂s_t)ᵀ δ_{t+1} of eq. (5)-(6) as derived.

Arrays are row-major batches: a vector node at one step is (B, size), over time (T, B, size).
The layout is chosen for speed, never the mathematics:

* the outputs of a run of affine steps are stacked in one (B, total) layout, so a step is one
  matmul per recurrent operand with stacked weight blocks (the four LSTM gates at once), and
  the backward pull-back through them is one matmul too; the steps of a run are ordered so
  that those reading an operand are adjacent, and each matmul covers only their columns (the
  GRU's h_{t-1} skips W_in's block, x_t skips W_hn's);
* work that does not depend on the recurrence is done for all steps at once: the projections
  of the inputs x_t (one matmul over T·B rows) and the parameter gradients (one matmul per
  operand of each run of affine steps);
* consecutive elementwise steps are one compiled kernel; function values the backward program
  needs again (tanh C_t) are computed by the forward kernel and kept, not recomputed;
* only the nodes the backward program reads are kept over time.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from itertools import permutations

import numpy as np
import sympy as sp

from derivations.adjoint import (
    Assign,
    BiasGrad,
    Outer,
    PullBack,
    SumOver,
    adjoint_name,
    backward,
    jacobian_terms,
)
from derivations.graph import Affine, Graph, MaxShift, Sum
from derivations.matrices import Diag

from ._inplace import INPLACE_FROM
from ._kernels import Kernel
from ._pool import Pool

__all__ = ["Backprop", "Plan", "Trace", "plan"]

Arrays = dict[str, np.ndarray]


@cache
def _operands(step: Affine) -> tuple[str, ...]:
    """The nodes an affine step multiplies by a weight, each once, in order."""
    return tuple(dict.fromkeys(o for _, operands in step.terms for o in operands))


@cache
def _names(expr: sp.Expr) -> tuple[str, ...]:
    """The names an elementwise expression reads: its size is the largest of theirs (a
    length-1 node is broadcast)."""
    return tuple(sorted(s.name for s in sp.sympify(expr).free_symbols))


_CACHED_UP_TO = 1 << 16  # entries per (B, size) up to which a thread keeps a kernel's scratch
_runners = threading.local()  # in-place runners with their scratch, per thread


@dataclass(frozen=True)
class _AffineRun:
    """Consecutive affine steps whose outputs share one stacked buffer."""

    index: int
    steps: tuple[Affine, ...]


@dataclass(frozen=True)
class _PullStage:
    op: PullBack
    run: int  # the affine run whose stacked adjoints it pulls back


@dataclass(frozen=True)
class _Reduce:
    """``buffer[name] = Σ_i buffer[source]_i`` (``kind == "sum"``) or ``max_i`` (``"max"``, of
    the real part: the shift of a stable log-sum-exp, which the loss does not depend on), each
    row to one entry: a :class:`~derivations.graph.Sum` or :class:`~derivations.graph.MaxShift`
    step forward, a :class:`~derivations.adjoint.SumOver` backward."""

    name: str
    source: str
    kind: str

    def __call__(self, source: np.ndarray, out: np.ndarray) -> None:
        if self.kind == "sum":
            out[...] = source.sum(axis=-1, keepdims=True)
        else:
            out[...] = (source.real if source.dtype.kind == "c" else source).max(
                axis=-1, keepdims=True
            )


@dataclass(frozen=True)
class _Alias:
    """``buffer[name] = buffer[source]``: an adjoint that is a single earlier buffer."""

    name: str
    source: str


@dataclass(frozen=True)
class _ForwardWork:
    """The buffers of one forward pass, allocated once (:meth:`Plan._forward_buffers`)."""

    T: int
    sizes: dict[str, int]
    layouts: tuple[dict[str, slice], ...]
    states: Arrays
    store: Arrays
    scratch: Arrays
    assembly: list
    runners: list
    targets: list


@dataclass(frozen=True)
class _BackwardWork:
    """The buffers of one backward pass, allocated once (:meth:`Plan._backward_buffers`)."""

    T: int
    stages: list
    runners: list
    targets: list
    pulls: dict
    buffers2: list
    adjoint_runs: list
    recorded: Arrays
    read_values: list
    seeds: list
    direct: list
    adjoints_in: list
    zeros: Arrays


@dataclass(frozen=True)
class Trace:
    """What the forward pass keeps: the kept nodes at every step (``values[name]`` is
    (T, B, size)), node sizes, the stacked layouts of the affine runs, and the final state."""

    values: Arrays
    sizes: dict[str, int] | None  # None until :meth:`Plan.laid_out` (a compiled trace)
    layouts: tuple[dict[str, slice], ...] | None
    final: Arrays
    #: set by the compiled backend (numeric._compiled): its own arrays, for its backward pass
    compiled: object = None


@dataclass(frozen=True)
class Backprop:
    """What the backward pass returns.

    ``grads``: parameter gradients summed over time; ``adjoints``: adjoints of the initial
    state (and of wanted sequence inputs, (T, B, size)); ``nodes``: when ``per_step``, the
    adjoint of every affine node and of every output as it leaves each step, (T, B, size) —
    ā_t and δ_t of eq. (5); ``contributions``: each step's share of each parameter gradient,
    (T, ...), when ``per_step``."""

    grads: dict[str, np.ndarray]
    adjoints: dict[str, np.ndarray]
    nodes: dict[str, np.ndarray]
    contributions: dict[str, np.ndarray]


class Plan:
    """A graph compiled for arrays: the forward stages, the kept nodes and the backward stages."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.state_in = tuple(prev for _, prev in graph.state)
        self.state_out = tuple(new for new, _ in graph.state)
        self.sequence = tuple(n for n in graph.input_names if n not in self.state_in)
        self.program = backward(graph)
        self.summed_over = {  # each SumOver: the node whose entries it sums over
            op.name: op.over for op in self.program.ops if isinstance(op, SumOver)
        }
        self.runs: list[_AffineRun] = []
        self.hoisted: dict[sp.Expr, sp.Symbol] = self._hoistable()
        self.forward_stages = self._forward_stages()
        self.run_of = {s.out: run.index for run in self.runs for s in run.steps}
        # every operand of each run, sorted
        self.run_operands = tuple(
            tuple(sorted({o for step in run.steps for o in _operands(step)})) for run in self.runs
        )
        self.kept = self._kept()
        self._ends: dict[tuple[int, frozenset[str]], tuple[str, str]] = {}

    # ---- compilation --------------------------------------------------------------------
    def _hoistable(self) -> dict[sp.Expr, sp.Symbol]:
        """Function values in the backward program computable from forward nodes alone."""
        forward = set(self.graph.sizes)
        atoms: set[sp.Expr] = set()
        for op in self.program.ops:
            if isinstance(op, Assign | SumOver):
                atoms |= {
                    a
                    for a in op.expr.atoms(sp.Function)
                    if a.free_symbols and {s.name for s in a.free_symbols} <= forward
                }
        return {a: sp.Symbol(f"_kept{i}") for i, a in enumerate(sorted(atoms, key=str))}

    def _forward_stages(self) -> list[_AffineRun | Kernel]:
        stages: list[_AffineRun | Kernel] = []
        run: list = []
        available = set(self.graph.input_names)
        pending = dict(self.hoisted)
        for step in (*self.graph.steps, None):
            reduction = bool(run) and isinstance(run[0], Sum | MaxShift)  # one per stage
            if run and (step is None or type(step) is not type(run[0]) or reduction):
                if isinstance(run[0], Sum | MaxShift):
                    kind = "sum" if isinstance(run[0], Sum) else "max"
                    stages.append(_Reduce(run[0].out, run[0].operand, kind))
                elif isinstance(run[0], Affine):
                    stages.append(_AffineRun(len(self.runs), self._ordered(run)))
                    self.runs.append(stages[-1])
                else:
                    stages.append(self._kernel(run, available, pending))
                available |= {s.out for s in run}
                run = []
            if step is not None:
                run.append(step)
        if pending:  # function values of the last nodes the backward program reads
            stages.append(self._kernel([], available, pending))
        return stages

    @staticmethod
    def _ordered(steps: list[Affine]) -> tuple[Affine, ...]:
        """The run's affine steps in an order where the steps reading each operand are
        adjacent, as far as one exists (GRU: a_in, a_r, a_z, a_hn): the matmul of an operand
        then covers only its own columns.  The first order found wins, the graph's on ties."""
        outs = {step.out for step in steps}
        if len(steps) > 6 or any(o in outs for step in steps for o in _operands(step)):
            return tuple(steps)

        def gaps(order: tuple[Affine, ...]) -> int:
            total = 0
            for operand in {o for step in order for o in _operands(step)}:
                uses = [i for i, step in enumerate(order) if operand in _operands(step)]
                total += uses[-1] - uses[0] + 1 - len(uses)
            return total

        return min(permutations(steps), key=gaps)

    @staticmethod
    def _kernel(run: list, available: set[str], pending: dict) -> Kernel:
        # consecutive elementwise steps fused into one kernel: later steps see earlier ones
        exprs: dict[str, sp.Expr] = {}
        for step in run:
            exprs[step.out] = sp.sympify(step.expr).xreplace(
                {sp.Symbol(k): v for k, v in exprs.items()}
            )
        inside = available | set(exprs)
        for atom, name in list(pending.items()):
            if {s.name for s in atom.free_symbols} <= inside:
                exprs[name.name] = atom.xreplace({sp.Symbol(k): v for k, v in exprs.items()})
                del pending[atom]
        return Kernel.build(exprs)

    def _kept(self) -> frozenset[str]:
        """Nodes the backward program reads (and the outputs, which callers return)."""
        kept = set(self.state_in) | set(self.graph.outputs)
        kept |= {h.name for h in self.hoisted.values()}
        for op in self.program.ops:
            if isinstance(op, Assign | SumOver):
                kept |= {s.name for s in op.expr.free_symbols}
            elif isinstance(op, Outer):
                kept |= set(op.operands)
        reduces = any(isinstance(step, Sum | MaxShift) for step in self.graph.steps)
        for new, _ in () if reduces else self.graph.state:  # what the state Jacobians read
            for _, prev in self.graph.state:  # (not derived through a reduction)
                for coefficient, tail in jacobian_terms(self.graph, new, prev):
                    exprs = [coefficient, *(f.expr for f in tail if isinstance(f, Diag))]
                    kept |= {s.name for e in exprs for s in e.free_symbols}
        return frozenset(k for k in kept if k in self.graph.sizes or k.startswith("_kept"))

    @cache  # noqa: B019 - one plan per graph, kept for the process like the kernels it holds
    def backward_stages(self, wanted: frozenset[str]) -> tuple:
        """The backward program pruned to what computes the adjoints in ``wanted`` (plus every
        affine adjoint, which the parameter gradients need).  Each assignment goes into the
        first kernel after the stages it depends on, so independent ones share a kernel."""
        needed = set(wanted) | {op.source for op in self.program.ops if isinstance(op, Outer)}
        kept: list = []
        for op in reversed(self.program.ops):
            if isinstance(op, Assign | SumOver) and op.name in needed:
                needed |= {s.name for s in op.expr.free_symbols}
                kept.append(op)
            elif isinstance(op, PullBack) and op.name in needed:
                needed |= {term.source for term in op.terms}
                kept.append(op)
        stages: list[list | _PullStage] = []
        made_in: dict[str, int] = {}
        for op in reversed(kept):
            if isinstance(op, PullBack):
                run = {self.run_of[t.source.removeprefix("bar_")] for t in op.terms}
                stages.append(_PullStage(op, run.pop()))
                made_in[op.name] = len(stages) - 1
                continue
            summed = isinstance(op, SumOver)
            if summed:  # the summand entry by entry, then its sum over the entries
                op = Assign(f"{op.name}__terms", op.over, op.expr)
            after = max((made_in.get(s.name, -1) for s in op.expr.free_symbols), default=-1)
            slot = next(
                (i for i in range(after + 1, len(stages)) if isinstance(stages[i], list)), None
            )
            if slot is None:
                stages.append([])
                slot = len(stages) - 1
            stages[slot].append(op)
            made_in[op.name] = slot
            if summed:
                name = op.name.removesuffix("__terms")
                stages.append(_Reduce(name, op.name, "sum"))
                made_in[name] = len(stages) - 1
        return tuple(self._compile(stage) for stage in stages)

    def _compile(self, stage: list | _PullStage | _Reduce) -> tuple:
        if isinstance(stage, _PullStage | _Reduce):
            return (stage,)
        aliases = [_Alias(op.name, op.expr.name) for op in stage if isinstance(op.expr, sp.Symbol)]
        exprs = {
            op.name: op.expr.xreplace(self.hoisted)
            for op in stage
            if not isinstance(op.expr, sp.Symbol)
        }
        return ((Kernel.build(exprs),) if exprs else ()) + tuple(aliases)

    # ---- sizes and layouts ------------------------------------------------------------------
    def sizes(self, params: Mapping[str, np.ndarray], inputs: Mapping[str, int]) -> dict[str, int]:
        sizes = dict(inputs)
        for step in self.graph.steps:
            if isinstance(step, Affine):
                sizes[step.out] = params[step.terms[0][0]].shape[0]
            elif isinstance(step, Sum | MaxShift):
                sizes[step.out] = 1
            else:  # length-1 nodes are broadcast
                sizes[step.out] = max(sizes[name] for name in _names(step.expr))
        for atom, name in self.hoisted.items():
            sizes[name.name] = max(sizes[n] for n in _names(atom))
        return sizes

    def layouts(self, sizes: Mapping[str, int]) -> tuple[dict[str, slice], ...]:
        out = []
        for run in self.runs:
            layout, start = {}, 0
            for step in run.steps:
                layout[step.out] = slice(start, start + sizes[step.out])
                start += sizes[step.out]
            out.append(layout)
        return tuple(out)

    def laid_out(self, trace: Trace, params: Mapping[str, np.ndarray]) -> Trace:
        """``trace`` with its node sizes and layouts (a compiled forward pass leaves them out)."""
        if trace.sizes is not None:
            return trace
        inputs = {n: trace.values[n].shape[-1] for n in self.graph.input_names}
        sizes = self.sizes(params, inputs)
        return Trace(trace.values, sizes, self.layouts(sizes), trace.final, trace.compiled)

    def span(self, run: _AffineRun, layout: Mapping[str, slice], operands) -> slice:
        """The columns of the run's stacked layout from the first to the last step reading
        any of ``operands``."""
        key = (run.index, frozenset(operands))
        ends = self._ends.get(key)
        if ends is None:
            outs = [s.out for s in run.steps if set(_operands(s)) & key[1]]
            ends = self._ends[key] = (outs[0], outs[-1])
        return slice(layout[ends[0]].start, layout[ends[1]].stop)

    @staticmethod
    def block(
        params: Mapping[str, np.ndarray],
        sizes: Mapping[str, int],
        weight: str,
        operands: tuple[str, ...],
        index: int,
    ) -> np.ndarray:
        """The column block of ``params[weight]`` that multiplies ``operands[index]`` (the
        W_g^{(h)} of W_g [h_{t-1}; x_t]); a leading grid axis, if any, is kept."""
        start = sum(sizes[o] for o in operands[:index])
        return params[weight][..., start : start + sizes[operands[index]]]

    def _stacked(
        self, run: _AffineRun, operand: str, params, sizes, layout, dtype, columns=None
    ) -> np.ndarray:
        """(size of operand, total of the run): the blocks of every weight of the run that
        multiplies ``operand``, transposed into the run's stacked layout; only the layout's
        ``columns`` (a slice) when given."""
        if columns is None:
            columns = slice(0, max(s.stop for s in layout.values()))
        blocks = [
            (slice(where.start - columns.start, where.stop - columns.start), weight, ops, index)
            for step in run.steps
            if columns.start <= (where := layout[step.out]).start and where.stop <= columns.stop
            for weight, ops in step.terms
            for index, name in enumerate(ops)
            if name == operand
        ]
        width = columns.stop - columns.start
        if len(blocks) == 1 and blocks[0][0] == slice(0, width):  # one block: its transpose
            block = self.block(params, sizes, *blocks[0][1:]).T
            if block.dtype == dtype:
                return block
        stacked = np.zeros((sizes[operand], width), dtype)
        for local, weight, ops, index in blocks:
            stacked[:, local] += self.block(params, sizes, weight, ops, index).T
        return stacked

    # ---- forward ----------------------------------------------------------------------------
    def forward(
        self,
        params: Mapping[str, np.ndarray],
        sequence: Mapping[str, np.ndarray],
        initial: Mapping[str, np.ndarray],
        offsets: Mapping[tuple[str, int], np.ndarray] | None = None,
        pool: Pool | None = None,
    ) -> Trace:
        """Run the cell over t = 1..T; ``sequence`` holds (T, B, size) inputs, ``initial`` the
        (B, size) previous state of step 1.  ``offsets[(node, t)]`` is added to an affine node as
        soon as step t (0-based) computes it, and to an output (the new state) as it leaves
        step t: the derivative of the loss in that offset is the node's adjoint (ā_t, or the
        seed δ_t of the backward program) at that step, which the BPTT-aware checks compare
        step by step.  With a ``pool`` the kept arrays are borrowed from it: the trace is valid
        until the pool's block ends."""
        offsets = offsets or {}
        work = self._forward_buffers(params, sequence, initial, offsets, pool)
        for t in range(work.T):
            self._forward_step(work, t, sequence, offsets)
        return self._forward_finish(work, sequence)

    def _forward_buffers(self, params, sequence, initial, offsets, pool) -> _ForwardWork:
        """Allocate every buffer of a forward pass once: a state and its previous value are
        views of one (T + 1)-long array, kept nodes have (T, B, size) arrays, the rest is
        scratch; the input projections of all steps; each kernel's destinations."""
        empty = np.empty if pool is None else pool.empty
        first = next(iter(sequence.values())) if sequence else next(iter(initial.values()))
        T, B = first.shape[0], first.shape[-2]
        dtype = np.result_type(
            *params.values(), *sequence.values(), *initial.values(), *offsets.values()
        )
        sizes = self.sizes(params, {k: v.shape[-1] for k, v in {**sequence, **initial}.items()})
        layouts = self.layouts(sizes)
        projections = self._projections(params, sequence, sizes, layouts, dtype, T, B, empty)
        states = {new: empty((T + 1, B, sizes[new]), dtype) for new in self.state_out}
        for new, prev in self.graph.state:
            states[new][0] = initial[prev]
        store = {
            n: empty((T, B, sizes[n]), dtype)
            for n in self.kept
            if n in sizes and n not in sequence and n not in states and n not in self.state_in
        }
        scratch = {n: np.empty((B, sizes[n]), dtype) for n in sizes if n not in store}
        assembly = [
            self._assembly(run, layout, projection, dtype, B)
            for run, layout, projection in zip(self.runs, layouts, projections, strict=True)
        ]
        runners = [self._runner(stage, dtype, B, sizes) for stage in self.forward_stages]
        # where each kernel writes: (array, whether indexed by t)
        targets = [
            [
                (states[o][1:], True)
                if o in states
                else (store[o], True)
                if o in store
                else (scratch[o], False)
                for o in stage.outputs
            ]
            if isinstance(stage, Kernel)
            else None
            for stage in self.forward_stages
        ]
        return _ForwardWork(T, sizes, layouts, states, store, scratch, assembly, runners, targets)

    def _forward_step(self, work: _ForwardWork, t: int, sequence, offsets) -> None:
        """Step t (0-based) of eq. (1) or (8)-(13): every stage of the graph, in order."""
        states, store, scratch = work.states, work.store, work.scratch
        values: Arrays = {prev: states[new][t] for new, prev in self.graph.state}
        for name, inputs in sequence.items():
            values[name] = inputs[t]
        for stage, run, target in zip(self.forward_stages, work.runners, work.targets, strict=True):
            if isinstance(stage, Kernel):
                outs = [array[t] if timed else array for array, timed in target]
                run([values[n] for n in stage.inputs], outs)
                values.update(zip(stage.outputs, outs, strict=True))
                continue
            if isinstance(stage, _Reduce):
                out = store[stage.name][t] if stage.name in store else scratch[stage.name]
                stage(values[stage.source], out)
                values[stage.name] = out
                continue
            products, parts = work.assembly[stage.index]
            for operand, weights, product in products:
                np.matmul(values[operand], weights, out=product)
            for out, sources in parts.items():
                # each node summed into its own contiguous array: ufuncs on a strided
                # column block of the stacked products run slower
                if out in self.state_out:  # a new state that is an affine node: kept as one
                    target = states[out][t + 1]
                else:
                    target = store[out][t] if out in store else scratch[out]
                arrays = [array[t] if timed else array for array, timed in sources]
                if len(arrays) > 1:
                    np.add(arrays[0], arrays[1], out=target)
                    for array in arrays[2:]:
                        np.add(target, array, out=target)
                else:
                    np.copyto(target, arrays[0] if arrays else 0)
                if (out, t) in offsets:
                    target += offsets[(out, t)]
                values[out] = target
        for out in self.graph.outputs:
            if (out, t) in offsets:
                values[out] += offsets[(out, t)]  # the stored state carries the offset

    def _forward_finish(self, work: _ForwardWork, sequence) -> Trace:
        """The trace: the kept nodes over time, the states and their previous values."""
        kept: Arrays = dict(work.store)
        kept |= {n: sequence[n] for n in self.kept if n in sequence}
        for new, prev in self.graph.state:
            kept[new], kept[prev] = work.states[new][1:], work.states[new][:-1]
        final = {prev: work.states[new][work.T] for new, prev in self.graph.state}
        return Trace(kept, work.sizes, work.layouts, final)

    def _projections(self, params, sequence, sizes, layouts, dtype, T, B, empty=np.empty):
        """For each run: the input projections of every step at once, (T, B, width), over the
        columns of the steps reading a sequence input (a ones column adds their bias), and
        those columns (None, None without inputs); each recurrent operand with its stacked
        weights over its own columns; the run's bias row."""
        out = []
        for run, layout in zip(self.runs, layouts, strict=True):
            total = max(s.stop for s in layout.values())
            bias = np.zeros((1, total), dtype)
            for step in run.steps:
                if step.bias is not None:
                    bias[0, layout[step.out]] = params[step.bias]
            operands = self.run_operands[run.index]
            inputs = [o for o in operands if o in sequence]
            recurrent = []
            for operand in operands:
                if operand not in sequence:
                    span = self.span(run, layout, (operand,))
                    stacked = self._stacked(run, operand, params, sizes, layout, dtype, span)
                    recurrent.append((operand, stacked, span))
            pre = columns = None
            if inputs:
                columns = self.span(run, layout, inputs)
                flat = np.concatenate(
                    [sequence[o].reshape(T * B, -1) for o in inputs] + [np.ones((T * B, 1))],
                    axis=1,
                )
                weights = np.concatenate(
                    [self._stacked(run, o, params, sizes, layout, dtype, columns) for o in inputs]
                    + [bias[:, columns]],
                    axis=0,
                )
                projected = empty(
                    (T * B, columns.stop - columns.start), np.result_type(flat, weights)
                )
                np.matmul(flat, weights, out=projected)
                pre = projected.reshape(T, B, -1)
            out.append((pre, columns, recurrent, bias[0]))
        return out

    @staticmethod
    def _assembly(run: _AffineRun, layout, projection, dtype, B: int):
        """How a step computes the run's nodes: the recurrent products (operand, stacked
        weights, (B, width) buffer), and for each node the arrays that sum to it, each with
        whether it is indexed by t: its columns of the input projections (bias included) or
        its bias, and its columns of each product whose operand it reads."""
        pre, columns, recurrent, bias = projection
        products = [(o, w, np.empty((B, w.shape[1]), dtype)) for o, w, _ in recurrent]
        parts = {}
        for step in run.steps:
            where = layout[step.out]
            sources: list[tuple[np.ndarray, bool]] = []
            if columns is not None and columns.start <= where.start < columns.stop:
                local = slice(where.start - columns.start, where.stop - columns.start)
                sources.append((pre[:, :, local], True))
            elif step.bias is not None:
                sources.append((bias[where], False))
            for (operand, _, product), (_, _, span) in zip(products, recurrent, strict=True):
                if operand in _operands(step):
                    local = slice(where.start - span.start, where.stop - span.start)
                    sources.append((product[:, local], False))
            parts[step.out] = sources
        return products, parts

    @staticmethod
    def _runner(stage, dtype: np.dtype, B: int, sizes: Mapping[str, int]):
        """``run(inputs, outs)`` filling ``outs`` for one kernel stage: the in-place kernel
        with its scratch buffers for float64, the lambdified one otherwise."""
        if not isinstance(stage, Kernel):
            return None
        high_precision = dtype.kind == "O"

        def lambdified(inputs, outs):
            for out, value in zip(outs, stage.run(inputs, high_precision), strict=True):
                np.copyto(out, value)

        if len({sizes[n] for n in stage.outputs if n in sizes}) > 1:
            # length-1 outputs beside vectors (a loss with a Sum): mpmath's ufunc broadcasts
            # every output over the entries, whose columns are then all equal
            def mixed(inputs, outs):
                for out, value in zip(outs, stage.run(inputs, high_precision), strict=True):
                    np.copyto(out, np.asarray(value)[..., : out.shape[-1]])

            return mixed

        lengths = {sizes[n] for n in (*stage.inputs, *stage.outputs) if n in sizes}
        size = lengths.pop() if len(lengths) == 1 else 0  # its scratch is one (B, size) shape
        inplace = dtype == np.float64 and size and B * size >= INPLACE_FROM
        compiled = stage.inplace if inplace else None
        if compiled is None:
            return lambdified
        key = (id(stage), B, size)  # the entry holds the stage: its id is not reused
        kept = _runners.__dict__.setdefault("kept", {})
        if key in kept:
            return kept[key][1]
        function, count = compiled
        work = [np.empty((B, size)) for _ in range(count)]

        def run(inputs, outs):
            for out in outs:
                for array in inputs:
                    if out is array:  # writing in place would clobber an input
                        return lambdified(inputs, outs)
            function(inputs, outs, work)

        if B * size <= _CACHED_UP_TO:
            if len(kept) >= 256:  # many plans or shapes: start again rather than grow
                kept.clear()
            kept[key] = (stage, run)
        return run

    # ---- backward ---------------------------------------------------------------------------
    def backward(
        self,
        params: Mapping[str, np.ndarray],
        trace: Trace,
        cotangents: Mapping[str, np.ndarray],
        wanted: tuple[str, ...] = (),
        per_step: bool = False,
        pool: Pool | None = None,
    ) -> Backprop:
        """Run the derived backward program at every step, last step first.

        ``cotangents`` maps outputs to their direct adjoints ∂L/∂out_t, (T, B, size); the
        adjoints of the sequence inputs named in ``wanted`` are returned too.  With a ``pool``
        the per-step adjoints are borrowed from it (``per_step`` results then must not be kept
        past the pool's block)."""
        trace = self.laid_out(trace, params)
        work = self._backward_buffers(params, trace, cotangents, wanted, per_step, pool)
        carry: Arrays = {}
        for t in reversed(range(work.T)):
            carry = self._backward_step(work, t, cotangents, carry)
        return self._backward_finish(work, trace, carry, wanted, per_step)

    def _backward_buffers(self, params, trace, cotangents, wanted, per_step, pool) -> _BackwardWork:
        """Allocate every buffer of a backward pass once: the stacked adjoints of the affine runs
        over time, two alternating sets of per-step adjoints, the pull-back matrices, and each
        kernel's destinations at even and odd t."""
        empty = np.empty if pool is None else pool.empty
        values, sizes, layouts = trace.values, trace.sizes, trace.layouts
        T, B = values[self.graph.outputs[0]].shape[:2]
        dtype = np.result_type(*values.values(), *cotangents.values(), *params.values())
        names = frozenset(
            {adjoint_name(p) for p in self.state_in} | {adjoint_name(w) for w in wanted}
        )
        groups = self.backward_stages(names)
        stages = [stage for group in groups for stage in group]
        # every column of every step is written before it is read: no zero fill needed
        adjoint_runs = [
            empty((T, B, max(s.stop for s in layout.values())), dtype) for layout in layouts
        ]
        pulls = {}  # each pull-back over the rows of the adjoints it reads: (T, B, w), (w, size)
        for stage in stages:
            if isinstance(stage, _PullStage):
                rows = [layouts[stage.run][t.source.removeprefix("bar_")] for t in stage.op.terms]
                span = slice(min(r.start for r in rows), max(r.stop for r in rows))
                if len(stage.op.terms) == 1:  # one weight's block, as it is
                    (term,) = stage.op.terms
                    matrix = self.block(params, sizes, term.weight, term.operands, term.index)
                else:
                    matrix = self._pull_matrix(stage, params, sizes, layouts)[span]
                pulls[stage.op.name] = (adjoint_runs[stage.run][:, :, span], matrix)
        slot = {
            adjoint_name(out): (run, where)
            for run, layout in enumerate(layouts)
            for out, where in layout.items()
        }
        written = {n for stage in stages if isinstance(stage, Kernel) for n in stage.outputs}
        written |= {stage.name for stage in stages if isinstance(stage, _Alias)}
        for name, (run, where) in slot.items():
            if name not in written:  # an affine node nothing reads: its adjoint is 0
                adjoint_runs[run][..., where] = 0
        size_of = {**{adjoint_name(n): s for n, s in sizes.items()}, **sizes}
        own_names = {adjoint_name(new) for new in self.state_out}
        for stage in stages:
            if isinstance(stage, _PullStage):
                size_of[stage.op.name] = sizes[stage.op.operand]
                own_names.add(stage.op.name)
            elif isinstance(stage, _Reduce):  # a SumOver: its summand runs over the entries
                size_of[stage.name] = 1
                size_of[stage.source] = sizes[self.summed_over[stage.name]]
                own_names.add(stage.name)
            elif isinstance(stage, Kernel):
                own_names |= {n for n in stage.outputs if n not in slot}
        # two buffers per adjoint, alternating with t: step t reads what step t+1 wrote
        buffers2 = [
            {name: np.empty((B, size_of[name]), dtype) for name in own_names} for _ in range(2)
        ]
        runners = [self._runner(stage, dtype, B, size_of) for stage in stages]
        zeros = {out: np.zeros((B, sizes[out]), dtype) for out in self.graph.outputs}
        recorded = {
            name: np.zeros((T, B, size_of[name]), dtype)
            for name in [adjoint_name(w) for w in wanted]
            + ([adjoint_name(o) for o in self.graph.outputs] if per_step else [])
        }
        # where each kernel writes at even and odd t: (array, whether indexed by t)
        targets = [
            [
                [
                    (adjoint_runs[slot[n][0]][:, :, slot[n][1]], True)
                    if n in slot
                    else (buffers2[parity][n], False)
                    for n in stage.outputs
                ]
                for parity in range(2)
            ]
            if isinstance(stage, Kernel)
            # an alias that is an affine node's adjoint is copied into its run (the gradients
            # and the pull-backs read the run), not handed on as the same buffer
            else [[(adjoint_runs[slot[stage.name][0]][:, :, slot[stage.name][1]], True)]] * 2
            if isinstance(stage, _Alias) and stage.name in slot
            else None
            for stage in stages
        ]
        read = {n for stage in stages if isinstance(stage, Kernel) for n in stage.inputs}
        read_values = [(name, value) for name, value in values.items() if name in read]
        seeds = [(new, prev, adjoint_name(new)) for new, prev in self.graph.state]
        direct = [  # outputs that are not states: their adjoint is the cotangent alone
            (adjoint_name(out), cotangents.get(out), zeros[out])
            for out in self.graph.outputs
            if out not in self.state_out
        ]
        adjoints_in = [(adjoint_name(prev), prev) for prev in self.state_in]
        return _BackwardWork(
            T,
            stages,
            runners,
            targets,
            pulls,
            buffers2,
            adjoint_runs,
            recorded,
            read_values,
            seeds,
            direct,
            adjoints_in,
            zeros,
        )

    def _backward_step(
        self, work: _BackwardWork, t: int, cotangents: Mapping[str, np.ndarray], carry: Arrays
    ) -> Arrays:
        """Step t of the adjoint recursion δ_t = ∂L_t/∂s_t + (∂s_{t+1}/∂s_t)ᵀ δ_{t+1} (eq. (5)-(6)
        as derived): seed the new state's adjoint with the cotangent and the carry, run the
        derived backward program, and return the carry for step t - 1."""
        own = work.buffers2[t % 2]
        zeros, pulls = work.zeros, work.pulls
        buffers: Arrays = {name: value[t] for name, value in work.read_values}
        for new, prev, name in work.seeds:
            seed = own[name]
            if prev in carry and new in cotangents:
                np.add(cotangents[new][t], carry[prev], out=seed)
            elif prev in carry:  # a copy: an alias could hand it on into this step's set
                np.copyto(seed, carry[prev])
            else:
                seed = cotangents[new][t] if new in cotangents else zeros[new]
            buffers[name] = seed
        for name, given, zero in work.direct:
            buffers[name] = zero if given is None else given[t]
        for stage, run, target in zip(work.stages, work.runners, work.targets, strict=True):
            if isinstance(stage, Kernel):
                outs = [array[t] if timed else array for array, timed in target[t % 2]]
                run([buffers[n] for n in stage.inputs], outs)
                buffers.update(zip(stage.outputs, outs, strict=True))
            elif isinstance(stage, _Alias) and target is not None:
                ((array, _),) = target[t % 2]
                np.copyto(array[t], buffers[stage.source])
                buffers[stage.name] = array[t]
            elif isinstance(stage, _Alias):
                buffers[stage.name] = buffers[stage.source]
            elif isinstance(stage, _Reduce):
                out = own[stage.name]
                stage(buffers[stage.source], out)
                buffers[stage.name] = out
            else:
                out = own[stage.op.name]
                source, matrix = pulls[stage.op.name]
                np.matmul(source[t], matrix, out=out)
                buffers[stage.op.name] = out
        for name, past in work.recorded.items():
            past[t] = buffers[name]
        carry = {prev: buffers[name] for name, prev in work.adjoints_in}
        return carry

    def _backward_finish(self, work: _BackwardWork, trace, carry, wanted, per_step) -> Backprop:
        """The parameter gradients (one matmul per operand over all steps), the adjoints of the
        initial state and of the wanted inputs, and the per-step adjoints when asked for."""
        values, layouts, adjoint_runs, recorded = (
            trace.values,
            trace.layouts,
            work.adjoint_runs,
            work.recorded,
        )
        grads, contributions = self._parameter_gradients(values, adjoint_runs, layouts, per_step)
        adjoints = {prev: carry[prev].copy() for prev in self.state_in}
        adjoints |= {w: recorded[adjoint_name(w)] for w in wanted}
        nodes: Arrays = {}
        if per_step:
            for run, layout in enumerate(layouts):
                nodes |= {out: adjoint_runs[run][..., where] for out, where in layout.items()}
            nodes |= {out: recorded[adjoint_name(out)] for out in self.graph.outputs}
        return Backprop(grads, adjoints, nodes, contributions)

    def _pull_matrix(self, stage: _PullStage, params, sizes, layouts) -> np.ndarray:
        """(total of the run, size of operand): Σ_j M_j^{(operand)} stacked in the run's layout."""
        layout = layouts[stage.run]
        total = max(s.stop for s in layout.values())
        first = stage.op.terms[0]
        width = self.block(params, sizes, first.weight, first.operands, first.index).shape[1]
        matrix = np.zeros((total, width), np.result_type(*params.values()))
        for term in stage.op.terms:
            where = layout[term.source.removeprefix("bar_")]
            matrix[where] += self.block(params, sizes, term.weight, term.operands, term.index)
        return matrix

    def _parameter_gradients(self, values, adjoint_runs, layouts, per_step):
        """Σ_t ā_t [operands_t]ᵀ for every weight, as one matmul per operand of each run, and
        Σ_t ā_t for every bias; each step's share too when ``per_step``."""
        grads: Arrays = {}
        contributions: Arrays = {}
        for run, layout, adjoint in zip(self.runs, layouts, adjoint_runs, strict=True):
            T, B, total = adjoint.shape
            flat = adjoint.reshape(T * B, total)
            column_sums = flat.sum(axis=0)  # Σ_t ā_t of every bias, contiguous
            operands = self.run_operands[run.index]
            spans = {o: self.span(run, layout, (o,)) for o in operands}
            # operandᵀ ā over the operand's own columns: (size, width); this orientation runs
            # faster in OpenBLAS than its transpose at RNN sizes
            products = {o: values[o].reshape(T * B, -1).T @ flat[:, spans[o]] for o in operands}
            shares = (
                {o: np.einsum("tbi,tbj->tij", adjoint[..., spans[o]], values[o]) for o in operands}
                if per_step
                else {}
            )
            for step in run.steps:
                where = layout[step.out]
                local = {
                    o: slice(where.start - spans[o].start, where.stop - spans[o].start)
                    for o in _operands(step)
                }
                for weight, ops in step.terms:
                    grads[weight] = np.concatenate(
                        [products[o][:, local[o]].T for o in ops], axis=1
                    )
                    if per_step:
                        contributions[weight] = np.concatenate(
                            [shares[o][:, local[o]] for o in ops], axis=2
                        )
                if step.bias is not None:
                    grads[step.bias] = column_sums[where]
                    if per_step:
                        contributions[step.bias] = adjoint[..., where].sum(axis=1)
        return grads, contributions

    def references(self, trace: Trace) -> tuple[dict[str, tuple[str, np.ndarray]], dict[str, str]]:
        """For each weight, its affine node and stacked operand values (T, B, cols); for each
        bias, its affine node: how a step's share of a parameter gradient follows from ā_t."""
        outer = {
            op.weight: (
                op.source.removeprefix("bar_"),
                np.concatenate([trace.values[o] for o in op.operands], axis=-1),
            )
            for op in self.program.ops
            if isinstance(op, Outer)
        }
        bias = {
            op.bias: op.source.removeprefix("bar_")
            for op in self.program.ops
            if isinstance(op, BiasGrad)
        }
        return outer, bias


@cache
def plan(graph: Graph) -> Plan:
    """The compiled plan of ``graph`` (built once per process)."""
    return Plan(graph)
