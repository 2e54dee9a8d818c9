"""Numeric state Jacobians ∂s_t/∂s_{t-1} from the derived dimension-free terms (eq. (7), (14)).

Each block is Σ diag(c) · tail, with c a compiled elementwise kernel and the tail a product of
weight blocks and diagonals (:func:`derivations.adjoint.jacobian_terms`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import numpy as np
import sympy as sp

from derivations.adjoint import jacobian_terms
from derivations.graph import Graph
from derivations.matrices import Diag, WeightBlock

from ._engine import Plan, Trace, plan
from ._kernels import Kernel

__all__ = ["product_norms", "state_jacobians"]


@cache
def _compiled(graph: Graph) -> tuple:
    blocks = []
    for new, _ in graph.state:
        row = []
        for _, prev in graph.state:
            terms = jacobian_terms(graph, new, prev)
            coefficients = (
                Kernel.build({f"c{i}": c for i, (c, _) in enumerate(terms)}) if terms else None
            )
            diagonals = {
                factor: Kernel.build({"d": factor.expr})
                for _, tail in terms
                for factor in tail
                if isinstance(factor, Diag)
            }
            row.append((terms, coefficients, diagonals))
        blocks.append(row)
    return tuple(blocks)


def _factor(
    factor: sp.MatrixExpr,
    params: Mapping[str, np.ndarray],
    sizes: Mapping[str, int],
    values: Mapping[str, np.ndarray],
    diagonals: Mapping,
) -> tuple[str, np.ndarray]:
    if isinstance(factor, WeightBlock):
        return "matrix", Plan.block(params, sizes, factor.name, factor.operands, factor.index)
    if isinstance(factor, sp.MatrixSymbol):
        return "matrix", params[factor.name]
    if isinstance(factor, Diag):
        return "diag", diagonals[factor](values)["d"]
    raise TypeError(f"unexpected Jacobian factor {factor}")


def state_jacobians(graph: Graph, params: Mapping[str, np.ndarray], trace: Trace) -> np.ndarray:
    """(T, B, N, N) with N the total state size: entry t is ∂s_t/∂s_{t-1}, blocks in state order."""
    trace = plan(graph).laid_out(trace, params)
    values, sizes = trace.values, trace.sizes
    T, B = next(iter(values.values())).shape[:2]
    rows = []
    for (new, _), row in zip(graph.state, _compiled(graph), strict=True):
        blocks = []
        for (_, prev), (terms, coefficients, diagonals) in zip(graph.state, row, strict=True):
            dtype = np.result_type(*values.values())
            block = np.zeros((T, B, sizes[new], sizes[prev]), dtype)
            c = coefficients(values) if coefficients else {}
            for i, (_, tail) in enumerate(terms):
                product = np.eye(sizes[prev]) if not tail else None
                for factor in reversed(tail):
                    kind, array = _factor(factor, params, sizes, values, diagonals)
                    if product is None:
                        product = (
                            array[..., :, None] * np.eye(array.shape[-1])
                            if kind == "diag"
                            else array
                        )
                    elif kind == "diag":  # a constant diagonal (0-d) scales the product
                        product = (array[..., :, None] if array.ndim else array) * product
                    else:
                        product = array @ product
                # a constant coefficient (the 1 of the 1997 LSTM's C_{t-1}) is a 0-d array
                coefficient = np.broadcast_to(c[f"c{i}"], (T, B, sizes[new]))
                block = block + coefficient[..., :, None] * product
            blocks.append(block)
        rows.append(np.concatenate(blocks, axis=-1))
    return np.concatenate(rows, axis=-2)


def product_norms(J: np.ndarray) -> np.ndarray:
    """‖J_t ⋯ J_1‖₂ for t = 1..T from unbatched step Jacobians J (T, N, N): the growth of
    ∂s_t/∂s_0 along a trajectory (eq. (5)-(7), (14))."""
    product, norms = np.eye(J.shape[-1]), []
    for step in J:
        product = step @ product
        norms.append(np.linalg.norm(product, 2))
    return np.array(norms)
