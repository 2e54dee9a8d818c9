r"""The evidence of a derivation file's verdicts: the counterexample point, the exact proofs
(the cell's state Jacobian, eq. (7) and (14); a definition of a node, one step), and the
confirmation of a gradient against :class:`numeric.Model` (:mod:`bptt_check.claims_derivation`).
"""

from __future__ import annotations

from functools import cache

import mpmath
import numpy as np

from derivations import cells
from derivations.graph import Affine, Graph
from derivations.proofs import state_jacobian_proof
from derivations.reading import tree
from numeric import Model

from .claims_common import symbol
from .derivation_exact import prove_definition
from .derivation_file import Derivation
from .derivation_values import difference
from .derivation_world import World
from .evidence import Example, Proofs, Proved, Quantity, confirm

__all__ = ["cell_proofs", "counterexample", "exact_definition", "gradient_check"]

DIGITS = 30


def _number(value) -> object:
    if value is None:
        return None
    if isinstance(value, mpmath.matrix):
        rows = [[float(value[i, j]) for j in range(value.cols)] for i in range(value.rows)]
        return rows[0][0] if value.rows * value.cols == 1 else rows
    return 0.0  # ZERO


def _entries(value) -> list:
    if isinstance(value, mpmath.matrix):
        return [value[i, j] for i in range(value.rows) for j in range(value.cols)]
    return []


def _mp_pair(lhs, rhs) -> tuple[str | None, str | None]:
    """Both sides at the entry where they differ most, at 30 digits (the largest entry of each
    when their shapes do not compare entry by entry)."""
    a, b = _entries(lhs), _entries(rhs)
    with mpmath.workdps(DIGITS):
        if not a or not b:
            pick = [max(x, key=abs) if x else None for x in (a, b)]
        else:
            if len(a) == len(b):
                pairs = list(zip(a, b, strict=True))
            elif len(a) == len(b) ** 2:  # a Jacobian against a vector read as its diagonal
                size = len(b)
                pairs = [(a[i * size + j], b[i] if i == j else 0) for i in range(size)
                         for j in range(size)]  # fmt: skip
            else:
                pairs = [(max(a, key=abs), max(b, key=abs))]
            pick = list(max(pairs, key=lambda p: abs(p[0] - p[1])))
        return tuple(None if v is None else mpmath.nstr(mpmath.mpf(v), DIGITS) for v in pick)


def counterexample(world: World, t: int, lhs_value, rhs_value, labels, title: str) -> Example:
    """The point where the sides differ: its parameters, inputs, both sides (30 digits at the
    entry where they differ most) and the reading compared."""
    params = tuple(
        Quantity(name, [[float(v) for v in row] for row in value], symbol(name), "parameter")
        for name, value in world.params.items()
    )
    inputs = (
        Quantity("sizes", dict(world.dims), "n, m, k", "sizes"),
        Quantity("T", world.T, "T", "time steps"),
        Quantity("t", t, "t", "the step the equation's t is read at"),
        Quantity("seed", world.seed, "", "seed of the point"),
        Quantity(
            "xs",
            [[float(v) for v in step[name]] for step in world.xs for name in step],
            "x_1, \\dots, x_T",
            "inputs",
        ),  # fmt: skip
        Quantity(
            "initial",
            {k: [float(v) for v in vec] for k, vec in world.init.items()},
            "s_0",
            "initial states",
        ),  # fmt: skip
    )
    diff = difference(lhs_value, rhs_value)
    mp_lhs, mp_rhs = _mp_pair(lhs_value, rhs_value)
    quantities = (
        Quantity(
            "lhs",
            _number(lhs_value),
            "\\text{left}",
            "the left-hand side, as written",
            mpmath=mp_lhs,
        ),  # fmt: skip
        Quantity(
            "rhs",
            _number(rhs_value),
            "\\text{right}",
            "the right-hand side, first reading",
            mpmath=mp_rhs,
        ),  # fmt: skip
        Quantity(
            "difference",
            float("inf") if diff is None else diff,
            r"\max|\Delta|",
            "largest difference (inf: the shapes differ)",
        ),  # fmt: skip
        Quantity("reading", "; ".join(labels) or "as written", "", "the reading compared"),
    )
    return Example("point", title, f"{world.cell.name}, n = {world.dims['n']}, T = {world.T}",
                   params=params, inputs=inputs, quantities=quantities)  # fmt: skip


@cache
def cell_proofs(cell: Graph) -> Proofs:
    """The exact proof of the cell's derivation at n = 2 (m = 1): its derived state Jacobian
    equals SymPy's Jacobian of the cell, so the derived quantities the checks rest on are
    exact."""
    jac = state_jacobian_proof(cell, 2)
    statement = "the derived state Jacobian equals SymPy's Jacobian of the cell"
    return Proofs("exact_proofs", (Proved(jac.name, statement, {"n": 2, "m": 1}, jac.holds),))


def exact_definition(
    derivation: Derivation, lhs: tree.Node, sides: list, holds: bool
) -> Proofs | None:
    """The exact proof of a one-step identity (a definition of a node of the cell), which must
    agree with the numbers: a disagreement raises ConfirmationError."""
    if not isinstance(lhs, tree.Sym):
        return None
    proved = [prove_definition(derivation, lhs, side) for side in sides]
    if any(p is None for p in proved):
        return None
    proven = all(proved)
    confirm(proven == holds,
            f"{lhs.name}: the exact proof ({proven}) and the 50-digit check disagree")  # fmt: skip
    statement = "the right-hand side equals the cell's node entry by entry, for symbolic inputs "
    statement += "and parameters (one step, expanded to zero)"
    return Proofs("exact_definition", (Proved(f"{lhs.name}: one step", statement,
                                              {"n": 2, "m": 2}, proven),))  # fmt: skip


def gradient_check(derivation: Derivation, lhs: tree.Node, world: World) -> tuple:
    """For ∂L/∂θ: the 50-digit total derivative confirmed by central differences of
    numeric.Model's compiled loss (an independent forward pass; a disagreement raises
    ConfirmationError), and compared with numeric.Model's derived BPTT (float64), whose
    difference is reported as evidence."""
    if derivation.head is None or not isinstance(lhs, tree.Deriv):
        return ()
    if not (isinstance(lhs.num, tree.Sym) and isinstance(lhs.den, tree.Sym)):
        return ()
    num, den = derivation.bind(lhs.num), derivation.bind(lhs.den)
    if num.kind != "loss" or lhs.num.sub is not None or den.kind != "param":
        return ()
    from .derivation_world import Quantity as Q

    exact = world.jacobian(Q("loss"), Q("param", den.name), "total")
    model = Model(derivation.cell, cells.readout(derivation.readout), cells.loss(derivation.loss))
    params = {k: np.array([[float(v) for v in row] for row in value]) for k, value in
              world.params.items()}  # fmt: skip
    params = {k: v[:, 0] if k in _biases(derivation) else v for k, v in params.items()}
    xs = np.array([[float(v) for name in step for v in step[name]] for step in world.xs])
    ys = np.array([[float(v) for v in y] for y in world.ys])
    state0 = {new: np.array([float(v) for v in world.init[prev]])
              for new, prev in derivation.cell.state}  # fmt: skip
    reference = np.array([float(v) for v in exact[0]])
    step = 1e-6
    shape = params[den.name].shape
    central = []
    for index in range(reference.size):
        sides = []
        for sign in (1, -1):
            moved = {k: v.copy() for k, v in params.items()}
            moved[den.name].reshape(-1)[index] += sign * step
            sides.append(model.loss_value(moved, xs, ys, state0))
        central.append((sides[0] - sides[1]) / (2 * step))
    central = np.array(central)
    scale = max(1.0, float(np.abs(reference).max()))
    error = float(np.abs(central - reference).max())
    confirm(error <= 1e-6 * scale, f"∂L/∂{den.name}: central differences of numeric.Model's "
            f"loss {central} against the 50-digit derivative {reference}")  # fmt: skip
    _, grads, _ = model.value_and_grad(params, xs, ys, state0)
    derived = np.asarray(grads[den.name], dtype=float).reshape(shape).ravel()
    return (
        Quantity("central_difference_check", error, r"\max|\Delta|",
                 f"∂L/∂{den.name}: central differences (step 1e-6) of numeric.Model's compiled "
                 "loss against the 50-digit total derivative"),
        Quantity("derived_bptt_difference", float(np.abs(derived - reference).max()),
                 r"\max|\Delta|", f"∂L/∂{den.name}: numeric.Model's derived BPTT (float64) "
                 "against the 50-digit total derivative"),
    )  # fmt: skip


def _biases(derivation: Derivation) -> set[str]:
    """Parameters that are vectors (numeric.Model takes them as 1-d arrays)."""
    out = set()
    for graph in (derivation.cell, derivation.head):
        for step in graph.steps:
            if isinstance(step, Affine) and step.bias is not None:
                out.add(step.bias)
    return out
