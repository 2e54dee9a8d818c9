r"""The BPTT-aware check (eq. (4)-(6)): step by step through time.

At every step t, the adjoints of the outputs and affine nodes (δ_t, ā_t) against complex-step
derivatives in an offset at that step, and each step's share of every parameter gradient
against the one built from the reference adjoints — each with a tolerance relative to that
step's own scale.  A global tolerance accepts a backward pass that drops every path older than
a few steps whenever the gradient vanishes; this one does not.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from . import problem as _p
from .problem import Problem
from .references import _truncation
from .report import Report, row
from .tolerance import EPS, FLOOR, OWN, describe, eps_of, rtol_for

__all__ = ["per_step"]


def _given(label: str, given, expected: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    if given is None:
        return dict(expected)
    shaped = {k: np.zeros(v.shape) for k, v in expected.items()}
    return _p.check_gradient_arrays(given, shaped, label)


def per_step(
    problem: Problem,
    nodes: Mapping[str, np.ndarray] | None = None,
    contributions: Mapping[str, np.ndarray] | None = None,
    h: float = 1e-30,
    rtol: float | None = None,
) -> Report:
    """BPTT-aware: at every step t, the adjoints of the outputs and affine nodes (δ_t, ā_t)
    against complex-step derivatives in an offset at that step, and each step's share of every
    parameter gradient against the one built from the reference adjoints.  Tolerance:
    ``rtol`` (1e-10 in float64) × that step's own largest reference value, plus the rounding
    floor (16 ε64 + 4 ε)|L| per unit of the node (times Σ_b |operand| for a share)."""
    _p.require_problem(problem, "per_step")
    if problem.bptt is None:
        raise ValueError(
            "per_step needs the per-step data of a derived BPTT (problem.bptt, filled by "
            "numeric.Model.problem); a problem built from a plain loss has none. For a "
            "hand-written BPTT use numeric.checks.check_vjp"
        )
    bptt = problem.bptt
    nodes = _given("nodes", nodes, bptt.nodes)
    contributions = _given("contributions", contributions, bptt.contributions)
    L = _p.value(problem)
    truncation = _truncation(h, abs(L))
    rows = []
    references: dict[str, np.ndarray] = {}
    for node, adjoint in bptt.nodes.items():
        reference = np.empty(adjoint.shape)
        for t in range(adjoint.shape[0]):
            for index in np.ndindex(adjoint.shape[1:]):
                offset = np.zeros(adjoint.shape[1:], np.complex128)
                offset[index] = 1j * h
                reference[(t, *index)] = np.imag(bptt.loss_with_offsets({(node, t): offset})) / h
        references[node] = reference
        eps = eps_of(nodes[node])
        r = rtol_for(rtol, 1e-10, eps)
        # each sample b of each step t at its own scale: one sample's adjoint may be far
        # smaller than another's in the same batch
        scale = np.abs(reference).max(axis=-1)  # (T, B)
        rounding = (FLOOR * EPS + OWN * eps) * abs(L) + OWN * eps * np.abs(nodes[node])
        why = describe(r, eps, f"max |∂L/∂{node}| of that step and sample") + " + O(h²)"
        rows += [
            row(
                "per-step",
                f"∂L/∂{node}",
                index,
                t + 1,
                nodes[node][(t, *index)],
                reference[(t, *index)],
                {
                    "relative": r * scale[(t, *index[:-1])],
                    "rounding": rounding[(t, *index)],
                    "truncation": truncation,
                },
                "complex step: " + why,
            )
            for t in range(adjoint.shape[0])
            for index in np.ndindex(adjoint.shape[1:])
        ]
    shares, magnitude = {}, {}
    for w, (node, operand) in bptt.outer.items():
        shares[w] = np.einsum("tbi,tbj->tij", references[node], operand)
        size = references[node].shape[-1]
        magnitude[w] = np.broadcast_to(
            np.abs(operand).sum(axis=1)[:, None, :], (operand.shape[0], size, operand.shape[-1])
        )
    for b, node in bptt.bias.items():
        shares[b] = references[node].sum(axis=1)
        magnitude[b] = np.full(shares[b].shape, references[node].shape[1], dtype=float)
    for name, share in shares.items():
        eps = eps_of(contributions[name])
        r = rtol_for(rtol, 1e-10, eps)
        rounding = (FLOOR * EPS + OWN * eps) * abs(L) * magnitude[name] + OWN * eps * np.abs(
            contributions[name]
        )
        for t in range(share.shape[0]):
            relative = r * np.abs(share[t]).max(initial=0)
            why = (
                f"step t={t + 1}'s share of ∂L/∂{name}: {r:g} × its own max + rounding "
                f"({FLOOR:g}ε64 + {OWN:g}ε)|L| Σ_b|operand| + {OWN:g}ε|share|"
            )
            rows += [
                row(
                    "per-step",
                    name,
                    index,
                    t + 1,
                    contributions[name][(t, *index)],
                    share[(t, *index)],
                    {
                        "relative": relative,
                        "rounding": rounding[(t, *index)],
                        "truncation": truncation,
                    },
                    why,
                )
                for index in np.ndindex(share.shape[1:])
            ]
    return Report("per-step", tuple(rows))
