r"""The article's RNN, eq. (1)-(3), as instances of the generic cell.

* eq. (1): ``S_t = act(a_t)``, ``a_t = W S_{t-1} + U X_t`` with act = σ (the article's δ) or tanh;
* eq. (2): ``O_t = σ(V S_t)``;
* eq. (3): a loss summed over t and the k outputs; which of O_t and Ô_t is the model's output is
  left open by the article, so three readings are kept (:data:`LOSSES`).

>>> from derivations.adjoint import backward
>>> bar_o = backward(rnn_readout("bce")).assignment("bar_o")   # ∂L/∂(V S_t), times seed ∂L/∂ℓ
>>> bar_o.subs("bar_ell", 1)
O - y
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from .activations import sigma
from .cells import ACTIVATIONS, elman
from .dims import k, n
from .graph import Affine, Elementwise, Graph

__all__ = ["ACTIVATIONS", "LOSSES", "rnn_cell", "rnn_readout"]

_O, _y = sp.Symbol("O"), sp.Symbol("y")

#: Readings of eq. (3), each a per-entry loss ℓ(O, y) of the output O and the target y.
LOSSES: dict[str, sp.Expr] = {
    # binary cross-entropy, the proper loss for the independent sigmoid outputs of eq. (2)
    "bce": -(_y * sp.log(_O) + (1 - _y) * sp.log(1 - _O)),
    # the article read literally: L = -Σ O_t log Ô_t with O_t the output and Ô_t = y the target
    "literal": -_O * sp.log(_y),
    # cross-entropy with the roles swapped: L = -Σ y log O
    "ce": -_y * sp.log(_O),
}

_LATEX = (
    ("S_prev", "S_{t-1}"),
    ("S", "S_{t}"),
    ("X", "X_{t}"),
    ("a", "a_{t}"),
    ("o", "o_{t}"),
    ("O", "O_{t}"),
    ("y", "y_{t}"),
    ("ell", r"\ell_{t}"),
)


def _choice(kind: str, value: str, options: dict) -> None:
    if value not in options:
        raise ValueError(f"{kind} must be one of {sorted(options)}, got {value!r}")


def rnn_cell(activation: str = "sigmoid") -> Graph:
    """Eq. (1), S_t = act(W S_{t-1} + U X_t): one affine map and one elementwise activation
    (:func:`derivations.cells.elman` without a bias)."""
    return elman(activation)


@cache
def rnn_readout(loss: str = "bce") -> Graph:
    """Eq. (2)-(3): O_t = σ(V S_t) and the per-entry loss ℓ_t = ℓ(O_t, y_t); L = Σ_t Σ_j ℓ_tj."""
    _choice("loss", loss, LOSSES)
    return Graph(
        name=f"readout[{loss}]",
        inputs=(("S", n), ("y", k)),
        steps=(
            Affine("o", (("V", ("S",)),), k),
            Elementwise("O", sigma(sp.Symbol("o"))),
            Elementwise("ell", LOSSES[loss]),
        ),
        outputs=("ell",),
        latex_names=_LATEX,
    )
