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

from functools import cache
from typing import Any

import numpy as np

from derivations import cells
from derivations.rnn import ACTIVATIONS, LOSSES

from ._validation import check_choice
from .checks import Problem
from .model import Model

__all__ = ["forward", "loss_value", "model", "problem", "state_jacobians", "value_and_grad"]

#: The readings of eq. (3) as named in :data:`derivations.cells.LOSSES`.
_LOSS_NAMES = {"bce": "bce", "literal": "literal", "ce": "ce-article"}


def model(activation: str = "sigmoid", loss: str = "bce") -> Model:
    """Eq. (1)-(3) as a :class:`numeric.Model`: ``elman(activation)``, the sigmoid readout of
    eq. (2) and the reading ``loss`` of eq. (3); the functions of this module are its methods
    under the article's argument names."""
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("loss", loss, LOSSES)
    return _model(activation, loss)


@cache
def _model(activation: str, loss: str) -> Model:
    return Model(
        cells.elman(activation),
        cells.readout("sigmoid"),
        _LOSS_NAMES[loss],
        labels={"state0['S']": "s0"},
    )


def forward(params: dict, xs: Any, s0: Any, activation: str = "sigmoid"):
    """States S (T, B, n) and outputs O (T, B, k) of eq. (1)-(2)."""
    states, outputs = model(activation).forward_and_outputs(params, xs, {"S": s0})
    return states["S"], outputs


def value_and_grad(
    params: dict, xs: Any, ys: Any, s0: Any, loss: str = "bce", activation: str = "sigmoid"
):
    """Loss (3) and its gradient by the derived BPTT: keys "W", "U", "V", "s0"."""
    check_choice("loss", loss, LOSSES)
    L, grads, initial = model(activation, loss).value_and_grad(params, xs, ys, {"S": s0})
    return L, {**grads, "s0": initial["S"]}


def loss_value(
    params: dict, xs: Any, ys: Any, s0: Any, loss: str = "bce", activation: str = "sigmoid"
):
    """Loss (3) alone; also accepts complex128 or mpmath arrays (complex step, high precision)."""
    check_choice("loss", loss, LOSSES)
    return model(activation, loss).loss_value(params, xs, ys, {"S": s0})


def state_jacobians(params: dict, xs: Any, s0: Any, activation: str = "sigmoid") -> np.ndarray:
    """∂S_t/∂S_{t-1} for every t, (T, B, n, n): diag(act'(a_t)) W as derived (eq. (7))."""
    return model(activation).state_jacobians(params, xs, {"S": s0})


def problem(
    params: dict, xs: Any, ys: Any, s0: Any, loss: str = "bce", activation: str = "sigmoid"
) -> Problem:
    """The loss (3) at this point as a :class:`numeric.checks.Problem`: the arrays W, U, V, s0
    (s0 batched, (B, n)) with the derived gradient and per-step adjoints of eq. (5)-(6)."""
    check_choice("loss", loss, LOSSES)
    return model(activation, loss).problem(
        params, xs, {"S": s0}, ys=ys, names={"S": "s0"}, name=f"rnn[{activation}, {loss}]"
    )
