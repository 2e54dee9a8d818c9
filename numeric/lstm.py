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

from derivations.lstm import GATES, lstm_cell

from . import _jacobian
from ._engine import Trace, plan
from ._pool import Pool, scratch
from ._validation import Sizes, check_array, check_params, is_batched
from .checks import Problem

__all__ = ["PARAMETERS", "forward", "problem", "state_jacobians", "vjp"]

#: Parameter names and shapes, in the article's order.
PARAMETERS: dict[str, tuple[str, ...]] = {
    **{f"W_{g}": ("n", "n+m") for g in GATES},
    **{f"b_{g}": ("n",) for g in GATES},
}


def _inputs(params: Any, xs: Any, h0: Any, c0: Any, *, allow_complex: bool = False):
    sizes = Sizes()
    batched = is_batched("xs", xs, ("(T, B, m)", "(T, m)"))
    x = check_array(
        "xs", xs, ("T", "B", "m") if batched else ("T", "m"), sizes, allow_complex=allow_complex
    )
    state = ("B", "n") if batched else ("n",)
    h = check_array("h0", h0, state, sizes, allow_complex=allow_complex)
    c = check_array("c0", c0, state, sizes, allow_complex=allow_complex)
    sizes["n+m"] = sizes["n"] + sizes["m"]
    p = check_params(params, PARAMETERS, sizes, allow_complex=allow_complex)
    if not batched:
        x, h, c = x[:, None, :], h[None, :], c[None, :]
    return p, x, h, c, batched, sizes


def _run(p: dict, x: np.ndarray, h: np.ndarray, c: np.ndarray, pool: Pool | None = None) -> Trace:
    return plan(lstm_cell()).forward(p, {"x": x}, {"h_prev": h, "C_prev": c}, pool=pool)


def forward(params: dict, xs: Any, h0: Any, c0: Any) -> tuple[np.ndarray, np.ndarray]:
    """Hidden states H and cell states C, each (T, B, n), of eq. (8)-(13)."""
    p, x, h, c, batched, _ = _inputs(params, xs, h0, c0, allow_complex=True)
    values = _run(p, x, h, c).values
    H, C = values["h"], values["C"]
    return (H, C) if batched else (H[:, 0], C[:, 0])


def _vjp(
    p: dict,
    trace: Trace,
    dH: np.ndarray,
    dC: np.ndarray | None,
    per_step: bool = False,
    pool: Pool | None = None,
):
    cotangents = {"h": dH} if dC is None else {"h": dH, "C": dC}
    back = plan(lstm_cell()).backward(p, trace, cotangents, per_step=per_step, pool=pool)
    return {**back.grads, "h0": back.adjoints["h_prev"], "c0": back.adjoints["C_prev"]}, back


def vjp(params: dict, xs: Any, h0: Any, c0: Any, dH: Any, dC: Any = None) -> dict[str, np.ndarray]:
    """Gradients of Σ dH·H (+ Σ dC·C) by the derived BPTT: every W_g, b_g, and "h0", "c0"."""
    p, x, h, c, batched, sizes = _inputs(params, xs, h0, c0)
    spec = ("T", "B", "n") if batched else ("T", "n")
    gH = check_array("dH", dH, spec, sizes)
    gC = None if dC is None else check_array("dC", dC, spec, sizes)
    if not batched:
        gH = gH[:, None, :]
        gC = None if gC is None else gC[:, None, :]
    with scratch() as pool:  # the trace and per-step adjoints live only inside this call
        grads, _ = _vjp(p, _run(p, x, h, c, pool), gH, gC, pool=pool)
    if not batched:
        grads["h0"], grads["c0"] = grads["h0"][0], grads["c0"][0]
    return grads


def state_jacobians(params: dict, xs: Any, h0: Any, c0: Any) -> np.ndarray:
    """∂(C_t, h_t)/∂(C_{t-1}, h_{t-1}) for every t, (T, B, 2n, 2n), blocks ordered (C, h)."""
    p, x, h, c, batched, _ = _inputs(params, xs, h0, c0)
    J = _jacobian.state_jacobians(lstm_cell(), p, _run(p, x, h, c))
    return J if batched else J[:, 0]


def problem(params: dict, xs: Any, h0: Any, c0: Any, dH: Any, dC: Any = None) -> Problem:
    """L = Σ dH·H (+ Σ dC·C) at this point as a :class:`numeric.checks.Problem`: every W_g,
    b_g and h0, c0 (batched, (B, n)) with the derived VJP and per-step adjoints (eq. (8)-(13))."""
    p, x, h, c, batched, sizes = _inputs(params, xs, h0, c0)
    spec = ("T", "B", "n") if batched else ("T", "n")
    gH = check_array("dH", dH, spec, sizes)
    gC = np.zeros_like(gH) if dC is None else check_array("dC", dC, spec, sizes)
    if not batched:
        gH, gC = gH[:, None, :], gC[:, None, :]

    def loss_of(arrays, offsets=None):
        weights = {k: arrays[k] for k in PARAMETERS}
        trace = plan(lstm_cell()).forward(
            weights, {"x": x}, {"h_prev": arrays["h0"], "C_prev": arrays["c0"]}, offsets
        )
        return (gH * trace.values["h"]).sum() + (gC * trace.values["C"]).sum()

    def gradient_of(arrays):
        weights = {k: arrays[k] for k in PARAMETERS}
        return _vjp(weights, _run(weights, x, arrays["h0"], arrays["c0"]), gH, gC)[0]

    point = {**p, "h0": h, "c0": c}
    trace = _run(p, x, h, c)
    gradient, back = _vjp(p, trace, gH, gC, per_step=True)
    outer, bias = plan(lstm_cell()).references(trace)
    return Problem(
        "lstm",
        point,
        loss_of,
        gradient,
        gradient_of,
        lambda offsets: loss_of(point, offsets),
        back.nodes,
        back.contributions,
        outer,
        bias,
    )
