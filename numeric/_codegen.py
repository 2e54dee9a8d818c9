"""Source text of a fused time loop, generated from a compiled :class:`~numeric._engine.Plan`.

The NumPy interpreter of :mod:`numeric._engine` runs, at every step, dozens of NumPy calls on
arrays of a few entries; at small sizes the interpreter, not the arithmetic, is the cost.  This
module writes the same program as the source of a Python module for numba (:mod:`numeric.
_compiled` compiles and caches it): one function runs the forward pass of eq. (1), (8)-(13)
over all steps, another the derived backward program (eq. (4)-(6) as derived) over all steps in
reverse, each step a few matmuls and one fused loop per elementwise stage.

Nothing is written here by hand: the elementwise loops print the plan's own SymPy expressions
(the derived ones, with the same common subexpressions as the NumPy kernels), the matmuls
and layouts follow the plan's affine runs, its stacked column blocks and pull-back terms.
:func:`source` returns None for a program it does not cover (a reduction inside the cell, a
function the printer does not know): the interpreter then runs it.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from derivations.adjoint import adjoint_name
from derivations.graph import Affine

from ._engine import Plan, _Alias, _operands, _PullStage, _Reduce
from ._kernels import Kernel

__all__ = ["Generated", "source"]

#: Helpers of every generated module: σ without overflow (branching on the real part, as
#: numeric._kernels.sigmoid does for complex input) and a matmul that loops at tiny sizes,
#: where calling BLAS costs more than the arithmetic.
_HELPERS = '''
@numba.njit(cache=True)
def _sigma(x):
    """sigma(x) = 1 / (1 + exp(-x)), evaluated on the side where exp does not overflow."""
    if x.real >= 0:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x)
    return e / (1.0 + e)


@numba.njit(cache=True)
def _mm(a, b, out):
    """out = a @ b: loops below about a thousand multiply-adds, BLAS above."""
    rows, inner, cols = a.shape[0], a.shape[1], b.shape[1]
    if rows * inner * cols > 2048:
        np.dot(a, b, out)
        return
    for i in range(rows):
        for j in range(cols):
            out[i, j] = 0.0
        for k in range(inner):
            aik = a[i, k]
            for j in range(cols):
                out[i, j] += aik * b[k, j]

@numba.njit(cache=True)
def _add(target, row, col, source, srow, scol, rows, cols, transposed):
    """target[row + i, col + j] += source[srow + i, scol + j] (or source[srow + j, scol + i]
    when transposed) for i < rows, j < cols: weight blocks moved into stacked layouts."""
    for i in range(rows):
        for j in range(cols):
            if transposed:
                target[row + i, col + j] += source[srow + j, scol + i]
            else:
                target[row + i, col + j] += source[srow + i, scol + j]


@numba.njit(cache=True)
def _put(target, start, source):
    """target[start + j] = source[j]: a bias into a run's stacked bias."""
    for j in range(source.shape[0]):
        target[start + j] = source[j]


@numba.njit(cache=True)
def _column_sums(target, source, start):
    """target[j] = sum_r source[r, start + j]: a bias gradient over all steps."""
    for j in range(target.shape[0]):
        total = source[0, start + j] * 0.0
        for r in range(source.shape[0]):
            total += source[r, start + j]
        target[j] = total


@numba.njit(cache=True)
def _columns(target, source, start):
    """target[b, c] = source[b, start + c]: a contiguous copy of a column block."""
    for b in range(target.shape[0]):
        for c in range(target.shape[1]):
            target[b, c] = source[b, start + c]
'''


class _Unsupported(Exception):
    pass


class _Printer(NumPyPrinter):
    """Scalar code for one entry: NumPy's functions (which numba types for float64 and
    complex128), σ as the helper above."""

    def __init__(self) -> None:
        super().__init__({"fully_qualified_modules": True, "inline": True})
        self.module_imports.clear()

    def _print_sigma(self, expr: sp.Expr) -> str:
        return f"_sigma({self._print(expr.args[0])})"

    _print_delta = _print_sigma

    def _print_Function(self, expr: sp.Expr) -> str:
        raise _Unsupported(type(expr).__name__)

    def _print_not_supported(self, expr: sp.Expr) -> str:
        raise _Unsupported(type(expr).__name__)


def _scalar(expr: sp.Expr) -> str:
    text = _Printer().doprint(expr)
    if "numpy." in text:
        text = text.replace("numpy.", "np.")
    return text


@dataclass(frozen=True)
class Generated:
    """The module's source and how its two functions are called: ``forward(proto, *params,
    *sequence, *initial)`` returns the state trajectories (T + 1, B, size) then the kept nodes
    (T, B, size); ``backward(proto, *params, *sequence, *states, *kept, *cotangents)`` returns
    the parameter gradients then the initial states' adjoints."""

    text: str
    params: tuple[str, ...]
    sequence: tuple[str, ...]
    state: tuple[tuple[str, str], ...]  # (new, prev)
    kept: tuple[str, ...]
    direct: tuple[str, ...]  # outputs that are not states: their cotangents


class _Names:
    """Python identifiers for node names (a graph may name nodes with any string)."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self.known:
            clean = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
            if not clean.isidentifier() or keyword.iskeyword(clean) or clean in self.known.values():
                clean = f"{clean}_{len(self.known)}"
            self.known[name] = clean
        return self.known[name]


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def __call__(self, line: str = "") -> None:
        self.lines.append("    " * self.depth + line if line else "")

    def block(self, header: str):
        writer = self

        class _Block:
            def __enter__(self):
                writer(header)
                writer.depth += 1

            def __exit__(self, *exc):
                writer.depth -= 1

        return _Block()


def _symbolic_sizes(plan: Plan) -> dict[str, sp.Expr]:
    sizes = dict(plan.graph.sizes)
    for atom, name in plan.hoisted.items():
        sizes[name.name] = sizes[sorted(s.name for s in atom.free_symbols)[0]]
    return sizes


def _kernel_size(kernel: Kernel, sizes: dict[str, sp.Expr], pulled: dict[str, str]) -> str:
    """The node whose length every entry of the kernel has (one length, or unsupported);
    ``pulled`` gives the operand of each pull-back's adjoint."""
    lengths = {}
    for name in (*kernel.inputs, *kernel.outputs):
        base = pulled.get(name, name.removeprefix("bar_"))
        if base not in sizes:
            raise _Unsupported(name)
        lengths.setdefault(sp.simplify(sizes[base]), base)
    if len(lengths) != 1:
        raise _Unsupported("a kernel mixing lengths")
    return next(iter(lengths.values()))


def _loop_body(w: _Writer, kernel: Kernel, read, write) -> None:
    """The kernel's expressions for entry (b, j): common subexpressions first."""
    replacements, reduced = sp.cse(list(kernel.exprs), symbols=sp.numbered_symbols("_e"))
    local = {}
    for i, name in enumerate(kernel.inputs):
        local[sp.Symbol(name)] = sp.Symbol(f"_x{i}")
        w(f"_x{i} = {read(name)}  # {name}")
    for symbol, expr in replacements:
        w(f"{symbol.name} = {_scalar(expr.xreplace(local))}")
    for name, expr in zip(kernel.outputs, reduced, strict=True):
        w(f"{write(name)} = {_scalar(sp.sympify(expr).xreplace(local))}  # {name}")


def source(plan: Plan) -> Generated | None:
    """The fused forward and backward loops of ``plan`` as module source, or None."""
    try:
        return _source(plan)
    except _Unsupported:
        return None


def _source(plan: Plan) -> Generated:
    graph = plan.graph
    if not plan.sequence or any(isinstance(s, _Reduce) for s in plan.forward_stages):
        raise _Unsupported("a reduction or no sequence input")
    wanted = frozenset(adjoint_name(p) for p in plan.state_in)
    stages = [s for group in plan.backward_stages(wanted) for s in group]
    if any(isinstance(s, _Reduce) for s in stages):
        raise _Unsupported("a reduction")
    names = _Names()
    sym = _symbolic_sizes(plan)
    params = tuple(graph.parameters)
    sequence = plan.sequence
    state = tuple(graph.state)
    prev_of = {new: prev for new, prev in state}
    new_of = {prev: new for new, prev in state}
    kept = tuple(
        sorted(k for k in plan.kept if k in sym and k not in sequence and k not in plan.state_in)
    )
    kept = tuple(k for k in kept if k not in prev_of)
    direct = tuple(o for o in graph.outputs if o not in prev_of)

    w = _Writer()
    w('"""Generated by numeric._codegen from the derived program of ' + f"{graph.name!r}" + '."""')
    w()
    w("import numba")
    w("import numpy as np")
    w(_HELPERS)
    p = {name: f"p_{names(name)}" for name in params}
    X = {name: f"X_{names(name)}" for name in sequence}
    S = {new: f"S_{names(new)}" for new, _ in state}  # (T + 1, B, size): S[t] is the previous
    K = {name: f"K_{names(name)}" for name in kept}
    n = {}  # node name -> size variable

    def sizes_and_layouts(state_size) -> None:
        """Sizes of every node (from the arrays), the affine runs' layouts and spans."""
        first = sequence[0]
        w(f"T, B = {X[first]}.shape[0], {X[first]}.shape[1]")
        for name in sequence:
            n[name] = f"n_{names(name)}"
            w(f"{n[name]} = {X[name]}.shape[2]")
        for new, prev in state:
            n[prev] = n[new] = f"n_{names(new)}"
            w(f"{n[new]} = {state_size(new, prev)}")
        for step in graph.steps:
            if step.out in n:
                continue
            n[step.out] = f"n_{names(step.out)}"
            if isinstance(step, Affine):
                w(f"{n[step.out]} = {p[step.terms[0][0]]}.shape[0]")
            else:
                source_name = sorted(s.name for s in sp.sympify(step.expr).free_symbols)[0]
                w(f"{n[step.out]} = {n[source_name]}")
        for atom, name in plan.hoisted.items():
            n[name.name] = n[sorted(s.name for s in atom.free_symbols)[0]]

    offsets: dict[str, str] = {}  # affine node -> its first column in its run
    totals: list[str] = []

    def layouts() -> None:
        for run in plan.runs:
            start = "0"
            for step in run.steps:
                offsets[step.out] = f"o_{names(step.out)}"
                w(f"{offsets[step.out]} = {start}")
                start = f"{offsets[step.out]} + {n[step.out]}"
            totals.append(f"w{run.index}")
            w(f"w{run.index} = {start}")

    def span(run, operands) -> tuple[str, str, bool]:
        """First column, end column, and whether the span is the whole run."""
        outs = [s.out for s in run.steps if set(_operands(s)) & set(operands)]
        whole = outs[0] == run.steps[0].out and outs[-1] == run.steps[-1].out
        return offsets[outs[0]], f"{offsets[outs[-1]]} + {n[outs[-1]]}", whole

    def start(weight_ops: tuple[str, ...], index: int) -> str:
        """The first column of an operand's block in a weight acting on ``weight_ops``."""
        return " + ".join(n[o] for o in weight_ops[:index]) or "0"

    def stacked(run, operand: str, target: str, lo: str, hi: str) -> None:
        """(size of operand, span): the run's weight blocks multiplying ``operand``,
        transposed into the run's layout."""
        w(f"{target} = np.zeros(({n[operand]}, {hi} - {lo}), proto.dtype)")
        for step in run.steps:
            for weight, ops in step.terms:
                for index, name in enumerate(ops):
                    if name == operand:
                        local = f"{offsets[step.out]} - {lo}"
                        w(
                            f"_add({target}, 0, {local}, {p[weight]}, 0, {start(ops, index)}, "
                            f"{n[operand]}, {n[step.out]}, True)"
                        )

    # ---------------------------------------------------------------- forward
    args = ["proto", *p.values(), *X.values(), *(f"I_{names(prev)}" for _, prev in state)]
    w("@numba.njit(cache=True)")
    with w.block(f"def forward({', '.join(args)}):"):
        w("# sizes from the arrays; S[t] holds a state before step t, S[t + 1] after it")
        sizes_and_layouts(lambda new, prev: f"I_{names(prev)}.shape[1]")
        layouts()
        for new, prev in state:
            w(f"{S[new]} = np.empty((T + 1, B, {n[new]}), proto.dtype)")
            w(f"{S[new]}[0] = I_{names(prev)}")
        for name in kept:
            w(f"{K[name]} = np.empty((T, B, {n[name]}), proto.dtype)")
        scratch = [
            s
            for s in n
            if s not in kept and s not in sequence and s not in prev_of and s not in new_of
        ]
        for name in scratch:
            w(f"v_{names(name)} = np.empty((B, {n[name]}), proto.dtype)")
        # per run: biases, input projections of all steps at once, stacked recurrent weights
        recurrent: dict[int, list[tuple[str, str, str, str]]] = {}
        projected: dict[int, list[tuple[str, str, str]]] = {}
        for run in plan.runs:
            r = run.index
            w(f"bias{r} = np.zeros(w{r}, proto.dtype)")
            for step in run.steps:
                if step.bias is not None:
                    o = offsets[step.out]
                    w(f"_put(bias{r}, {o}, {p[step.bias]})")
            recurrent[r], projected[r] = [], []
            for operand in plan.run_operands[r]:
                lo, hi, _ = span(run, (operand,))
                tag = f"{r}_{names(operand)}"
                stacked(run, operand, f"R{tag}", lo, hi)
                if operand in sequence:
                    w(f"Q{tag} = np.empty((T * B, {hi} - {lo}), proto.dtype)")
                    w(f"np.dot({X[operand]}.reshape(T * B, {n[operand]}), R{tag}, Q{tag})")
                    projected[r].append((operand, tag, lo))
                else:
                    w(f"M{tag} = np.empty((B, {hi} - {lo}), proto.dtype)")
                    recurrent[r].append((operand, tag, lo, hi))

        def value(name: str) -> str:  # a (B, size) array holding node ``name`` at step t
            if name in prev_of:
                return f"{S[name]}[t + 1]"
            if name in new_of:
                return f"{S[new_of[name]]}[t]"
            if name in sequence:
                return f"{X[name]}[t]"
            return f"v_{names(name)}"

        with w.block("for t in range(T):"):
            for name in kept:
                w(f"v_{names(name)} = {K[name]}[t]")
            for stage in plan.forward_stages:
                if isinstance(stage, Kernel):
                    size = n[_kernel_size(stage, sym, {})]
                    with w.block("for b in range(B):"), w.block(f"for j in range({size}):"):
                        _loop_body(
                            w,
                            stage,
                            lambda nm: f"{value(nm)}[b, j]",
                            lambda nm: f"{value(nm)}[b, j]",
                        )
                    continue
                r = stage.index
                for operand, tag, _, _ in recurrent[r]:
                    w(f"_mm({value(operand)}, R{tag}, M{tag})")
                for step in stage.steps:
                    parts = [f"bias{r}[{offsets[step.out]} + j]"]
                    for operand, tag, lo in projected[r]:
                        if operand in _operands(step):
                            parts.append(f"Q{tag}[t * B + b, {offsets[step.out]} - {lo} + j]")
                    for operand, tag, lo, _ in recurrent[r]:
                        if operand in _operands(step):
                            parts.append(f"M{tag}[b, {offsets[step.out]} - {lo} + j]")
                    target = value(step.out)
                    with w.block("for b in range(B):"), w.block(f"for j in range({n[step.out]}):"):
                        w(f"{target}[b, j] = {' + '.join(parts)}")
        w(f"return ({', '.join([*S.values(), *K.values()])},)")
    w()

    # ---------------------------------------------------------------- backward
    n.clear()
    offsets.clear()
    totals.clear()
    C = {new: f"C_{names(new)}" for new, _ in state}
    D = {out: f"D_{names(out)}" for out in direct}
    args = ["proto", *p.values(), *X.values(), *S.values(), *K.values(), *C.values(), *D.values()]
    # an alias of itself (the adjoint of a new state that is an affine node: its seed) is no
    # renaming; it is stored into the node's run below
    aliases = {s.name: s.source for s in stages if isinstance(s, _Alias) and s.name != s.source}
    pulled = {s.op.name: s.op.operand for s in stages if isinstance(s, _PullStage)}

    def resolve(name: str) -> str:
        while name in aliases:
            name = aliases[name]
        return name

    slot = {}  # affine adjoint -> (run, offset)
    w("@numba.njit(cache=True)")
    with w.block(f"def backward({', '.join(args)}):"):
        sizes_and_layouts(lambda new, prev: f"{S[new]}.shape[2]")
        layouts()
        for run in plan.runs:
            for step in run.steps:
                slot[adjoint_name(step.out)] = (run.index, offsets[step.out])
            w(f"A{run.index} = np.zeros((T, B, w{run.index}), proto.dtype)")
        own = {}  # per-step adjoints of their own (kernel outputs, pull-backs): their node
        for stage in stages:
            if isinstance(stage, Kernel):
                own |= {o: o.removeprefix("bar_") for o in stage.outputs if o not in slot}
            elif isinstance(stage, _PullStage):
                own[stage.op.name] = stage.op.operand
        for new, prev in state:
            w(f"E_{names(new)} = np.zeros((B, {n[new]}), proto.dtype)  # seed of bar_{new}")
            w(f"Y_{names(prev)} = np.zeros((B, {n[new]}), proto.dtype)  # carry: bar_{prev}")
        for name, base in own.items():
            w(f"O_{names(name)} = np.empty((B, {n[base]}), proto.dtype)")
        pulls = []
        for stage in stages:
            if not isinstance(stage, _PullStage):
                continue
            op, run = stage.op, plan.runs[stage.run]
            sources = [t.source.removeprefix("bar_") for t in op.terms]
            outs = [s.out for s in run.steps if s.out in sources]
            lo = offsets[outs[0]]
            hi = f"{offsets[outs[-1]]} + {n[outs[-1]]}"
            whole = outs[0] == run.steps[0].out and outs[-1] == run.steps[-1].out
            tag = names(op.name)
            w(f"P_{tag} = np.zeros(({hi} - {lo}, {n[op.operand]}), proto.dtype)")
            for term in op.terms:
                rows = offsets[term.source.removeprefix("bar_")]
                size = n[term.source.removeprefix("bar_")]
                w(
                    f"_add(P_{tag}, {rows} - {lo}, 0, {p[term.weight]}, 0, "
                    f"{start(term.operands, term.index)}, {size}, {n[op.operand]}, False)"
                )
            if not whole:
                w(f"Z_{tag} = np.empty((B, {hi} - {lo}), proto.dtype)")
            pulls.append((stage, tag, lo, hi, whole))

        def read(name: str) -> str:  # entry (b, j) of ``name`` at step t
            name = resolve(name)
            base = name.removeprefix("bar_")
            if name.startswith("bar_") and base in prev_of:  # a new state's adjoint: its seed
                return f"E_{names(base)}[b, j]"
            if name in slot:
                r, o = slot[name]
                return f"A{r}[t, b, {o} + j]"
            if name in own:
                return f"O_{names(name)}[b, j]"
            if name.startswith("bar_") and base in D:
                return f"{D[base]}[t, b, j]"
            if name in prev_of:
                return f"{S[name]}[t + 1, b, j]"
            if name in new_of:
                return f"{S[new_of[name]]}[t, b, j]"
            if name in sequence:
                return f"{X[name]}[t, b, j]"
            if name in K:
                return f"{K[name]}[t, b, j]"
            raise _Unsupported(name)

        pull_of = {id(stage): rest for stage, *rest in pulls}
        with w.block("for t in range(T - 1, -1, -1):"):
            for new, prev in state:
                with w.block("for b in range(B):"), w.block(f"for j in range({n[new]}):"):
                    w(f"E_{names(new)}[b, j] = {C[new]}[t, b, j] + Y_{names(prev)}[b, j]")
            for stage in stages:
                if isinstance(stage, Kernel):
                    size = n[_kernel_size(stage, sym, pulled)]
                    with w.block("for b in range(B):"), w.block(f"for j in range({size}):"):
                        _loop_body(w, stage, read, read)
                elif isinstance(stage, _Alias) and stage.name in slot:
                    # an affine node's adjoint that is one earlier adjoint (an identity
                    # elementwise step): stored in its run, where the gradients read it
                    r, o = slot[stage.name]
                    size = n[stage.name.removeprefix("bar_")]
                    with w.block("for b in range(B):"), w.block(f"for j in range({size}):"):
                        w(f"A{r}[t, b, {o} + j] = {read(stage.source)}")
                elif isinstance(stage, _PullStage):
                    tag, lo, hi, whole = pull_of[id(stage)]
                    r = stage.run
                    if whole:
                        w(f"_mm(A{r}[t], P_{tag}, O_{tag})")
                    else:
                        w(f"_columns(Z_{tag}, A{r}[t], {lo})")
                        w(f"_mm(Z_{tag}, P_{tag}, O_{tag})")
            for new, prev in state:
                with w.block("for b in range(B):"), w.block(f"for j in range({n[new]}):"):
                    w(f"Y_{names(prev)}[b, j] = {read(adjoint_name(prev))}")
        # parameter gradients: one matmul per operand of each run over all steps
        w("# parameter gradients: operand^T times the stacked adjoints, over all T * B rows")
        for name in params:
            w(f"G_{names(name)} = np.zeros({p[name]}.shape, proto.dtype)")
        for run in plan.runs:
            r = run.index
            w(f"F{r} = A{r}.reshape(T * B, w{r})")
            for operand in plan.run_operands[r]:
                lo, hi, whole = span(run, (operand,))
                tag = f"{r}_{names(operand)}"
                if operand in sequence:
                    rows = f"{X[operand]}.reshape(T * B, {n[operand]})"
                elif operand in new_of:
                    rows = f"{S[new_of[operand]]}[:T].reshape(T * B, {n[operand]})"
                elif operand in prev_of:
                    rows = f"{S[operand]}[1:].reshape(T * B, {n[operand]})"
                elif operand in K:
                    rows = f"{K[operand]}.reshape(T * B, {n[operand]})"
                else:
                    raise _Unsupported(operand)
                if whole:
                    columns = f"F{r}"
                else:
                    columns = f"Z{tag}"
                    w(f"{columns} = np.empty((T * B, {hi} - {lo}), proto.dtype)")
                    w(f"_columns({columns}, F{r}, {lo})")
                w(f"H{tag} = np.dot({rows}.T, {columns})")
                for step in run.steps:
                    for weight, ops in step.terms:
                        for index, name in enumerate(ops):
                            if name == operand:
                                local = f"{offsets[step.out]} - {lo}"
                                w(
                                    f"_add(G_{names(weight)}, 0, {start(ops, index)}, H{tag}, "
                                    f"0, {local}, {n[step.out]}, {n[operand]}, True)"
                                )
            for step in run.steps:
                if step.bias is not None:
                    o = offsets[step.out]
                    w(f"_column_sums(G_{names(step.bias)}, F{r}, {o})")
        results = [f"G_{names(name)}" for name in params] + [
            f"Y_{names(prev)}" for _, prev in state
        ]
        w(f"return ({', '.join(results)},)")
    return Generated("\n".join(w.lines) + "\n", params, sequence, state, kept, direct)
