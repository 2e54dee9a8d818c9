"""The article's LSTM, eq. (8)-(13), as array functions generated from :mod:`derivations`.

    i_t = σ(W_i [h_{t-1}; x_t] + b_i)      (8)     f_t = σ(W_f [h_{t-1}; x_t] + b_f)   (9)
    C̃_t = tanh(W_c [h_{t-1}; x_t] + b_c)   (10)    C_t = i_t ⊙ C̃_t + f_t ⊙ C_{t-1}     (11)
    o_t = σ(W_o [h_{t-1}; x_t] + b_o)      (12)    h_t = o_t ⊙ tanh(C_t)               (13)

Shapes: W_g (n, n+m) acting on [h; x], b_g (n,); xs (T, B, m); h0, c0 (B, n).  Unbatched
xs (T, m) with h0, c0 (n,) give unbatched results.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> params = {f"W_{g}": rng.normal(size=(4, 7)) / 3 for g in "ifco"}
>>> params |= {f"b_{g}": np.zeros(4) for g in "ifco"}
>>> xs, h0, c0 = rng.normal(size=(6, 3)), np.zeros(4), np.zeros(4)
>>> H, C = forward(params, xs, h0, c0)
>>> grads = vjp(params, xs, h0, c0, dH=np.ones_like(H))
>>> grads["W_f"].shape, grads["c0"].shape
((4, 7), (4,))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from derivations import cells
from derivations.lstm import GATES

from .checks import Problem
from .model import Model

__all__ = ["PARAMETERS", "forward", "model", "problem", "state_jacobians", "vjp"]

#: Parameter names and shapes, in the article's order.
PARAMETERS: dict[str, tuple[str, ...]] = {
    **{f"W_{g}": ("n", "n+m") for g in GATES},
    **{f"b_{g}": ("n",) for g in GATES},
}

#: Eq. (8)-(13) as a :class:`numeric.Model` (``cells.lstm()``); the functions of this module
#: are its methods under the article's argument names.
model = Model(
    cells.lstm(),
    labels={
        "state0['h']": "h0",
        "state0['C']": "c0",
        "cotangents['h']": "dH",
        "cotangents['C']": "dC",
    },
)


def forward(
    params: dict, xs: Any, h0: Any, c0: Any, *, backend: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Hidden states H and cell states C, each (T, B, n), of eq. (8)-(13); ``backend`` as in
    :class:`numeric.Model`."""
    states = model.forward(params, xs, {"h": h0, "C": c0}, backend=backend)
    return states["h"], states["C"]


def _cotangents(dH: Any, dC: Any) -> dict[str, Any]:
    return {"h": dH} if dC is None else {"h": dH, "C": dC}


def vjp(
    params: dict,
    xs: Any,
    h0: Any,
    c0: Any,
    dH: Any,
    dC: Any = None,
    *,
    backend: str | None = None,
) -> dict[str, np.ndarray]:
    """Gradients of Σ dH·H (+ Σ dC·C) by the derived BPTT: every W_g, b_g, and "h0", "c0";
    ``backend`` as in :class:`numeric.Model`."""
    grads, initial = model.vjp(params, xs, {"h": h0, "C": c0}, _cotangents(dH, dC), backend=backend)
    return {**grads, "h0": initial["h"], "c0": initial["C"]}


def state_jacobians(params: dict, xs: Any, h0: Any, c0: Any) -> np.ndarray:
    """∂(C_t, h_t)/∂(C_{t-1}, h_{t-1}) for every t, (T, B, 2n, 2n), blocks ordered (C, h)."""
    return model.state_jacobians(params, xs, {"h": h0, "C": c0})


def problem(params: dict, xs: Any, h0: Any, c0: Any, dH: Any, dC: Any = None) -> Problem:
    """L = Σ dH·H (+ Σ dC·C) at this point as a :class:`numeric.checks.Problem`: every W_g,
    b_g and h0, c0 (batched, (B, n)) with the derived VJP and per-step adjoints (eq. (8)-(13))."""
    return model.problem(
        params,
        xs,
        {"h": h0, "C": c0},
        cotangents=_cotangents(dH, dC),
        names={"h": "h0", "C": "c0"},
        name="lstm",
    )
