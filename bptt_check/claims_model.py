"""Verdicts on the model equations: the RNN (1)-(3) and the LSTM (8)-(13).

A model equation holds when its as-written form is the derived reading (up to the article's
name δ for σ) and the exact proofs built on it hold; the loss (3) holds only under a reading.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from derivations.equations import equation
from derivations.lstm import lstm_cell
from derivations.proofs import lstm_bptt, rnn_bptt, state_jacobian_proof
from derivations.rnn import LOSSES, rnn_cell

from .claims_common import proved
from .evidence import Column, Example, Named, Proofs, Quantity, Table, Text, Verdict

__all__: list[str] = []

_DEFINITION = Text(
    "a definition; its derived reading agrees and the exact proofs built on it hold",
    "a definition; its derived reading agrees and the exact proofs built on it hold",
)


def _model_equation(number: int, proofs: list, renamed: dict[str, str]) -> Verdict:
    eq = equation(number)
    written, derived = eq.latex("as_written"), eq.latex("as_derived")
    same = written
    for old, new in renamed.items():
        same = same.replace(old, new)
    agree = same == derived
    renaming = ", ".join(rf"${a}$ read as ${b}$" for a, b in renamed.items())
    evidence = (
        Quantity(
            "as_written_equals_derived",
            agree,
            "",
            "the equation as written is the derived one" + (f" ({renaming})" if renaming else ""),
        ),
        Proofs("exact_proofs", tuple(proofs)),
    )
    if agree and all(p.holds for p in proofs):
        return Verdict(f"eq{number}", "holds", _DEFINITION, number, evidence)
    failed = [p.name for p in proofs if not p.holds]
    return Verdict(
        f"eq{number}",
        "fails",
        Text(
            f"disagrees with its derivation ({', '.join(failed)})", "disagrees with its derivation"
        ),
        number,
        evidence,
        counterexample=(
            Example(
                "failed_proofs",
                "the exact proofs that fail",
                "the model of the equation",
                quantities=(Quantity("failed_proofs", failed, "", "failed proofs"),),
            ),
        ),
    )


def eq1(seed: int) -> Verdict:
    """Eq. (1), S_t = δ(W S_{t-1} + U X_t)."""
    proofs = [
        proved(state_jacobian_proof(rnn_cell(), 2), "state_jacobian", n=2, m=1),
        proved(rnn_bptt(2, 2), "rnn_bptt", n=2, m=1, k=1, T=2),
    ]
    return _model_equation(1, proofs, {r"\delta": r"\sigma"})


def eq2(seed: int) -> Verdict:
    """Eq. (2), O_t = δ(V S_t)."""
    proof = proved(rnn_bptt(2, 2, m=2, k=2), "rnn_bptt", n=2, m=2, k=2, T=2)
    return _model_equation(2, [proof], {r"\delta": r"\sigma"})


def _lstm_equation(number: int) -> Verdict:
    proofs = [
        proved(lstm_bptt(1, 2), "lstm_bptt", n=1, m=1, T=2),
        proved(lstm_bptt(2, 1), "lstm_bptt", n=2, m=1, T=1),
        proved(state_jacobian_proof(lstm_cell(), 2), "state_jacobian", n=2, m=1),
    ]
    return _model_equation(number, proofs, {})


def eq8(seed: int) -> Verdict:
    """Eq. (8), the input gate i_t."""
    return _lstm_equation(8)


def eq9(seed: int) -> Verdict:
    """Eq. (9), the forget gate f_t."""
    return _lstm_equation(9)


def eq10(seed: int) -> Verdict:
    """Eq. (10), the candidate cell C̃_t."""
    return _lstm_equation(10)


def eq11(seed: int) -> Verdict:
    """Eq. (11), the cell state C_t."""
    return _lstm_equation(11)


def eq12(seed: int) -> Verdict:
    """Eq. (12), the output gate o_t."""
    return _lstm_equation(12)


def eq13(seed: int) -> Verdict:
    """Eq. (13), the hidden state h_t."""
    return _lstm_equation(13)


def eq3(seed: int) -> Verdict:
    """Eq. (3), L = -Σ O_t log Ô_t: which reading is a proper loss for sigmoid outputs."""
    output, y = sp.Symbol("O"), sp.Symbol("y")
    # a proper loss for an output O of target y is stationary at O = y
    stationary = {
        name: sp.simplify(sp.diff(loss, output).subs(output, y)) for name, loss in LOSSES.items()
    }
    proper = {name: value == 0 for name, value in stationary.items()}
    with mpmath.workdps(30):  # the literal reading at a perfect prediction O = y = 1/2
        half = mpmath.mpf(1) / 2
        slope = mpmath.diff(lambda o: -o * mpmath.log(half), half)
    readings = {
        "bce": r"binary cross-entropy $-\sum [y \log O + (1-y)\log(1-O)]$",
        "literal": r"literal $-\sum O_t \log \hat{O}_t$",
        "ce": r"cross-entropy $-\sum y \log O$",
    }
    table = Table(
        "proper_loss",
        r"Each reading of (3) for an output $O$ with target $y$: its slope at the perfect "
        r"prediction $O = y$ (exact, by SymPy); a proper loss is stationary there.",
        (
            Column("reading", "reading"),
            Column("dL_dO_at_target_latex", r"$\partial L/\partial O$ at $O = y$"),
            Column("proper_loss", "proper loss"),
        ),
        tuple(
            (Named(name, readings[name]), Named(sp.latex(v), f"${sp.latex(v)}$"), proper[name])
            for name, v in stationary.items()
        ),
        layout="columns",
    )
    counterexample = Example(
        "literal_loss",
        "the literal reading pushes a perfect prediction away: it is linear in $O$",
        r"the literal loss $-O \log \hat{O}$ at one output",
        inputs=(
            Quantity("reading", "literal", "", "which reading"),
            Quantity("O", 0.5, "O", "the output"),
            Quantity("target", 0.5, r"\hat{O}", "the target"),
        ),
        quantities=(
            Quantity(
                "dL_dO",
                float(slope),
                r"\partial L/\partial O",
                r"slope at the perfect prediction ($\log 2$)",
                mpmath=mpmath.nstr(slope, 30),
            ),
        ),
    )
    verdict = "holds-if" if proper["bce"] and not proper["literal"] else "fails"
    return Verdict(
        "eq3",
        verdict,
        Text(
            "only read as cross-entropy with O_t the model's sigmoid output and a target y: the "
            "literal −Σ O log Ô is not minimised at O = Ô",
            r"only read as cross-entropy with $O_t$ the model's sigmoid output and a target $y$: "
            r"the literal $-\sum_t O_t \log \hat{O}_t$ is not minimised at $O_t = \hat{O}_t$",
        ),
        3,
        (table,),
        condition=Text(
            "O_t is the output and the loss is the binary cross-entropy "
            "−Σ[y log O + (1−y) log(1−O)] with targets y",
            r"$O_t$ is the output and the loss is the binary cross-entropy with targets $y$",
        ),
        condition_latex=(
            r"L = -\sum_{t,j} \left[y_{tj}\log O_{tj} + (1-y_{tj})\log(1-O_{tj})\right]"
        ),
        counterexample=(counterexample,),
    )
