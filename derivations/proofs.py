r"""Exact proofs at small sizes: each derivation equals the fully unrolled SymPy derivative.

Each proof builds the model at explicit sizes with one symbol per weight entry, input and
initial state, differentiates the unrolled loss entry by entry with ``sympy.diff`` (the
reference), runs the derived object on the same symbols, and expands the difference.  σ and
tanh know their derivatives (σ' = σ(1-σ), tanh' = 1 - tanh²), so both sides are polynomials in
the same activation atoms and weights, and a zero difference is an identity, not a sample.

Both sides share one trust point: the derivative rules of σ and tanh.  tanh' is SymPy's own;
σ' = σ(1 - σ) is checked against the derivative of 1/(1 + e^{-x}) in tests/test_activations.py.

>>> rnn_bptt(n=1, T=2).holds
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

import sympy as sp

from . import dims
from .adjoint import jacobian_blocks, state_jacobian
from .explicit import (
    Values,
    bptt,
    evaluate,
    parameters_of_symbols,
    run_backward,
    to_explicit,
    unroll,
    vector_of_symbols,
)
from .graph import Graph
from .lstm import lstm_cell, total_cell_derivative
from .rnn import rnn_cell, rnn_readout

__all__ = [
    "CellProofs",
    "Proof",
    "cell_title",
    "cell_vjp",
    "lstm_bptt",
    "lstm_total_cell_derivative",
    "prove",
    "rnn_bptt",
    "rnn_delta_recursion",
    "standard_proofs",
    "state_jacobian_proof",
]


#: How the docs name the library's cells and the losses of eq. (3).
_CELLS = {
    "elman": "Elman RNN",
    "lstm": "LSTM",
    "lstm[no forget gate]": "LSTM of 1997 (no forget gate)",
    "gru[torch]": "GRU (PyTorch)",
    "gru[cho]": "GRU (Cho et al. 2014)",
}
_WORDS = {"sigmoid": "σ", "tanh": "tanh", "bias": "bias"}
_LOSS_WORDS = {"bce": "BCE", "ce": "cross-entropy", "literal": "eq. (3) as written"}


def cell_title(name: str, loss: str | None = None) -> str:
    """A cell of :mod:`derivations.cells` named as the docs name it, with the loss of eq. (3)
    when given: ``elman[sigmoid]`` with ``bce`` is ``Elman RNN (σ, BCE)``.

    >>> cell_title("elman[tanh, bias]"), cell_title("lstm"), cell_title("my-rnn")
    ('Elman RNN (tanh, bias)', 'LSTM', 'my-rnn')
    """
    if name in _CELLS:
        return _CELLS[name] if loss is None else f"{_CELLS[name]} ({_LOSS_WORDS.get(loss, loss)})"
    head, _, rest = name.partition("[")
    if head not in _CELLS or not rest.endswith("]"):
        return name
    words = [_WORDS.get(w.strip(), w.strip()) for w in rest[:-1].split(",")]
    if loss is not None:
        words.append(_LOSS_WORDS.get(loss, loss))
    return f"{_CELLS[head]} ({', '.join(words)})"


def _vanishes(expr: sp.Expr) -> bool:
    expanded = sp.expand(expr)
    return expanded == 0 or sp.cancel(sp.together(expanded)) == 0


@dataclass(frozen=True)
class Proof:
    """The outcome of one identity check of eq. (4)-(7) or (14) as derived: ``derived - reference``
    for each named quantity."""

    name: str
    derived: Mapping[str, sp.Matrix]
    reference: Mapping[str, sp.Matrix]
    #: what the proof is called in words, as the docs name cells ("Elman RNN (σ, BCE) …");
    #: ``name`` stays the key of the evidence's JSON
    title: str = field(default="", compare=False)

    @property
    def failures(self) -> tuple[str, ...]:
        """``quantity[i, j]`` for every entry whose difference does not expand to zero, and every
        quantity that only one side has (a derivation that forgets a gradient fails)."""
        bad = [f"{key} (not derived)" for key in self.reference if key not in self.derived]
        bad += [f"{key} (no reference)" for key in self.derived if key not in self.reference]
        for key, derived in self.derived.items():
            if key not in self.reference:
                continue
            difference = derived - self.reference[key]
            for i in range(difference.rows):
                for j in range(difference.cols):
                    if not _vanishes(difference[i, j]):
                        bad.append(f"{key}[{i},{j}]")
        return tuple(bad)

    @property
    def holds(self) -> bool:
        return not self.failures

    def __bool__(self) -> bool:
        return self.holds

    @property
    def label(self) -> str:
        """The title in words (the name when it has none)."""
        return self.title or self.name

    def outcome(self) -> str:
        """``holds``, or ``fails at N entries: W[0,0], …`` (the first three)."""
        failures = self.failures
        if not failures:
            return "holds"
        shown = ", ".join(failures[:3]) + (", …" if len(failures) > 3 else "")
        noun = "entry" if len(failures) == 1 else "entries"
        return f"fails at {len(failures)} {noun}: {shown}"

    def __repr__(self) -> str:
        """The title and the outcome on one line, never the matrices:

        >>> rnn_delta_recursion(n=1, T=2)
        Proof('RNN n=1 T=2: δ recursion', holds)
        """
        return f"Proof({self.label!r}, {self.outcome()})"

    def _repr_html_(self) -> str:
        """The proof in a notebook: its title, outcome and what was compared."""
        from ._display import proof_html

        return proof_html(self)

    def _repr_latex_(self) -> str:
        from ._display import proof_latex

        return proof_latex(self)


def _gradient(loss: sp.Expr, variables: sp.Matrix) -> sp.Matrix:
    return variables.applyfunc(lambda v: sp.diff(loss, v))


def _dims(n: int, m: int = 1, k: int = 1) -> dict[sp.Symbol, int]:
    return {dims.n: n, dims.m: m, dims.k: k}


class _RNN:
    """The RNN of eq. (1)-(3) unrolled over T steps on symbols."""

    def __init__(self, n: int, T: int, activation: str, loss: str, m: int, k: int) -> None:
        self.cell, self.readout = rnn_cell(activation), rnn_readout(loss)
        size = _dims(n, m, k)
        self.params = {
            **parameters_of_symbols(self.cell, size),
            **parameters_of_symbols(self.readout, size),
        }
        self.s0 = vector_of_symbols("s0", n)
        xs = [{"X": vector_of_symbols(f"x{t + 1}", m)} for t in range(T)]
        ys = [vector_of_symbols(f"y{t + 1}", k) for t in range(T)]
        self.steps = unroll(self.cell, self.params, xs, {"S_prev": self.s0})
        self.outputs = [
            evaluate(self.readout, {"S": s["S"], "y": y}, self.params)
            for s, y in zip(self.steps, ys, strict=True)
        ]
        self.loss = sum((sum(out["ell"]) for out in self.outputs), sp.S.Zero)
        self.k = k

    def direct(self, t: int) -> tuple[Values, Values]:
        """∂L_t/∂S_t and ∂L_t/∂V from the derived backward program of the readout (4)."""
        adjoints, grads = run_backward(
            self.readout, self.outputs[t], self.params, {"ell": sp.ones(self.k, 1)}
        )
        return {"S": adjoints["S"]}, grads


@cache
def rnn_bptt(
    n: int, T: int, activation: str = "sigmoid", loss: str = "bce", m: int = 1, k: int = 1
) -> Proof:
    """∂L/∂W, ∂L/∂U, ∂L/∂V and ∂L/∂S_0 by the derived BPTT recursion (the corrected eq. (4)-(6))
    equal the unrolled derivative of the loss (3) of the RNN (1)-(2)."""
    model = _RNN(n, T, activation, loss, m, k)
    grad_v = sp.zeros(k, n)

    def direct(t: int) -> Values:
        nonlocal grad_v
        adjoint, grads = model.direct(t)
        grad_v += grads["V"]
        return adjoint

    grads, carry = bptt(model.cell, model.steps, model.params, direct)
    derived = {"W": grads["W"], "U": grads["U"], "V": grad_v, "S_0": carry["S_prev"]}
    reference = {name: _gradient(model.loss, model.params[name]) for name in ("W", "U", "V")}
    reference["S_0"] = _gradient(model.loss, model.s0)
    title = f"{cell_title(model.cell.name, loss)} n={n} m={m} k={k} T={T}: BPTT"
    name = f"RNN[{activation}, {loss}] n={n} m={m} k={k} T={T}: BPTT"
    return Proof(name, derived, reference, title)


def rnn_delta_recursion(
    n: int,
    T: int,
    jacobian: sp.MatrixExpr | None = None,
    activation: str = "sigmoid",
    loss: str = "bce",
) -> Proof:
    """δ_t = ∂L_t/∂S_t + (∂S_{t+1}/∂S_t)ᵀ δ_{t+1} with the per-step Jacobian ``jacobian``
    (default: the derived diag(σ'(a_t)) W of eq. (7)) gives δ_0 = ∂L/∂S_0 of the unrolled loss.

    Pass another Jacobian — the article's W·σ' read as W diag(σ'(a_t)) — to see it rejected."""
    model = _RNN(n, T, activation, loss, 1, 1)
    step_jacobian = state_jacobian(model.cell, "S", "S_prev") if jacobian is None else jacobian
    delta = sp.zeros(n, 1)
    for t in reversed(range(T)):
        delta = model.direct(t)[0]["S"] + delta
        delta = to_explicit(step_jacobian, model.steps[t], model.params, _dims(n)).T * delta
    reference = _gradient(model.loss, model.s0)
    name, title = f"RNN n={n} T={T}: delta recursion", f"RNN n={n} T={T}: δ recursion"
    return Proof(name, {"S_0": delta}, {"S_0": reference}, title)


@cache
def cell_vjp(cell: Graph, n: int, T: int, m: int = 1) -> Proof:
    """The derived VJP of any cell over T steps (every parameter and initial state) equals the
    unrolled derivative of L = Σ_t Σ_out ḡ_{t,out} · out_t for symbolic cotangents ḡ.

    A linear functional of every output at every step stands for any loss, by the chain rule.
    """
    params = parameters_of_symbols(cell, _dims(n, m))
    sizes = {name: int(size.subs(_dims(n, m))) for name, size in cell.inputs}
    state_inputs = {prev for _, prev in cell.state}
    initial = {prev: vector_of_symbols(f"{prev}0", sizes[prev]) for prev in state_inputs}
    xs = [
        {
            name: vector_of_symbols(f"{name}{t + 1}", sizes[name])
            for name in cell.input_names
            if name not in state_inputs
        }
        for t in range(T)
    ]
    steps = unroll(cell, params, xs, initial)
    cotangents = [
        {out: vector_of_symbols(f"d{out}{t + 1}", steps[t][out].rows) for out in cell.outputs}
        for t in range(T)
    ]
    loss = sum(
        ((cotangents[t][out].T * steps[t][out])[0] for t in range(T) for out in cell.outputs),
        sp.S.Zero,
    )
    grads, carry = bptt(cell, steps, params, lambda t: cotangents[t])
    derived = {**grads, **{f"{prev}[0]": carry[prev] for prev in state_inputs}}
    reference = {name: _gradient(loss, value) for name, value in params.items()}
    reference |= {f"{prev}[0]": _gradient(loss, initial[prev]) for prev in state_inputs}
    title = f"{cell_title(cell.name)} n={n} m={m} T={T}: VJP"
    return Proof(f"{cell.name} n={n} m={m} T={T}: VJP", derived, reference, title)


def lstm_bptt(n: int, T: int, m: int = 1) -> Proof:
    """The derived LSTM VJP (every W_g, b_g, h_0, C_0 of eq. (8)-(13)) equals the unrolled
    derivative of L = Σ_t (ḡ_t · h_t + c̄_t · C_t) for symbolic cotangents ḡ_t, c̄_t."""
    return cell_vjp(lstm_cell(), n, T, m)


def _explicit_step(cell: Graph, n: int, m: int) -> tuple[Values, Values]:
    params = parameters_of_symbols(cell, _dims(n, m))
    inputs = {
        name: vector_of_symbols(name, int(size.subs(_dims(n, m)))) for name, size in cell.inputs
    }
    return evaluate(cell, inputs, params), params


@cache
def state_jacobian_proof(cell: Graph, n: int, m: int = 1) -> Proof:
    """Every block of the derived ∂(new state)/∂(previous state) equals ``Matrix.jacobian`` of
    the explicit step (eq. (7) for the RNN, the 2n × 2n LSTM Jacobian behind eq. (14))."""
    values, params = _explicit_step(cell, n, m)
    derived, reference = {}, {}
    for (new, _), row in zip(cell.state, jacobian_blocks(cell), strict=True):
        for (_, prev), block in zip(cell.state, row, strict=True):
            key = f"d{new}/d{prev}"
            reference[key] = values[new].jacobian(values[prev])
            derived[key] = to_explicit(block, values, params, _dims(n, m))
    title = f"{cell_title(cell.name)} n={n} m={m}: state Jacobian"
    return Proof(f"{cell.name} n={n} m={m}: state Jacobian", derived, reference, title)


@cache
def lstm_total_cell_derivative(n: int, m: int = 1) -> Proof:
    """The derived total dC_t/dC_{t-1}, with h_{t-1} = o_{t-1} ⊙ tanh(C_{t-1}) following C_{t-1},
    equals the Jacobian of the explicit C_t in C_{t-1}."""
    cell = lstm_cell()
    params = parameters_of_symbols(cell, _dims(n, m))
    c_prev, o_prev = vector_of_symbols("C_prev", n), vector_of_symbols("o_prev", n)
    h_prev = o_prev.multiply_elementwise(c_prev.applyfunc(sp.tanh))
    values = evaluate(
        cell, {"h_prev": h_prev, "C_prev": c_prev, "x": vector_of_symbols("x", m)}, params
    )
    values["o_prev"] = o_prev
    derived = to_explicit(total_cell_derivative(), values, params, _dims(n, m))
    reference = values["C"].jacobian(c_prev)
    return Proof(
        f"LSTM n={n}: total dC_t/dC_(t-1)",
        {"dC/dC_prev": derived},
        {"dC/dC_prev": reference},
        f"LSTM n={n}: total dCₜ/dCₜ₋₁",
    )


def standard_proofs() -> list[Proof]:
    """The proofs the project stands on — eq. (4)-(7) and (14) as derived — at the sizes asked for:
    RNN n ∈ {1, 2}, T ∈ {1, 2, 3}; LSTM n = 1, T ∈ {1, 2} and n = 2, T = 1."""
    proofs = [rnn_bptt(n, T) for n in (1, 2) for T in (1, 2, 3)]
    proofs += [rnn_bptt(2, 2, "tanh"), rnn_bptt(2, 2, loss="literal"), rnn_bptt(2, 2, loss="ce")]
    proofs += [rnn_bptt(2, 2, m=2, k=2), rnn_delta_recursion(2, 3)]
    proofs += [lstm_bptt(1, 1), lstm_bptt(1, 2), lstm_bptt(2, 1)]
    proofs += [state_jacobian_proof(rnn_cell(a), 2) for a in ("sigmoid", "tanh")]
    proofs += [state_jacobian_proof(lstm_cell(), n) for n in (1, 2)]
    proofs += [lstm_total_cell_derivative(n) for n in (1, 2)]
    return proofs


@dataclass(frozen=True)
class CellProofs:
    """The exact proofs of one cell's derivation (eq. (4)-(7) as derived for any cell): its VJP
    over T steps and its state Jacobian, each at small explicit sizes.  ``holds`` when every
    proof holds; ``failures`` names each wrong term as ``proof: quantity[i,j]``."""

    cell: str
    proofs: tuple[Proof, ...]

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(f"{p.name}: {entry}" for p in self.proofs for entry in p.failures)

    @property
    def holds(self) -> bool:
        return all(p.holds for p in self.proofs)

    def __bool__(self) -> bool:
        return self.holds

    def __repr__(self) -> str:
        status = "holds" if self.holds else f"FAILS at {', '.join(self.failures[:4])}"
        return f"CellProofs({self.cell}: {len(self.proofs)} proofs, {status})"

    def _repr_html_(self) -> str:
        from ._display import proofs_html

        return proofs_html(self, self.proofs)

    def _repr_latex_(self) -> str:
        from ._display import proofs_latex

        return proofs_latex(self.proofs)


def prove(
    cell: Graph,
    sizes: tuple[tuple[int, int], ...] = ((1, 1), (1, 2), (2, 1)),
    m: int = 1,
) -> CellProofs:
    """Prove the derivation of any cell exact, eq. (4)-(7) for s_t = F(s_{t-1}, x_t; θ): for each
    (n, T) in ``sizes`` the derived VJP over T steps equals the unrolled ``sympy.diff`` of
    L = Σ_t ⟨ḡ_t, s_t⟩ (every parameter and initial state), and at each n the derived state
    Jacobian equals ``Matrix.jacobian`` of the explicit step.  A readout or loss graph (no
    state) gets the VJP proofs only.

    >>> from derivations import cells
    >>> prove(cells.elman("tanh", bias=True), sizes=((2, 2),)).holds
    True
    """
    if not isinstance(cell, Graph):
        raise ValueError(f"cell must be a derivations Graph, got {type(cell).__name__}")
    bad = [s for s in sizes if len(s) != 2 or not all(isinstance(v, int) and v >= 1 for v in s)]
    if not sizes or bad:
        raise ValueError(f"sizes must be (n, T) pairs of positive integers, got {sizes!r}")
    proofs = [cell_vjp(cell, n, T, m) for n, T in sizes]
    if cell.state:
        proofs += [state_jacobian_proof(cell, n, m) for n in sorted({n for n, _ in sizes})]
    return CellProofs(cell.name, tuple(proofs))
