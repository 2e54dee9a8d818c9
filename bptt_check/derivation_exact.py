r"""Exact proofs of one-step identities of a derivation file, at small explicit sizes.

A definition of a cell's node (S_t = σ(W S_{t-1} + U X_t), eq. (1); f_t = σ(W_f [h_{t-1}; x_t]
+ b_f), eq. (9)) is an identity in the step's inputs and parameters: both sides are built as
SymPy matrices of expressions in symbols (one per entry of h_{t-1}, x_t, W_f, …; n = m = 2,
:mod:`derivations.explicit`) and their difference is expanded to zero — a proof, not a sample.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from derivations import dims
from derivations.explicit import evaluate, parameters_of_symbols, vector_of_symbols
from derivations.graph import Graph
from derivations.reading import tree

from .derivation_file import Derivation, parse_index

__all__ = ["SIZES", "prove_definition"]

SIZES = {dims.n: 2, dims.m: 2, dims.k: 2}
_FUNCTIONS = {"sigma": None, "tanh": sp.tanh, "exp": sp.exp, "log": sp.log}
_NAMES = {r"\sigma": "sigma", r"\delta": "sigma", r"\tanh": "tanh", r"\exp": "exp",
          r"\log": "log"}  # fmt: skip


class NotOneStep(ValueError):
    """The statement is not an identity of one step (it reaches beyond t-1 or names the loss)."""


@cache
def _step(cell: Graph) -> tuple[dict, dict, dict]:
    """Symbols for one step of ``cell``: inputs, parameters, and every node's explicit value."""
    params = parameters_of_symbols(cell, SIZES)
    sizes = {name: int(sp.sympify(size).subs(SIZES)) for name, size in cell.inputs}
    inputs = {name: vector_of_symbols(name, size) for name, size in sizes.items()}
    return inputs, params, evaluate(cell, inputs, params)


def _value(node: tree.Node, derivation: Derivation) -> sp.Matrix:
    from derivations.activations import sigma

    inputs, params, values = _step(derivation.cell)
    previous = {new: prev for new, prev in derivation.cell.state}
    if isinstance(node, tree.Sym):
        binding = derivation.bind(node)
        if binding.kind == "param":
            return params[binding.name]
        if binding.kind != "node" or binding.unit != "cell" or node.sub is None:
            raise NotOneStep(f"{node.name} is not a quantity of one step of the cell")
        var, offset = parse_index(node.sub)
        if var != "t" or offset not in (0, -1):
            raise NotOneStep(f"{node.name} is not at step t or t-1")
        if offset == -1:
            if binding.name not in previous:
                raise NotOneStep(f"{node.name}: only the states have a value at t-1")
            return inputs[previous[binding.name]]
        name = binding.name
        return values[name] if name in values else inputs[name]
    if isinstance(node, tree.Num):
        return sp.Matrix([[sp.nsimplify(node.text)]])
    if isinstance(node, tree.Call):
        fn = derivation.symbols.get(node.fn, _NAMES.get(node.fn, node.fn))
        arg = _value(node.arg, derivation)
        if fn == "diag":
            return sp.diag(*arg)
        if fn not in _FUNCTIONS or node.primes:
            raise NotOneStep(f"{node.fn}: no exact form here")
        f = sigma if fn == "sigma" else _FUNCTIONS[fn]
        return arg.applyfunc(f)
    if isinstance(node, tree.Prod):
        a, b = _value(node.left, derivation), _value(node.right, derivation)
        if node.op == "had":
            return a.multiply_elementwise(b) if a.shape == b.shape else _scale(a, b)
        if a.shape == (1, 1) or b.shape == (1, 1):
            return _scale(a, b)
        return a * b
    if isinstance(node, tree.Add):
        out = None
        for sign, term in node.terms:
            value = sign * _value(term, derivation)
            out = value if out is None else _add(out, value)
        return out
    if isinstance(node, tree.Pow) and isinstance(node.exp, int):
        return _value(node.base, derivation).applyfunc(lambda x: x**node.exp)
    if isinstance(node, tree.Transpose):
        return _value(node.arg, derivation).T
    if isinstance(node, tree.Concat):
        return sp.Matrix.vstack(*(_value(part, derivation) for part in node.parts))
    raise NotOneStep(f"{type(node).__name__}: not a one-step expression")


def _scale(a: sp.Matrix, b: sp.Matrix) -> sp.Matrix:
    return b * a[0, 0] if a.shape == (1, 1) else a * b[0, 0]


def _add(a: sp.Matrix, b: sp.Matrix) -> sp.Matrix:
    if a.shape == b.shape:
        return a + b
    if a.shape == (1, 1):
        return b.applyfunc(lambda x: x + a[0, 0])
    if b.shape == (1, 1):
        return a.applyfunc(lambda x: x + b[0, 0])
    raise NotOneStep(f"shapes {a.shape} and {b.shape} do not add")


def prove_definition(derivation: Derivation, lhs: tree.Node, rhs: tree.Node) -> bool | None:
    """Whether ``lhs = rhs`` holds exactly for one step at n = m = 2 (None: not a one-step
    identity, so no proof applies)."""
    try:
        a, b = _value(lhs, derivation), _value(rhs, derivation)
    except NotOneStep:
        return None
    if a.shape != b.shape:
        return False
    return all(sp.expand(x - y) == 0 for x, y in zip(a, b, strict=True))
