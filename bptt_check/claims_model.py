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

from .verdicts import Verdict

__all__: list[str] = []


def _latex(number: int) -> tuple[str, str]:
    eq = equation(number)
    return eq.latex("as_written"), eq.latex("as_derived")


def _model_equation(number: int, proofs: list, renamed: dict[str, str]) -> Verdict:
    written, derived = _latex(number)
    same = written
    for old, new in renamed.items():
        same = same.replace(old, new)
    agree = same == derived
    failed = [p.name for p in proofs if not p.holds]
    evidence = {
        "as_written_equals_derived": agree,
        "renaming": ", ".join(f"{a} → {b}" for a, b in renamed.items())
        .replace("\\delta", "δ")
        .replace("\\sigma", "σ")
        or "none",
        "exact_proofs": {p.name: p.holds for p in proofs},
        "exact": True,
    }
    if agree and not failed:
        return Verdict(
            f"eq{number}",
            "holds",
            "a definition; its derived reading agrees and the exact proofs built on it hold",
            written,
            derived,
            evidence,
        )
    return Verdict(
        f"eq{number}",
        "fails",
        f"disagrees with its derivation ({failed})",
        written,
        derived,
        evidence,
        counterexample={"failed_proofs": failed},
    )


def eq1(seed: int) -> Verdict:
    """Eq. (1), S_t = δ(W S_{t-1} + U X_t)."""
    proofs = [state_jacobian_proof(rnn_cell(), 2), rnn_bptt(2, 2)]
    return _model_equation(1, proofs, {r"\delta": r"\sigma"})


def eq2(seed: int) -> Verdict:
    """Eq. (2), O_t = δ(V S_t)."""
    return _model_equation(2, [rnn_bptt(2, 2, m=2, k=2)], {r"\delta": r"\sigma"})


def _lstm_equation(number: int) -> Verdict:
    proofs = [lstm_bptt(1, 2), lstm_bptt(2, 1), state_jacobian_proof(lstm_cell(), 2)]
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
    written, derived = _latex(3)
    output, y = sp.Symbol("O"), sp.Symbol("y")
    # a proper loss for an output O of target y is stationary at O = y
    stationary = {
        name: sp.simplify(sp.diff(loss, output).subs(output, y)) for name, loss in LOSSES.items()
    }
    proper = {name: value == 0 for name, value in stationary.items()}
    with mpmath.workdps(30):  # the literal reading at a perfect prediction O = y = 1/2
        half = mpmath.mpf(1) / 2
        slope = mpmath.diff(lambda o: -o * mpmath.log(half), half)
    counterexample = {
        "reading": "literal: L = -Σ O_t log Ô_t with O_t the output and Ô_t the target",
        "O": 0.5,
        "target": 0.5,
        "dL_dO": float(slope),
        "mpmath_dL_dO": mpmath.nstr(slope, 30),
        "meaning": "a perfect prediction is still pushed away: the literal loss is linear in O",
    }
    evidence = {
        "dL_dO_at_target_latex": {k: sp.latex(v) for k, v in stationary.items()},
        "proper_loss": proper,
        "exact": True,
    }
    verdict = "holds-if" if proper["bce"] and not proper["literal"] else "fails"
    return Verdict(
        "eq3",
        verdict,
        "only read as cross-entropy with O_t the model's sigmoid output and a target y: the "
        "literal −Σ O log Ô is not minimised at O = Ô",
        written,
        derived,
        evidence,
        condition="O_t is the output and the loss is the binary cross-entropy "
        "−Σ[y log O + (1−y) log(1−O)] with targets y",
        condition_latex=(
            r"L = -\sum_{t,j} \left[y_{tj}\log O_{tj} + (1-y_{tj})\log(1-O_{tj})\right]"
        ),
        counterexample=counterexample,
    )
