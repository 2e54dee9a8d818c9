r"""Evidence shared by the claims: exact proofs with their sizes, and the model examples of the
RNN (1)-(2) and the LSTM (8)-(13) written as :class:`~bptt_check.evidence.Example`.

>>> symbol("W_f")
'W_{f}'
>>> model = rnn_model({"W": [[1.0]]}, [[0.0]], [0.5])
>>> [q.key for q in model["params"]], [q.key for q in model["inputs"]]
(['W'], ['xs', 's0', 'T'])
"""

from __future__ import annotations

from typing import Any

from .evidence import Proved, Quantity

__all__ = [
    "GROWTH_LSTM",
    "GROWTH_RNN",
    "lstm_model",
    "proved",
    "rnn_model",
    "symbol",
]

#: The growth of a counterexample, as the JSON's ``growth`` (eq. (5)-(7) and (14)).
GROWTH_RNN = r"\left\|\partial S_T / \partial S_0\right\|_2"
GROWTH_LSTM = r"\left\|\partial (C_T, h_T) / \partial (C_0, h_0)\right\|_2"

#: What each exact proof of :mod:`derivations.proofs` shows (LaTeX text).
STATEMENTS = {
    "rnn_bptt": r"the derived BPTT gradients of $W$, $U$, $V$ and $S_0$ equal SymPy's "
    r"derivatives of the unrolled loss (3)",
    "lstm_bptt": r"the derived LSTM backward program equals SymPy's derivatives of the unrolled "
    r"loss",
    "state_jacobian": r"the derived state Jacobian equals SymPy's Jacobian of the cell",
    "total_cell": r"the derived one-step partial $\mathrm{d}C_t/\mathrm{d}C_{t-1}$ (with "
    r"$o_{t-1}$ held fixed) equals SymPy's derivative through "
    r"$h_{t-1} = o_{t-1} \odot \tanh(C_{t-1})$",
    "delta_derived": r"the $\delta$ recursion with the derived "
    r"$\operatorname{diag}(\sigma'(a_t))\,W$ gives $\partial L/\partial S_0$",
    "delta_written": r"the $\delta$ recursion with the article's $W \operatorname{diag}(\sigma')$ "
    r"gives $\partial L/\partial S_0$",
}


def proved(proof: Any, what: str, **sizes: int) -> Proved:
    """A proof of :mod:`derivations.proofs` as evidence: ``what`` names its statement in
    :data:`STATEMENTS`, ``sizes`` the explicit sizes it was run at."""
    return Proved(proof.name, STATEMENTS[what], dict(sizes), proof.holds)


def symbol(name: str) -> str:
    """A parameter's name as a LaTeX symbol: ``W_f`` is :math:`W_{f}`."""
    head, _, tail = name.partition("_")
    return f"{head}_{{{tail}}}" if tail else head


Model = dict[str, tuple[Quantity, ...]]


def _params(params: dict[str, Any]) -> tuple[Quantity, ...]:
    return tuple(Quantity(k, v, symbol(k), "parameter") for k, v in params.items())


def rnn_model(params: dict[str, Any], xs: list, s0: list) -> Model:
    """The ``params`` and ``inputs`` of an RNN example (keyword arguments of
    :class:`~bptt_check.evidence.Example`): ``xs`` (T, m), ``s0`` (n,), ``T``."""
    return {
        "params": _params(params),
        "inputs": (
            Quantity("xs", xs, r"X_1, \dots, X_T", "inputs"),
            Quantity("s0", s0, "S_0", "initial state"),
            Quantity("T", len(xs), "T", "time steps"),
        ),
    }


def lstm_model(params: dict[str, Any], xs: list, h0: list, c0: list) -> Model:
    """The ``params`` and ``inputs`` of an LSTM example: ``xs`` (T, m), ``h0``, ``c0`` (n,),
    ``T``."""
    return {
        "params": _params(params),
        "inputs": (
            Quantity("xs", xs, r"x_1, \dots, x_T", "inputs"),
            Quantity("h0", h0, "h_0", "initial hidden state"),
            Quantity("c0", c0, "C_0", "initial cell state"),
            Quantity("T", len(xs), "T", "time steps"),
        ),
    }
