"""The BPTT engine: a :class:`derivations.graph.Graph` run forward and backward over time.

Everything here is generated from :mod:`derivations`: the forward pass evaluates the graph's
affine and elementwise steps, and the backward pass interprets the graph's derived backward
program (:func:`derivations.adjoint.backward`) at every step, in reverse — the adjoint
recursion δ_t = ∂L_t/∂s_t + (∂s_{t+1}/∂s_t)ᵀ δ_{t+1} of eq. (5)-(6) as derived.

Arrays are row-major batches: a vector node at one step is (B, size), over time (T, B, size).
Work that does not depend on the recurrence is done for all steps at once: the projections
of the inputs x_t (one matmul over T·B rows) and the parameter gradients (one matmul per
group of weights that share their operands).  Each step is then a few matmuls with stacked
weights plus the compiled elementwise kernels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from derivations.adjoint import Assign, BiasGrad, Outer, PullBack, adjoint_name, backward
from derivations.graph import Affine, Elementwise, Graph

from ._kernels import Kernel

__all__ = ["Backprop", "Plan", "Trace", "plan"]

Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class _AffineStage:
    steps: tuple[Affine, ...]


@dataclass(frozen=True)
class _PullStage:
    op: PullBack


@dataclass(frozen=True)
class Backprop:
    """What the backward pass returns.

    ``grads``: parameter gradients summed over time; ``adjoints``: adjoints of the initial
    state (and of wanted sequence inputs, (T, B, size)); ``nodes``: the adjoint of every affine
    node and of every output as it leaves each step, (T, B, size) — δ_t and ā_t of eq. (5);
    ``contributions``: each step's share of each parameter gradient, (T, ...), when asked."""

    grads: dict[str, np.ndarray]
    adjoints: dict[str, np.ndarray]
    nodes: dict[str, np.ndarray]
    contributions: dict[str, np.ndarray]


@dataclass(frozen=True)
class Trace:
    """What the forward pass keeps for the backward pass: every node and input at every step
    (T, B, size), and the sizes of the nodes."""

    values: Arrays
    sizes: dict[str, int]
    final: Arrays


class Plan:
    """A graph compiled for arrays: stages of the forward step and of the backward program."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.state_in = tuple(prev for _, prev in graph.state)
        self.state_out = tuple(new for new, _ in graph.state)
        self.sequence = tuple(n for n in graph.input_names if n not in self.state_in)
        self.forward_stages = self._forward_stages()
        self.program = backward(graph)
        self.weights_by_operands = self._outer_groups()

    # ---- compilation --------------------------------------------------------------------
    def _forward_stages(self) -> list[_AffineStage | Kernel]:
        stages: list[_AffineStage | Kernel] = []
        run: list = []
        for step in self.graph.steps:
            kind = Affine if isinstance(step, Affine) else Elementwise
            if run and not isinstance(run[0], kind):
                stages.append(self._stage(run))
                run = []
            run.append(step)
        stages.append(self._stage(run))
        return stages

    @staticmethod
    def _stage(run: list) -> _AffineStage | Kernel:
        if isinstance(run[0], Affine):
            return _AffineStage(tuple(run))
        # consecutive elementwise steps fused into one kernel: later steps see earlier ones
        exprs: dict[str, sp.Expr] = {}
        for step in run:
            exprs[step.out] = sp.sympify(step.expr).xreplace(
                {sp.Symbol(k): v for k, v in exprs.items()}
            )
        return Kernel.build(exprs)

    def _outer_groups(self) -> dict[tuple[str, ...], tuple[Outer, ...]]:
        groups: dict[tuple[str, ...], list[Outer]] = {}
        for op in self.program.ops:
            if isinstance(op, Outer):
                groups.setdefault(op.operands, []).append(op)
        return {k: tuple(v) for k, v in groups.items()}

    @cache  # noqa: B019 - one plan per graph, kept for the process like the kernels it holds
    def backward_stages(self, wanted: frozenset[str]) -> list[Kernel | _PullStage]:
        """The backward program pruned to what computes the adjoints in ``wanted`` (plus every
        affine adjoint, which the parameter gradients need), fused into kernels."""
        needed = set(wanted) | {op.source for op in self.program.ops if isinstance(op, Outer)}
        kept: list = []
        for op in reversed(self.program.ops):
            if isinstance(op, Assign) and op.name in needed:
                needed |= {s.name for s in op.expr.free_symbols}
                kept.append(op)
            elif isinstance(op, PullBack) and op.name in needed:
                needed |= {term.source for term in op.terms}
                kept.append(op)
        stages: list[Kernel | _PullStage] = []
        assigns: dict[str, sp.Expr] = {}
        for op in reversed(kept):
            if isinstance(op, PullBack):
                if assigns:
                    stages.append(Kernel.build(assigns))
                    assigns = {}
                stages.append(_PullStage(op))
            else:
                assigns[op.name] = op.expr
        if assigns:
            stages.append(Kernel.build(assigns))
        return stages

    # ---- sizes and weight blocks -----------------------------------------------------------
    def sizes(self, params: Mapping[str, np.ndarray], inputs: Mapping[str, int]) -> dict[str, int]:
        sizes = dict(inputs)
        for step in self.graph.steps:
            if isinstance(step, Affine):
                sizes[step.out] = params[step.terms[0][0]].shape[0]
            else:
                sizes[step.out] = sizes[min(s.name for s in sp.sympify(step.expr).free_symbols)]
        return sizes

    @staticmethod
    def block(
        params: Mapping[str, np.ndarray],
        sizes: Mapping[str, int],
        weight: str,
        operands: tuple[str, ...],
        index: int,
    ) -> np.ndarray:
        start = sum(sizes[o] for o in operands[:index])
        return params[weight][:, start : start + sizes[operands[index]]]

    # ---- forward ----------------------------------------------------------------------------
    def forward(
        self,
        params: Mapping[str, np.ndarray],
        sequence: Mapping[str, np.ndarray],
        initial: Mapping[str, np.ndarray],
        offsets: Mapping[tuple[str, int], np.ndarray] | None = None,
    ) -> Trace:
        """Run the cell over t = 1..T; ``sequence`` holds (T, B, size) inputs, ``initial`` the
        (B, size) previous state of step 1.  ``offsets[(node, t)]`` is added to an affine node as
        soon as step t (0-based) computes it, and to an output (the new state) as it leaves
        step t: the derivative of the loss in that offset is the node's adjoint (ā_t, or the
        seed δ_t of the backward program) at that step, which the BPTT-aware checks compare
        step by step."""
        offsets = offsets or {}
        first = next(iter(sequence.values())) if sequence else next(iter(initial.values()))
        T, B = first.shape[0], first.shape[-2]
        offsets = offsets or {}
        dtype = np.result_type(
            *params.values(), *sequence.values(), *initial.values(), *offsets.values()
        )
        sizes = self.sizes(params, {k: v.shape[-1] for k, v in {**sequence, **initial}.items()})
        # input projections for every step at once; recurrent weights stacked per operand
        pre: Arrays = {}
        recurrent: list[tuple[str, list[str], np.ndarray]] = []
        for stage in self.forward_stages:
            if isinstance(stage, Kernel):
                continue
            groups: dict[str, list[tuple[str, np.ndarray]]] = {}
            for step in stage.steps:
                total = (
                    np.zeros((T, B, sizes[step.out]), dtype)
                    if step.bias is None
                    else (
                        np.broadcast_to(
                            params[step.bias].astype(dtype), (T, B, sizes[step.out])
                        ).copy()
                    )
                )
                for weight, operands in step.terms:
                    for index, operand in enumerate(operands):
                        block = self.block(params, sizes, weight, operands, index)
                        if operand in sequence:
                            total += sequence[operand] @ block.T
                        else:
                            groups.setdefault(operand, []).append((step.out, block))
                pre[step.out] = total
            for operand, parts in groups.items():
                stacked = np.concatenate([b for _, b in parts], axis=0).T.copy()
                recurrent.append((operand, [o for o, _ in parts], stacked))
        values: Arrays = {}
        state = dict(initial)
        for t in range(T):
            step_values: Arrays = {**state, **{k: v[t] for k, v in sequence.items()}}
            for stage in self.forward_stages:
                if isinstance(stage, Kernel):
                    step_values.update(stage(step_values))
                    continue
                for step in stage.steps:
                    step_values[step.out] = pre[step.out][t]
                for operand, outs, stacked in recurrent:
                    if outs[0] not in {s.out for s in stage.steps}:
                        continue
                    product = step_values[operand] @ stacked
                    start = 0
                    for out in outs:
                        stop = start + sizes[out]
                        step_values[out] = step_values[out] + product[:, start:stop]
                        start = stop
                self._offset(step_values, [step.out for step in stage.steps], t, offsets)
            self._offset(step_values, self.graph.outputs, t, offsets)
            for name, value in step_values.items():
                if name not in values:
                    values[name] = np.empty((T, *np.shape(value)), np.result_type(dtype, value))
                values[name][t] = value
            state = {prev: step_values[new] for new, prev in self.graph.state}
        return Trace(values, sizes, state)

    @staticmethod
    def _offset(values: Arrays, names, t: int, offsets: Mapping) -> None:
        for name in names:
            if (name, t) in offsets:
                values[name] = values[name] + offsets[(name, t)]

    # ---- backward ---------------------------------------------------------------------------
    def backward(
        self,
        params: Mapping[str, np.ndarray],
        trace: Trace,
        cotangents: Mapping[str, np.ndarray],
        wanted: tuple[str, ...] = (),
        per_step: bool = False,
    ) -> tuple[Arrays, Arrays, Arrays]:
        """Run the derived backward program at every step, last step first.

        ``cotangents`` maps outputs to their direct adjoints ∂L/∂out_t, (T, B, size); the
        adjoints of the sequence inputs named in ``wanted`` are returned too."""
        values, sizes = trace.values, trace.sizes
        T = next(iter(values.values())).shape[0]
        wanted_names = frozenset(
            {adjoint_name(p) for p in self.state_in} | {adjoint_name(w) for w in wanted}
        )
        stages = self.backward_stages(wanted_names)
        pulls = {
            id(stage): np.concatenate(
                [self.block(params, sizes, t.weight, t.operands, t.index) for t in stage.op.terms],
                axis=0,
            )
            for stage in stages
            if isinstance(stage, _PullStage)
        }
        affine_outs = [s.out for s in self.graph.steps if isinstance(s, Affine)]
        affine_adjoints: Arrays = {}
        sequence_adjoints: Arrays = {}
        some = next(iter(values.values()))
        carry: Arrays = {}
        for t in reversed(range(T)):
            buffers: Arrays = {k: v[t] for k, v in values.items()}
            for out in self.graph.outputs:
                seed = cotangents[out][t] if out in cotangents else np.zeros_like(values[out][t])
                prev = dict(zip(self.state_out, self.state_in, strict=True)).get(out)
                if prev in carry:
                    seed = seed + carry[prev]
                buffers[adjoint_name(out)] = seed
            for stage in stages:
                if isinstance(stage, Kernel):
                    buffers.update(stage(buffers))
                else:
                    sources = [buffers[term.source] for term in stage.op.terms]
                    stacked = sources[0] if len(sources) == 1 else np.concatenate(sources, axis=-1)
                    buffers[stage.op.name] = stacked @ pulls[id(stage)]
            for out in (*affine_outs, *self.graph.outputs):
                name = adjoint_name(out)
                if name in buffers:
                    if name not in affine_adjoints:
                        affine_adjoints[name] = np.zeros((T, *buffers[name].shape), some.dtype)
                    affine_adjoints[name][t] = buffers[name]
            for name in wanted:
                bar = adjoint_name(name)
                if bar not in sequence_adjoints:
                    sequence_adjoints[bar] = np.zeros((T, *buffers[bar].shape), buffers[bar].dtype)
                sequence_adjoints[bar][t] = buffers[bar]
            carry = {prev: buffers[adjoint_name(prev)] for prev in self.state_in}
        grads, contributions = self._parameter_gradients(values, affine_adjoints, per_step)
        for op in self.program.ops:
            if isinstance(op, BiasGrad):
                grads[op.bias] = affine_adjoints[op.source].sum(axis=(0, 1))
                if per_step:
                    contributions[op.bias] = affine_adjoints[op.source].sum(axis=1)
        adjoints = {prev: carry[prev] for prev in self.state_in}
        adjoints |= {name.removeprefix("bar_"): v for name, v in sequence_adjoints.items()}
        nodes = {name.removeprefix("bar_"): v for name, v in affine_adjoints.items()}
        return Backprop(grads, adjoints, nodes, contributions)

    def references(self, trace: Trace) -> tuple[dict[str, tuple[str, np.ndarray]], dict[str, str]]:
        """For each weight, its affine node and stacked operand values (T, B, cols); for each
        bias, its affine node: how a step's share of a parameter gradient follows from ā_t."""
        outer = {
            op.weight: (
                op.source.removeprefix("bar_"),
                np.concatenate([trace.values[o] for o in operands], axis=-1),
            )
            for operands, ops in self.weights_by_operands.items()
            for op in ops
        }
        bias = {
            op.bias: op.source.removeprefix("bar_")
            for op in self.program.ops
            if isinstance(op, BiasGrad)
        }
        return outer, bias

    def _parameter_gradients(
        self, values: Arrays, affine_adjoints: Arrays, per_step: bool
    ) -> tuple[Arrays, Arrays]:
        grads: Arrays = {}
        contributions: Arrays = {}
        for operands, outers in self.weights_by_operands.items():
            adjoint = np.concatenate([affine_adjoints[op.source] for op in outers], axis=-1)
            operand = np.concatenate([values[o] for o in operands], axis=-1)
            T, B = adjoint.shape[:2]
            stacked = adjoint.reshape(T * B, -1).T @ operand.reshape(T * B, -1)
            per = np.einsum("tbi,tbj->tij", adjoint, operand) if per_step else None
            start = 0
            for op in outers:
                stop = start + affine_adjoints[op.source].shape[-1]
                grads[op.weight] = stacked[start:stop]
                if per is not None:
                    contributions[op.weight] = per[:, start:stop]
                start = stop
        return grads, contributions


@cache
def plan(graph: Graph) -> Plan:
    """The compiled plan of ``graph`` (built once per process)."""
    return Plan(graph)
