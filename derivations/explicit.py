"""Explicit sizes: every symbolic object evaluated on ``sympy.Matrix`` of scalar symbols.

This is the ground the proofs stand on: the forward pass of a graph at a given size with
one symbol per weight entry, its backward program run entry by entry, the dimension-free
Jacobians of :mod:`derivations.adjoint` expanded to explicit matrices, and the adjoint (BPTT)
time loop δ_t = ∂L_t/∂S_t + (∂S_{t+1}/∂S_t)ᵀ δ_{t+1} of eq. (5)-(6) as derived.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import sympy as sp
from sympy.matrices.expressions import MatAdd, MatMul, ZeroMatrix

from .adjoint import Assign, Backward, BiasGrad, Outer, PullBack, SumOver, adjoint_name, backward
from .graph import Affine, Graph, MaxShift, Sum
from .matrices import Diag, WeightBlock

__all__ = [
    "Values",
    "bptt",
    "evaluate",
    "matrix_of_symbols",
    "parameters_of_symbols",
    "run_backward",
    "to_explicit",
    "unroll",
    "vector_of_symbols",
]

Values = dict[str, sp.Matrix]


def vector_of_symbols(name: str, length: int) -> sp.Matrix:
    """Column vector ``[name_1, …, name_length]`` of fresh real symbols (S_0, X_t, h_0, … of eq.
    (1)-(13))."""
    return sp.Matrix(length, 1, lambda i, _: sp.Symbol(f"{name}_{i + 1}", real=True))


def matrix_of_symbols(name: str, rows: int, columns: int) -> sp.Matrix:
    """Matrix ``[name_{ij}]`` of fresh real symbols, an explicit W, U, V or W_g of eq. (1)-(13)."""
    return sp.Matrix(rows, columns, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True))


def _int(size: sp.Expr, dims: Mapping[sp.Symbol, int]) -> int:
    value = sp.sympify(size).xreplace({s: sp.Integer(v) for s, v in dims.items()})
    if not value.is_Integer:
        raise ValueError(f"size {size} is not fixed by dims {dict(dims)}")
    return int(value)


def parameters_of_symbols(graph: Graph, dims: Mapping[sp.Symbol, int]) -> Values:
    """One symbol per entry of every weight and bias (W, U of eq. (1), W_g, b_g of (8)-(12)) of
    ``graph`` at the sizes ``dims``."""
    params: Values = {}
    for name, (rows, columns) in graph.parameter_shapes.items():
        r, c = _int(rows, dims), _int(columns, dims)
        params[name] = vector_of_symbols(name, r) if c == 1 else matrix_of_symbols(name, r, c)
    return params


def _entrywise(expr: sp.Expr, values: Mapping[str, sp.Matrix], length: int) -> sp.Matrix:
    """``expr`` entry by entry over ``length`` entries; a length-1 value is broadcast."""
    symbols = sorted(sp.sympify(expr).free_symbols, key=str)
    rows = []
    for i in range(length):
        entry = {s: values[s.name][i if values[s.name].rows > 1 else 0] for s in symbols}
        rows.append(sp.sympify(expr).xreplace(entry))
    return sp.Matrix(rows)


def _stack(values: Mapping[str, sp.Matrix], names: Sequence[str]) -> sp.Matrix:
    return sp.Matrix.vstack(*(values[name] for name in names))


def evaluate(
    graph: Graph, inputs: Mapping[str, sp.Matrix], params: Mapping[str, sp.Matrix]
) -> Values:
    """Forward pass of one step (eq. (1)-(2), (8)-(13) at explicit sizes): the explicit value of
    every input and node of ``graph``."""
    values: Values = dict(inputs)
    for step in graph.steps:
        if isinstance(step, Affine):
            out = sum(
                (params[w] * _stack(values, operands) for w, operands in step.terms),
                sp.zeros(params[step.terms[0][0]].rows, 1),
            )
            values[step.out] = out + params[step.bias] if step.bias else out
        elif isinstance(step, Sum):
            values[step.out] = sp.Matrix([sum(values[step.operand], sp.S.Zero)])
        elif isinstance(step, MaxShift):
            values[step.out] = sp.Matrix([sp.Max(*values[step.operand])])
        else:
            length = max(values[s.name].rows for s in sp.sympify(step.expr).free_symbols)
            values[step.out] = _entrywise(step.expr, values, length)
    return values


def _block(
    params: Mapping[str, sp.Matrix],
    values: Mapping[str, sp.Matrix],
    weight: str,
    operands: Sequence[str],
    index: int,
) -> sp.Matrix:
    start = sum(values[o].rows for o in operands[:index])
    return params[weight][:, start : start + values[operands[index]].rows]


def run_backward(
    graph: Graph,
    values: Mapping[str, sp.Matrix],
    params: Mapping[str, sp.Matrix],
    seeds: Mapping[str, sp.Matrix],
    program: Backward | None = None,
) -> tuple[Values, Values]:
    """Run the derived backward program of ``graph`` at explicit values (one step of eq. (5)-(6)).

    ``seeds`` maps output names to their upstream adjoints.  Returns the adjoints of the inputs
    and the gradients of the parameters.  ``program`` replaces the derived program (to show a
    proof rejecting a wrong one).
    """
    buffers: Values = dict(values)
    for out in graph.outputs:
        buffers[adjoint_name(out)] = seeds.get(out, sp.zeros(values[out].rows, 1))
    grads: Values = {}
    for op in (backward(graph) if program is None else program).ops:
        if isinstance(op, Assign):
            buffers[op.name] = _entrywise(op.expr, buffers, values[op.node].rows)
        elif isinstance(op, SumOver):
            entries = _entrywise(op.expr, buffers, values[op.over].rows)
            buffers[op.name] = sp.Matrix([sum(entries, sp.S.Zero)])
        elif isinstance(op, PullBack):
            pulled = [
                _block(params, values, term.weight, term.operands, term.index).T
                * buffers[term.source]
                for term in op.terms
            ]
            buffers[op.name] = sum(pulled[1:], pulled[0])
        elif isinstance(op, Outer):
            update = buffers[op.source] * _stack(values, op.operands).T
            grads[op.weight] = grads.get(op.weight, sp.zeros(*update.shape)) + update
        elif isinstance(op, BiasGrad):
            update = buffers[op.source]
            grads[op.bias] = grads.get(op.bias, sp.zeros(*update.shape)) + update
    adjoints = {name: buffers[adjoint_name(name)] for name in graph.input_names}
    return adjoints, grads


def to_explicit(
    expr: sp.MatrixExpr,
    values: Mapping[str, sp.Matrix],
    params: Mapping[str, sp.Matrix],
    dims: Mapping[sp.Symbol, int],
) -> sp.Matrix:
    """Expand a dimension-free Jacobian (eq. (7), (14): Diag, WeightBlock, weights, zero blocks,
    sums and products) to an explicit Matrix at the sizes ``dims``."""
    if isinstance(expr, MatAdd):
        parts = [to_explicit(a, values, params, dims) for a in expr.args]
        return sum(parts[1:], parts[0])
    if isinstance(expr, MatMul):
        factors = [to_explicit(a, values, params, dims) for a in expr.args]
        out = factors[0]
        for factor in factors[1:]:
            out = out * factor
        return out
    if isinstance(expr, Diag):
        return sp.diag(*_entrywise(expr.expr, values, _int(expr.shape[0], dims)))
    if isinstance(expr, WeightBlock):
        return _block(params, values, expr.name, expr.operands, expr.index)
    if isinstance(expr, sp.MatrixSymbol):
        return params[expr.name]
    if isinstance(expr, ZeroMatrix):
        return sp.zeros(_int(expr.shape[0], dims), _int(expr.shape[1], dims))
    raise TypeError(f"cannot expand {type(expr).__name__}: {expr}")


# ---- the time loop ------------------------------------------------------------------------


def unroll(
    cell: Graph,
    params: Mapping[str, sp.Matrix],
    xs: Sequence[Mapping[str, sp.Matrix]],
    initial: Mapping[str, sp.Matrix],
) -> list[Values]:
    """Forward pass of eq. (1) or (8)-(13) over t = 1..T: ``xs[t-1]`` holds the non-state inputs of
    step t and
    ``initial`` the previous-state inputs of step 1 (S_0, or h_0 and C_0)."""
    previous = dict(initial)
    steps = []
    for x in xs:
        values = evaluate(cell, {**x, **previous}, params)
        steps.append(values)
        previous = {prev: values[new] for new, prev in cell.state}
    return steps


def bptt(
    cell: Graph,
    steps: Sequence[Mapping[str, sp.Matrix]],
    params: Mapping[str, sp.Matrix],
    direct: Callable[[int], Mapping[str, sp.Matrix]],
) -> tuple[Values, Values]:
    """The adjoint recursion of BPTT, eq. (5)-(6) as derived: δ_t = ∂L_t/∂s_t + (∂s_{t+1}/∂s_t)ᵀ
    δ_{t+1}.

    ``direct(t)`` (t = 0..T-1) gives ∂L_t/∂(output) for the outputs of step t+1, the loss terms'
    own dependence; the carried term is the previous-state adjoint of the later step's backward
    program.  Returns the parameter gradients summed over time and the adjoints of the initial
    state.
    """
    grads: Values = {}
    carry: Values = {}
    for t in reversed(range(len(steps))):
        seeds = dict(direct(t))
        for new, prev in cell.state:
            if prev in carry:
                seeds[new] = seeds.get(new, sp.zeros(carry[prev].rows, 1)) + carry[prev]
        adjoints, step_grads = run_backward(cell, steps[t], params, seeds)
        for name, g in step_grads.items():
            grads[name] = grads[name] + g if name in grads else g
        carry = {prev: adjoints[prev] for _, prev in cell.state}
    return grads, carry
