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
    """One statement of the article that bptt-check gives a verdict on: its id (for the
    command line and the JSON), its section title, a short name for prose and tables, the
    article's equation, where its check lives, and the article's own words — the sentences it
    rests on, copied exactly from the article (Chinese), with an English translation."""

    id: str
    title: Text
    equation: int  # the article's equation (1)-(14) the statement is about
    check: str  # "module:function", imported when the check runs
    name: Text = Text("", "")  # a short readable name: the id is never shown to a reader
    quote: tuple[str, ...] = ()  # the article's sentences, exactly as printed
    translation: str = ""  # the quote in English

    def run(self, seed: int) -> Verdict:
        """Run the check with ``seed``; return its verdict."""
        module, function = self.check.split(":")
        return getattr(import_module(module, __package__), function)(seed)


def _equation(number: int, topic: str, check: str, quote: str, translation: str) -> Claim:
    title = f"Equation ({number}): {topic}"
    name = f"({number}) {topic}"
    return Claim(
        f"eq{number}", Text(title, title), number, check, Text(name, name), (quote,), translation
    )


_BASIC = (
    "根据RNN的网络结构可写出其基本方程:",
    "From the RNN's structure, its basic equations are:",
)
_LSTM = (
    "下面公式中的标号参考该链接中图片标号。",
    "The labels in the formulas below follow those of the figure at that link.",
)
_LSTM_TOPICS = ("input gate", "forget gate", "candidate cell", "cell state", "output gate")
#: The closing sentence of the article, after eq. (14), in the pieces the claims rest on.
_AFTER_14 = "对比公式(7)和公式(14),LSTM的连乘部分变成了σ,"

#: Every claim, in report order: eq. (1)-(14), then the prose claims.
CLAIMS: tuple[Claim, ...] = (
    _equation(1, "RNN state", ".claims_model:eq1", *_BASIC),
    _equation(2, "RNN output", ".claims_model:eq2", *_BASIC),
    _equation(
        3,
        "loss",
        ".claims_model:eq3",
        "假设交叉熵为其损失函数loss:",
        "Suppose the cross-entropy is its loss function:",
    ),
    _equation(
        4,
        "gradient of V",
        ".claims_rnn:eq4",
        "先求V的偏导,因其偏导较为简单",
        "First the partial derivative with respect to V, since it is the simpler one.",
    ),
    Claim(
        "eq5",
        Text("Equation (5): gradient of W", "Equation (5): gradient of W"),
        5,
        ".claims_rnn:eq5",
        Text("(5) gradient of W", "(5) gradient of W"),
        (
            "由公式(1)可知,当前时刻的状态不仅与当前的输入有关,而且还与与前一时刻的状态有关。",
            "对W和U运用链式求导",
        ),
        "From equation (1), the state at the current time depends not only on the current "
        "input but also on the state at the previous time. Apply the chain rule to W and U:",
    ),
    _equation(6, "gradient of U", ".claims_rnn:eq6", "同理可得", "In the same way one obtains"),
    _equation(
        7,
        "RNN step Jacobian",
        ".claims_rnn:eq7",
        "由公式(1)可知",
        "From equation (1) it follows that",
    ),
    *(
        _equation(number, topic, f".claims_model:eq{number}", *_LSTM)
        for number, topic in enumerate((*_LSTM_TOPICS, "hidden state"), 8)
    ),
    _equation(
        14,
        "LSTM cell path",
        ".claims_lstm:eq14",
        "类比RNN中偏导的连乘部分,LSTM中连乘部分为",
        "By analogy with the product of partial derivatives in the RNN, the product in the LSTM is",
    ),
    Claim(
        "vanish-explode",
        Text(
            "Claim: below 1 the gradient vanishes, above 1 it explodes",
            "Claim: below 1 the gradient vanishes, above 1 it explodes",
        ),
        7,
        ".claims_vanishing:vanish_explode",
        Text("below 1 vanishes, above 1 explodes", "below 1 vanishes, above 1 explodes"),
        (
            "当公式(7)的乘积小于1时,公式(5)和公式(6)就会趋近于0,也即梯度消失;",
            "当公式(7)的乘积大于1时,公式(5)和公式(6)就会趋近于无穷大,也即梯度爆炸;",
        ),
        "When the product of equation (7) is less than 1, equations (5) and (6) tend to 0: "
        "the gradient vanishes; when the product of equation (7) is greater than 1, "
        "equations (5) and (6) tend to infinity: the gradient explodes.",
    ),
    Claim(
        "forget-near-one",
        Text(
            "Claim: keeping f_t near 1, the gradient does not vanish",
            r"Claim: keeping $f_t$ near 1, the gradient does not vanish",
        ),
        14,
        ".claims_vanishing:forget_near_one",
        Text("f_t near 1 keeps the gradient", r"$f_t$ near 1 keeps the gradient"),
        (
            _AFTER_14
            + "在实际参数更新过程中,通过控制其值接近于1,则经过多次连乘(训练)后,梯度也不会消失;",
        ),
        "Comparing equations (7) and (14), the LSTM's product has become σ; in the actual "
        "updates of the parameters, by keeping its value close to 1, after many "
        "multiplications (training) the gradient does not vanish either;",
    ),
    Claim(
        "sigma-below-one",
        Text(
            "Claim: σ never exceeds 1, so an LSTM gradient cannot explode",
            r"Claim: $\sigma$ never exceeds 1, so an LSTM gradient cannot explode",
        ),
        14,
        ".claims_sigma:sigma_below_one",
        Text("σ ≤ 1 stops explosion", r"$\sigma \le 1$ stops explosion"),
        ("而σ的值不会大于1,故不会出现梯度爆炸。",),
        "and since the value of σ is never greater than 1, the gradient cannot explode.",
    ),
    Claim(
        "product-is-training",
        Text(
            "Claim: the many multiplications are training",
            "Claim: the many multiplications are training",
        ),
        14,
        ".claims_training:product_is_training",
        Text("multiplications = training", "multiplications = training"),
        ("则经过多次连乘(训练)后,",),
        "then after many multiplications (training),",
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
