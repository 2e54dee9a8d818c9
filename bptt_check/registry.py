r"""The claims bptt-check checks, each declared once: id, title, the article's equation it is
about, and where its check lives.

The command line's ``--claims`` choices, :func:`bptt_check.verdicts.verify`, the report's
sections and the README's list of ids all read this table.  Importing it is free: a check's
module (with its SymPy, NumPy and mpmath) is imported only when the check runs.

>>> [claim.id for claim in CLAIMS][:3]
['eq1', 'eq2', 'eq3']
>>> get("eq7").title.plain
'Equation (7): RNN step Jacobian'
>>> markdown_ids()
'`eq1` … `eq14`, `vanish-explode`, `forget-near-one`, `sigma-below-one`, `product-is-training`'
>>> get("eq99")  # doctest: +ELLIPSIS
Traceback (most recent call last):
ValueError: unknown claim id 'eq99'; known: eq1, eq2, ..., product-is-training
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from .evidence import Text

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .evidence import Verdict

__all__ = ["CLAIMS", "Claim", "get", "ids", "markdown_ids"]


@dataclass(frozen=True)
class Claim:
    """One statement of the article that bptt-check gives a verdict on."""

    id: str
    title: Text
    equation: int  # the article's equation (1)-(14) the statement is about
    check: str  # "module:function", imported when the check runs

    def run(self, seed: int) -> Verdict:
        """Run the check with ``seed``; return its verdict."""
        module, function = self.check.split(":")
        return getattr(import_module(module, __package__), function)(seed)


def _equation(number: int, topic: str, check: str) -> Claim:
    title = f"Equation ({number}): {topic}"
    return Claim(f"eq{number}", Text(title, title), number, check)


_LSTM_TOPICS = ("input gate", "forget gate", "candidate cell", "cell state", "output gate")

#: Every claim, in report order: eq. (1)-(14), then the prose claims.
CLAIMS: tuple[Claim, ...] = (
    _equation(1, "RNN state", ".claims_model:eq1"),
    _equation(2, "RNN output", ".claims_model:eq2"),
    _equation(3, "loss", ".claims_model:eq3"),
    _equation(4, "gradient of V", ".claims_rnn:eq4"),
    _equation(5, "gradient of W", ".claims_rnn:eq5"),
    _equation(6, "gradient of U", ".claims_rnn:eq6"),
    _equation(7, "RNN step Jacobian", ".claims_rnn:eq7"),
    *(
        _equation(number, topic, f".claims_model:eq{number}")
        for number, topic in enumerate((*_LSTM_TOPICS, "hidden state"), 8)
    ),
    _equation(14, "LSTM cell path", ".claims_lstm:eq14"),
    Claim(
        "vanish-explode",
        Text(
            "Claim: below 1 the gradient vanishes, above 1 it explodes",
            "Claim: below 1 the gradient vanishes, above 1 it explodes",
        ),
        7,
        ".claims_vanishing:vanish_explode",
    ),
    Claim(
        "forget-near-one",
        Text(
            "Claim: keeping f_t near 1, the gradient does not vanish",
            r"Claim: keeping $f_t$ near 1, the gradient does not vanish",
        ),
        14,
        ".claims_vanishing:forget_near_one",
    ),
    Claim(
        "sigma-below-one",
        Text(
            "Claim: σ never exceeds 1, so an LSTM gradient cannot explode",
            r"Claim: $\sigma$ never exceeds 1, so an LSTM gradient cannot explode",
        ),
        14,
        ".claims_sigma:sigma_below_one",
    ),
    Claim(
        "product-is-training",
        Text(
            "Claim: the many multiplications are training",
            "Claim: the many multiplications are training",
        ),
        14,
        ".claims_training:product_is_training",
    ),
)

_BY_ID = {claim.id: claim for claim in CLAIMS}


def ids() -> tuple[str, ...]:
    """Every claim id, in report order."""
    return tuple(_BY_ID)


def get(identifier: str) -> Claim:
    """The claim ``identifier``; a ValueError names the known ids."""
    if identifier not in _BY_ID:
        raise ValueError(f"unknown claim id {identifier!r}; known: {', '.join(_BY_ID)}")
    return _BY_ID[identifier]


def markdown_ids() -> str:
    """The README's list of claim ids: a run of equations as its first and last id."""
    parts: list[str] = []
    run: list[str] = []
    for identifier in (*ids(), ""):
        if identifier.startswith("eq"):
            run.append(identifier)
            continue
        if run:
            parts.append(
                f"`{run[0]}` … `{run[-1]}`" if len(run) > 2 else ", ".join(f"`{i}`" for i in run)
            )
            run = []
        if identifier:
            parts.append(f"`{identifier}`")
    return ", ".join(parts)
