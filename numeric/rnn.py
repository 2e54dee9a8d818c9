"""The article's RNN, eq. (1)-(3), as array functions generated from :mod:`derivations`.

    S_t = act(W S_{t-1} + U X_t)          (1)   act = σ (the article's δ) or tanh
    O_t = σ(V S_t)                         (2)
    L   = Σ_t Σ_b Σ_j ℓ(O_tbj, y_tbj)      (3)   ℓ = binary cross-entropy by default

Shapes: params {"W": (n, n), "U": (n, m), "V": (k, n)}; xs (T, B, m); s0 (B, n); ys (T, B, k).
Unbatched xs (T, m), s0 (n,), ys (T, k) give unbatched results.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> params = {"W": rng.normal(size=(3, 3)) / 3, "U": rng.normal(size=(3, 2)),
...           "V": rng.normal(size=(1, 3))}
>>> xs, ys, s0 = rng.normal(size=(5, 2)), rng.uniform(size=(5, 1)), np.zeros(3)
>>> L, grads = value_and_grad(params, xs, ys, s0)
>>> sorted(grads), grads["W"].shape
(['U', 'V', 'W', 's0'], (3, 3))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from derivations.rnn import ACTIVATIONS, LOSSES, rnn_cell, rnn_readout

from . import _jacobian
from ._engine import Trace, plan
from ._pool import Pool, scratch
from ._validation import Sizes, check_array, check_choice, check_params, is_batched
from .checks import Problem

__all__ = ["forward", "loss_value", "problem", "state_jacobians", "value_and_grad"]

_PARAMS = {"W": ("n", "n"), "U": ("n", "m"), "V": ("k", "n")}


_choice = check_choice
_NO_TARGETS = object()


def _inputs(
    params: Any,
    xs: Any,
    s0: Any,
    ys: Any = _NO_TARGETS,
    *,
    allow_complex: bool = False,
    with_readout: bool = True,
):
    sizes = Sizes()
    cell = {k: v for k, v in _PARAMS.items() if k != "V"}
    if with_readout:
        p = check_params(params, _PARAMS, sizes, allow_complex=allow_complex)
    else:  # the state Jacobians need no readout: V may be given, and is then checked too
        p = check_params(
            params, cell, sizes, allow_complex=allow_complex, optional={"V": _PARAMS["V"]}
        )
    batched = is_batched("xs", xs, ("(T, B, m)", "(T, m)"))
    x = check_array(
        "xs", xs, ("T", "B", "m") if batched else ("T", "m"), sizes, allow_complex=allow_complex
    )
    s = check_array("s0", s0, ("B", "n") if batched else ("n",), sizes, allow_complex=allow_complex)
    y = None
    if ys is not _NO_TARGETS:
        y = check_array(
            "ys", ys, ("T", "B", "k") if batched else ("T", "k"), sizes, allow_complex=allow_complex
        )
        if y.dtype.kind == "f" and (np.any(y < 0) or np.any(y > 1)):
            raise ValueError("ys must be targets in [0, 1]")
    if not batched:
        x, s = x[:, None, :], s[None, :]
        y = None if y is None else y[:, None, :]
    return p, x, s, y, batched


def _run(p: dict, x: np.ndarray, s: np.ndarray, activation: str, pool: Pool | None = None) -> Trace:
    return plan(rnn_cell(activation)).forward(p, {"X": x}, {"S_prev": s}, pool=pool)


def _readout(
    p: dict, S: np.ndarray, y: np.ndarray, loss: str, pool: Pool | None = None
) -> tuple[Trace, tuple]:
    T, B, n = S.shape
    flat = {"S": S.reshape(1, T * B, n), "y": y.reshape(1, T * B, -1)}
    return plan(rnn_readout(loss)).forward(p, flat, {}, pool=pool), (T, B)


def forward(params: dict, xs: Any, s0: Any, activation: str = "sigmoid"):
    """States S (T, B, n) and outputs O (T, B, k) of eq. (1)-(2)."""
    _choice("activation", activation, ACTIVATIONS)
    p, x, s, _, batched = _inputs(params, xs, s0)
    S = _run(p, x, s, activation).values["S"]
    targets = np.zeros((*S.shape[:2], p["V"].shape[0]))  # O_t does not depend on the targets
    readout, _ = _readout(p, S, targets, "bce")
    outputs = readout.values["O"].reshape(*S.shape[:2], -1)
    return (S, outputs) if batched else (S[:, 0], outputs[:, 0])


def _value_and_grad(
    p: dict,
    x: np.ndarray,
    s: np.ndarray,
    y: np.ndarray,
    loss: str,
    activation: str,
    per_step: bool = False,
):
    with scratch() as pool:  # nothing borrowed leaves: per-step results are fresh arrays
        lend = None if per_step else pool
        cell = plan(rnn_cell(activation))
        trace = _run(p, x, s, activation, lend)
        readout, (T, B) = _readout(p, trace.values["S"], y, loss, lend)
        L = readout.values["ell"].sum()
        ones = np.ones_like(readout.values["ell"])
        read = plan(rnn_readout(loss)).backward(p, readout, {"ell": ones}, wanted=("S",), pool=lend)
        direct = read.adjoints["S"].reshape(T, B, -1)  # ∂L_t/∂S_t
        back = cell.backward(p, trace, {"S": direct}, per_step=per_step, pool=lend)
    grads = {"W": back.grads["W"], "U": back.grads["U"], "V": read.grads["V"]}
    grads["s0"] = back.adjoints["S_prev"]
    return L, grads, back


def value_and_grad(
    params: dict, xs: Any, ys: Any, s0: Any, loss: str = "bce", activation: str = "sigmoid"
):
    """Loss (3) and its gradient by the derived BPTT: keys "W", "U", "V", "s0"."""
    _choice("loss", loss, LOSSES)
    _choice("activation", activation, ACTIVATIONS)
    p, x, s, y, batched = _inputs(params, xs, s0, ys)
    L, grads, _ = _value_and_grad(p, x, s, y, loss, activation)
    if not batched:
        grads["s0"] = grads["s0"][0]
    return float(L), grads


def loss_value(
    params: dict, xs: Any, ys: Any, s0: Any, loss: str = "bce", activation: str = "sigmoid"
):
    """Loss (3) alone; also accepts complex128 or mpmath arrays (complex step, high precision)."""
    _choice("loss", loss, LOSSES)
    _choice("activation", activation, ACTIVATIONS)
    p, x, s, y, _ = _inputs(params, xs, s0, ys, allow_complex=True)
    trace = _run(p, x, s, activation)
    readout, _ = _readout(p, trace.values["S"], y, loss)
    return readout.values["ell"].sum()


def state_jacobians(params: dict, xs: Any, s0: Any, activation: str = "sigmoid") -> np.ndarray:
    """∂S_t/∂S_{t-1} for every t, (T, B, n, n): diag(act'(a_t)) W as derived (eq. (7))."""
    _choice("activation", activation, ACTIVATIONS)
    p, x, s, _, batched = _inputs(params, xs, s0, with_readout=False)
    J = _jacobian.state_jacobians(rnn_cell(activation), p, _run(p, x, s, activation))
    return J if batched else J[:, 0]


def problem(
    params: dict, xs: Any, ys: Any, s0: Any, loss: str = "bce", activation: str = "sigmoid"
) -> Problem:
    """The loss (3) at this point as a :class:`numeric.checks.Problem`: the arrays W, U, V, s0
    (s0 batched, (B, n)) with the derived gradient and per-step adjoints of eq. (5)-(6)."""
    _choice("loss", loss, LOSSES)
    _choice("activation", activation, ACTIVATIONS)
    p, x, s, y, _ = _inputs(params, xs, s0, ys)

    def loss_of(arrays, offsets=None):
        weights = {k: arrays[k] for k in _PARAMS}
        trace = plan(rnn_cell(activation)).forward(
            weights, {"X": x}, {"S_prev": arrays["s0"]}, offsets
        )
        return _readout(weights, trace.values["S"], y, loss)[0].values["ell"].sum()

    def gradient_of(arrays):
        weights = {k: arrays[k] for k in _PARAMS}
        return _value_and_grad(weights, x, arrays["s0"], y, loss, activation)[1]

    point = {**p, "s0": s}
    _, gradient, back = _value_and_grad(p, x, s, y, loss, activation, per_step=True)
    outer, bias = plan(rnn_cell(activation)).references(_run(p, x, s, activation))
    return Problem(
        f"rnn[{activation}, {loss}]",
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
