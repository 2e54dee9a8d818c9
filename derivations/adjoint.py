r"""The generic derivation: backward (VJP) program and state Jacobian of any :class:`Graph`.

This is the derivation behind eq. (4)-(7) and (14), done once for every cell
s_t = F(s_{t-1}, x_t; θ).  It is reverse-mode differentiation of one step, with two kinds of
local derivative:

* elementwise steps ``e = φ(p, q, …)``: the partials ∂φ/∂p are exact SymPy derivatives of the
  scalar expression (``sympy.diff``), rewritten in the step's own node values where a node's
  definition appears (σ(z_f) becomes f, so σ' becomes f(1 - f));
* affine steps ``a = Σ_j M_j [u_1; …; u_r] + b``: ∂a/∂u_i is the column block M_j^{(u_i)}, so the
  adjoint of u_i gains ``M_j^{(u_i)ᵀ} ā`` and the weight gains the outer product
  ``ā [u_1; …; u_r]ᵀ`` — the structure of the map, never an implicit matrix derivative (SymPy's
  MatrixSymbol calculus is unreliable on exactly this shape: sympy #26561, #26585, #25118);
* reductions ``Z = Σ_i e_i`` (:class:`~derivations.graph.Sum`) and broadcasts (a length-1 node in
  an elementwise step over k entries) are each other's transposes: the adjoint of Z is
  broadcast back to every e_i, and a length-1 operand of an elementwise step gains the sum over
  the entries of its elementwise contribution (a :class:`SumOver`).  A
  :class:`~derivations.graph.MaxShift` gets no adjoint; its would-be adjoint is proven zero.

The result is dimension-free: elementwise expressions plus matrix products, valid for any
hidden size, so the numeric layer compiles it into matmul-bound kernels.  The proofs in
:mod:`derivations.proofs` check it against fully unrolled derivatives at explicit sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy as sp
from sympy.matrices.expressions import MatAdd, MatMul, ZeroMatrix

from .graph import Affine, Elementwise, Graph, MaxShift, Sum
from .matrices import Diag, WeightBlock

__all__ = [
    "Assign",
    "Backward",
    "BiasGrad",
    "Outer",
    "PullBack",
    "PullTerm",
    "SumOver",
    "adjoint_name",
    "backward",
    "state_jacobian",
    "jacobian_blocks",
    "jacobian_terms",
    "partial",
]


def adjoint_name(node: str) -> str:
    """Name of the buffer holding the adjoint ∂L/∂node of ``node`` (δ_t of eq. (5) for ``S``)."""
    return f"bar_{node}"


@dataclass(frozen=True)
class Assign:
    """``buffer[name] = expr`` entry by entry (the elementwise half of eq. (4)-(6)): the adjoint of
    ``node``, from node values, the
    seeds and earlier buffers."""

    name: str
    node: str
    expr: sp.Expr


@dataclass(frozen=True)
class PullTerm:
    """One term ``(M^{(operand)})ᵀ buffer[source]`` of a :class:`PullBack` (eq. (5)-(7)):
    ``weight`` multiplies the stacked ``operands`` and ``index`` picks the operand's block."""

    weight: str
    operands: tuple[str, ...]
    index: int
    source: str


@dataclass(frozen=True)
class PullBack:
    """``buffer[name] = Σ_j (M_j^{(operand)})ᵀ buffer[source_j]``: the adjoint of ``operand``
    through the affine maps of one stage, the Wᵀ of (∂S_t/∂S_{t-1})ᵀ = Wᵀ diag(σ'(a_t)) in
    eq. (5)-(7).  The terms share one operand, so a kernel computes them as one matmul of the
    stacked adjoints with the stacked weight blocks."""

    name: str
    operand: str
    terms: tuple[PullTerm, ...]


@dataclass(frozen=True)
class Outer:
    """``grad[weight] += buffer[source] · [operands]ᵀ``: ∂(M u)/∂M applied to an adjoint, the
    outer products summed over t in eq. (4)-(6)."""

    weight: str
    source: str
    operands: tuple[str, ...]


@dataclass(frozen=True)
class BiasGrad:
    """``grad[bias] += buffer[source]``: the gradient of b_g in eq. (8)-(12)."""

    bias: str
    source: str


@dataclass(frozen=True)
class SumOver:
    """``buffer[name] = Σ_i expr_i`` over the entries of node ``over``: the adjoint that a
    length-1 node gains from an elementwise step broadcasting it over ``over`` (the transpose of
    the broadcast; Σ_j ∂ℓ_j/∂c of a softmax loss, eq. (3))."""

    name: str
    over: str
    expr: sp.Expr


Op = Assign | SumOver | PullBack | Outer | BiasGrad


@dataclass(frozen=True)
class Backward:
    """The VJP of one step of a graph as a straight-line program (one step of eq. (5)-(6) derived).

    ``seeds`` are the buffers holding the upstream adjoints of the graph's outputs (inputs to the
    program); after the program runs, ``adjoint_name(i)`` holds the adjoint of each input ``i``
    and the ``Outer``/``BiasGrad`` ops have accumulated every parameter gradient.
    """

    graph: Graph
    seeds: tuple[str, ...]
    ops: tuple[Op, ...]

    def assignment(self, name: str) -> sp.Expr:
        for op in self.ops:
            if isinstance(op, Assign | SumOver) and op.name == name:
                return op.expr
        raise KeyError(name)


def _node_values(graph: Graph) -> dict[sp.Expr, sp.Symbol]:
    """Map each elementwise node's defining expression to the node, for rewriting partials."""
    return {
        sp.sympify(step.expr): graph.symbol(step.out)
        for step in graph.steps
        if isinstance(step, Elementwise) and not isinstance(step.expr, sp.Symbol)
    }


def _simplest(expr: sp.Expr) -> sp.Expr:
    """The shorter of ``expr`` and its cancelled form (exactly equal; cancelling removes the
    1/O and 1/(1 - O) of a cross-entropy, which would overflow where O saturates)."""
    cancelled = sp.cancel(expr)
    return cancelled if sp.count_ops(cancelled) < sp.count_ops(expr) else expr


@cache
def partial(graph: Graph, node: str, wrt: str) -> sp.Expr:
    """Exact elementwise partial ∂node/∂wrt of an elementwise step, in the step's node values:
    σ'(a_t) = S_t(1 - S_t) of eq. (7), ∂C_t/∂C_{t-1} = f_t of eq. (14)."""
    step = graph.step(node)
    if not isinstance(step, Elementwise):
        raise TypeError(f"{node!r} is an affine step; its derivative is its weight block")
    expr = sp.sympify(step.expr)
    return sp.diff(expr, graph.symbol(wrt)).xreplace(_node_values(graph))


def _broadcast(graph: Graph, operand: str, out: str) -> bool:
    """Whether the elementwise step ``out`` broadcasts the length-1 node ``operand``."""
    return graph.sizes[operand] == 1 and graph.sizes[out] != 1


@cache
def backward(graph: Graph) -> Backward:
    """Derive the VJP program of one step of ``graph`` (reverse-mode over its steps)."""
    seeds = tuple(adjoint_name(out) for out in graph.outputs)
    adjoints: dict[str, sp.Expr] = {
        out: sp.Symbol(seed) for out, seed in zip(graph.outputs, seeds, strict=True)
    }
    ops: list[Op] = []
    pending: dict[str, list[PullTerm]] = {}  # pullbacks of the current run of affine steps
    sums: dict[sp.Symbol, SumOver] = {}  # reductions, emitted when an emitted op reads them
    made: dict[sp.Symbol, SumOver] = {}  # every reduction, for the proofs of MaxShift
    lengths = {seed: graph.sizes[out] for out, seed in zip(graph.outputs, seeds, strict=True)}

    def flush() -> None:
        for operand, terms in pending.items():
            name = f"{adjoint_name(operand)}__pull{len(ops)}"
            ops.append(PullBack(name, operand, tuple(terms)))
            lengths[name] = graph.sizes[operand]
            adjoints[operand] = adjoints.get(operand, sp.S.Zero) + sp.Symbol(name)
        pending.clear()

    def emit_sums(expr: sp.Expr) -> None:
        for symbol in sorted(expr.free_symbols & set(sums), key=str):
            op = sums.pop(symbol)
            emit_sums(op.expr)
            ops.append(op)

    def assign(name: str, node: str, expr: sp.Expr) -> None:
        expr = _simplest(expr)
        emit_sums(expr)
        ops.append(Assign(name, node, expr))
        lengths[name] = graph.sizes[node]

    for step in reversed(graph.steps):
        if not isinstance(step, Affine) or step.out in pending:
            flush()
        bar = adjoints.pop(step.out, sp.S.Zero)
        if bar == 0:
            continue
        if isinstance(step, Sum):  # the transpose of a sum: ē_i = Z̄ for every entry
            adjoints[step.operand] = adjoints.get(step.operand, sp.S.Zero) + bar
            continue
        if isinstance(step, MaxShift):
            _check_neutral(graph, step, bar, made, lengths)
            continue
        if isinstance(step, Elementwise):
            for symbol in sorted(sp.sympify(step.expr).free_symbols, key=str):
                contribution = partial(graph, step.out, symbol.name) * bar
                if _broadcast(graph, symbol.name, step.out):  # the transpose of a broadcast
                    name = f"{adjoint_name(symbol.name)}__sum{len(made)}"
                    made[sp.Symbol(name)] = SumOver(name, step.out, _simplest(contribution))
                    sums[sp.Symbol(name)] = made[sp.Symbol(name)]
                    lengths[name] = sp.S.One
                    contribution = sp.Symbol(name)
                adjoints[symbol.name] = adjoints.get(symbol.name, sp.S.Zero) + contribution
            continue
        name = adjoint_name(step.out)
        assign(name, step.out, bar)
        for weight, operands in step.terms:
            ops.append(Outer(weight, name, operands))
            for index, operand in enumerate(operands):
                pending.setdefault(operand, []).append(PullTerm(weight, operands, index, name))
        if step.bias is not None:
            ops.append(BiasGrad(step.bias, name))
    flush()
    for name in graph.input_names:
        assign(adjoint_name(name), name, adjoints.get(name, sp.S.Zero))
    return Backward(graph, seeds, tuple(ops))


# ---- the shift of a stable log-sum-exp: its adjoint vanishes identically --------------------

_SIGMA = sp.Function("Σ")  # Σ_i over the entries of a vector, kept unevaluated


def _check_neutral(
    graph: Graph,
    step: MaxShift,
    bar: sp.Expr,
    sums: dict[sp.Symbol, SumOver],
    lengths: dict[str, sp.Expr],
) -> None:
    """Prove the would-be adjoint ``bar`` of a :class:`MaxShift` node zero for every seed, or
    refuse the graph.

    ``bar`` is a sum of reductions Σ_i (…)_i.  Each is put in a normal form by the rules that
    hold for every length: Σ is linear, a length-1 factor leaves it (Σ_i c u_i = c Σ_i u_i),
    Σ_i 1 is the length, and Σ_i e_i is the node Z of a step ``Z = Sum(e)``.  For the softmax
    cross-entropy of eq. (3), μ̄ = Σ_j ℓ̄_j y_j - Z̄ Σ_i e_i with Z̄ = Σ_j ℓ̄_j y_j / Z: zero.  The
    rules are sound, not complete: a graph they cannot settle is refused.
    """
    totals = {sp.Symbol(s.operand): sp.Symbol(s.out) for s in graph.steps if isinstance(s, Sum)}
    opaque: dict[sp.Expr, sp.Symbol] = {}

    def length(symbol: sp.Symbol) -> sp.Expr:
        if symbol.name in lengths:
            return lengths[symbol.name]
        return graph.sizes.get(symbol.name, sp.S.One)  # Σ-terms are opaque length-1 symbols

    def normal(expr: sp.Expr) -> sp.Expr:
        return expr.xreplace({s: reduced(sums[s]) for s in expr.free_symbols if s in sums})

    def reduced(op: SumOver) -> sp.Expr:
        total = sp.S.Zero
        for term in sp.Add.make_args(sp.expand(normal(op.expr))):
            inside, outside = [], []
            for factor in sp.Mul.make_args(term):
                scalar = all(length(s) == 1 for s in factor.free_symbols)
                (outside if scalar else inside).append(factor)
            rest = sp.Mul(*inside)
            if rest == 1:
                value = graph.sizes[op.over]
            elif rest in totals:
                value = totals[rest]
            else:
                value = opaque.setdefault(rest, sp.Symbol(f"_sigma{len(opaque)}"))
            total += sp.Mul(*outside) * value
        return total

    residue = sp.cancel(sp.together(sp.expand(normal(bar))))
    if residue != 0:
        inside = {v: _SIGMA(k) for k, v in opaque.items()}
        raise ValueError(
            f"{graph.name}: the outputs depend on the shift {step.out!r} = max({step.operand}): "
            f"its adjoint is {residue.xreplace(inside)}, not 0; a MaxShift may only be a shift "
            "that cancels (c + log Σ_i exp(u_i - c))"
        )


# ---- forward mode: the Jacobian of one step, as diag(...) and weight-block products ------------

Term = tuple[sp.Expr, tuple[sp.MatrixExpr, ...]]  # leading diagonal coefficient, remaining factors


def _merge(terms: list[Term]) -> list[Term]:
    merged: dict[tuple[sp.MatrixExpr, ...], sp.Expr] = {}
    for coefficient, tail in terms:
        merged[tail] = merged.get(tail, sp.S.Zero) + coefficient
    return [(sp.factor_terms(c), tail) for tail, c in merged.items() if c != 0]


@cache
def jacobian_terms(graph: Graph, node: str, wrt: str) -> tuple[Term, ...]:
    """∂node/∂wrt (``wrt`` an input) as Σ diag(coefficient) · tail, by forward tangents: the
    terms of the step Jacobians of eq. (7) and (14)."""
    if node == wrt:
        return ((sp.S.One, ()),)
    if node in graph.input_names:
        return ()
    step = graph.step(node)
    if isinstance(step, Sum | MaxShift):
        raise ValueError(
            f"{graph.name}: the state path reaches the reduction {step.out!r} of "
            f"{step.operand!r}; state Jacobians of cells with Sum or MaxShift are not derived"
        )
    terms: list[Term] = []
    if isinstance(step, Elementwise):
        for symbol in sorted(sp.sympify(step.expr).free_symbols, key=str):
            local = partial(graph, node, symbol.name)
            terms += [(local * c, tail) for c, tail in jacobian_terms(graph, symbol.name, wrt)]
        return tuple(_merge(terms))
    for weight, operands in step.terms:
        for index, operand in enumerate(operands):
            block = _weight_block(graph, step, weight, operands, index)
            for c, tail in jacobian_terms(graph, operand, wrt):
                inner = tail if c == 1 else (Diag(c, graph.sizes[operand]), *tail)
                terms.append((sp.S.One, (block, *inner)))
    return tuple(_merge(terms))


def _weight_block(
    graph: Graph, step: Affine, weight: str, operands: tuple[str, ...], index: int
) -> sp.MatrixExpr:
    rows, columns = graph.parameter_shapes[weight]
    if len(operands) == 1:
        return sp.MatrixSymbol(weight, rows, columns)
    return WeightBlock(weight, operands, index, rows, graph.sizes[operands[index]])


def state_jacobian(graph: Graph, node: str, wrt: str) -> sp.MatrixExpr:
    """The dimension-free block ∂node/∂wrt, e.g. ``diag(σ'(a_t)) W`` for eq. (1), (7)."""
    rows, columns = graph.sizes[node], graph.sizes[wrt]
    parts = []
    for coefficient, tail in jacobian_terms(graph, node, wrt):
        factors = ([] if coefficient == 1 and tail else [Diag(coefficient, rows)]) + list(tail)
        parts.append(factors[0] if len(factors) == 1 else MatMul(*factors))
    if not parts:
        return ZeroMatrix(rows, columns)
    return parts[0] if len(parts) == 1 else MatAdd(*parts)


def jacobian_blocks(graph: Graph) -> tuple[tuple[sp.MatrixExpr, ...], ...]:
    """∂(new state)/∂(previous state) as a grid of blocks, rows and columns in ``graph.state``
    order (for the LSTM: C then h, the 2n × 2n Jacobian behind eq. (14))."""
    return tuple(
        tuple(state_jacobian(graph, new, prev) for _, prev in graph.state) for new, _ in graph.state
    )
