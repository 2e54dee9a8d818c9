"""Hypothesis strategies for a :class:`numeric.Model`: parameters, inputs, states and
cotangents at random sizes (``hypothesis.extra.numpy`` arrays of floats in [-1, 1], where the
activations do not saturate at the default sizes).

>>> from hypothesis import given, settings
>>> from derivations import cells
>>> import numeric
>>> model = numeric.Model(cells.elman("tanh", bias=True))
>>> @settings(max_examples=3)
... @given(points(model, max_T=3))
... def test_shapes(point):
...     assert point.xs.shape[0] == point.T
>>> test_shapes()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

__all__ = ["Point", "floats", "inputs", "parameters", "points", "states"]


def floats(shape: tuple[int, ...], low: float = -1.0, high: float = 1.0) -> st.SearchStrategy:
    """float64 arrays of ``shape`` with entries in [low, high] (no NaN, inf or subnormals)."""
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    return arrays(np.float64, shape, elements=elements)


def _size(expr: Any, n: int, m: int) -> int:
    expr = sp.sympify(expr)
    values = {s: {"n": n, "m": m}[s.name] for s in expr.free_symbols}
    return int(expr.subs(values))


def parameters(model: Any, n: int, m: int, k: int | None = None) -> st.SearchStrategy:
    """Every parameter of ``model`` at sizes n, m (and k), as a dict of arrays."""
    shapes = model.parameter_shapes(n, m, k)
    return st.fixed_dictionaries({name: floats(shape) for name, shape in shapes.items()})


def inputs(model: Any, T: int, B: int | None, m: int, n: int = 1) -> st.SearchStrategy:
    """The sequence input xs, (T, B, m) (or (T, m) for B None); a dict for a cell with
    several sequence inputs."""
    lead = (T,) if B is None else (T, B)
    drawn = {name: floats((*lead, _size(model.cell.sizes[name], n, m))) for name in model.sequence}
    if len(drawn) == 1:
        return next(iter(drawn.values()))
    return st.fixed_dictionaries(drawn)


def states(model: Any, n: int, B: int | None, T: int | None = None) -> st.SearchStrategy:
    """A dict keyed by the state names: (B, size) initial states, or (T, B, size)
    trajectories such as cotangents when ``T`` is given (B None: unbatched)."""
    lead = tuple(d for d in (T, B) if d is not None)
    return st.fixed_dictionaries(
        {name: floats((*lead, _size(size, n, 1))) for name, size in model.states}
    )


@dataclass
class Point:
    """One drawn call of a model: sizes, parameters, xs, state0, cotangents and targets ys."""

    n: int
    m: int
    T: int
    B: int | None
    params: dict[str, np.ndarray]
    xs: Any
    state0: dict[str, np.ndarray]
    cotangents: dict[str, np.ndarray]
    ys: np.ndarray | None


@st.composite
def points(
    draw: Any,
    model: Any,
    *,
    max_n: int = 4,
    max_m: int = 3,
    max_T: int = 5,
    max_B: int = 3,
    batched: bool | None = True,
) -> Point:
    """A :class:`Point` of ``model`` at sizes n ≤ max_n, m ≤ max_m, T ≤ max_T, B ≤ max_B
    (``batched=None`` draws batched or not); ``ys`` in [0, 1] when the model has a loss."""
    n, m = draw(st.integers(1, max_n)), draw(st.integers(1, max_m))
    T = draw(st.integers(1, max_T))
    is_batched = draw(st.booleans()) if batched is None else batched
    B = draw(st.integers(1, max_B)) if is_batched else None
    k = None
    if model.head is not None and model.readout.name != "readout[identity]":
        k = draw(st.integers(1, max_n))
    params = draw(parameters(model, n, m, k))
    ys = None
    if model.head is not None:
        width = n if k is None else k
        ys = draw(floats((T, width) if B is None else (T, B, width), 0.0, 1.0))
    return Point(
        n,
        m,
        T,
        B,
        params,
        draw(inputs(model, T, B, m, n)),
        draw(states(model, n, B)),
        draw(states(model, n, B, T)),
        ys,
    )
