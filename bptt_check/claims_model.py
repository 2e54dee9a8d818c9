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
from derivations.rnn import rnn_cell

from .claims_common import proved
from .evidence import Column, Example, Named, Proofs, Quantity, Statement, Table, Text, Verdict

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
        return Verdict(f"eq{number}", "holds", _DEFINITION, number, evidence, finding="definition")
    failed = [p.name for p in proofs if not p.holds]
    return Verdict(
        f"eq{number}",
        "fails",
        Text(
            f"disagrees with its derivation ({', '.join(failed)})", "disagrees with its derivation"
        ),
        number,
        evidence,
        finding="wrong-formula",
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


#: The target distribution of the example of eq. (3): not uniform, so that a wrong reading
#: cannot be stationary by symmetry.
_TARGET = (sp.Rational(1, 2), sp.Rational(1, 3), sp.Rational(1, 6))


def _softmax(z: tuple) -> list:
    total = sum(sp.exp(v) for v in z)
    return [sp.exp(v) / total for v in z]


def eq3(seed: int) -> Verdict:
    """Eq. (3), L = -Σ_t O_t log Ô_t, read as the article writes it: the hat marks the
    prediction, here a softmax output Ô_t = softmax(z_t), and O_t the target distribution."""
    z = sp.symbols("z1:4")
    q = _TARGET
    p = _softmax(z)
    at_target = {v: sp.log(t) for v, t in zip(z, q, strict=True)}  # softmax(z) = q there
    losses = {
        # the hat marks the prediction: O_t the target, Ô_t = softmax(z_t) the model's output
        "prediction_hat": -sum(t * sp.log(o) for t, o in zip(q, p, strict=True)),
        # O_t the output of (2), Ô_t the target: −Σ O log Ô is linear in the output
        "output_o": -sum(o * sp.log(t) for t, o in zip(q, p, strict=True)),
    }
    slopes = {
        name: [sp.nsimplify(sp.simplify(sp.diff(loss, v).subs(at_target))) for v in z]
        for name, loss in losses.items()
    }
    proper = {name: all(g == 0 for g in grad) for name, grad in slopes.items()}
    readings = {
        "prediction_hat": r"$\hat{O}_t$ the prediction, $O_t$ the target",
        "output_o": r"$O_t$ the output of (2), $\hat{O}_t$ the target",
    }
    table = Table(
        "proper_loss",
        r"Each reading of (3) at one step with three classes and a softmax output "
        r"$\operatorname{softmax}(z_t)$: the slope in the logits $z_t$ where the output equals "
        r"the target $(1/2, 1/3, 1/6)$ (exact, by SymPy); a proper loss is stationary there.",
        (
            Column("reading", "reading"),
            Column("dL_dz_at_target_latex", r"$\partial L/\partial z_t$ there"),
            Column("proper_loss", "proper loss"),
        ),
        tuple(
            (
                Named(name, readings[name]),
                Named(
                    ", ".join(str(g) for g in slopes[name]),
                    "$(" + ", ".join(f"{float(g):.4g}" for g in slopes[name]) + ")$",
                ),
                proper[name],
            )
            for name in losses
        ),
        layout="columns",
    )
    literal = [float(g) for g in slopes["output_o"]]
    with mpmath.workdps(30):  # the output-O reading's slope in z_1, written out in mpmath
        target = [mpmath.mpf(1) / 2, mpmath.mpf(1) / 3, mpmath.mpf(1) / 6]

        def written(z1):
            zs = [z1, mpmath.log(target[1]), mpmath.log(target[2])]
            total = mpmath.fsum(mpmath.exp(v) for v in zs)
            return -mpmath.fsum(
                mpmath.exp(v) / total * mpmath.log(t) for v, t in zip(zs, target, strict=True)
            )

        slope = mpmath.diff(written, mpmath.log(target[0]))
    counterexample = Example(
        "output_reading",
        r"read with $O_t$ the output of (2), the loss pushes a perfect prediction away: it is "
        r"linear in the output",
        r"the loss $-\sum_j O_j \log \hat{O}_j$ at one step, $O = \operatorname{softmax}(z)$, "
        r"three classes",
        inputs=(
            Quantity("target", [float(t) for t in q], r"\hat{O}", "the target"),
            Quantity("O", [float(t) for t in q], "O", "the output, equal to the target"),
        ),
        quantities=(
            Quantity(
                "dL_dz",
                literal,
                r"\partial L/\partial z",
                "slope at the perfect prediction",
            ),
            Quantity(
                "dL_dz1",
                literal[0],
                r"\partial L/\partial z_1",
                "its first entry",
                mpmath=mpmath.nstr(slope, 30),
            ),
        ),
    )
    different = Statement(
        "binary_cross_entropy",
        Text(
            "binary cross-entropy −Σ[y log O + (1−y) log(1−O)], which the derived gradients of "
            "(4)-(6) use with the sigmoid outputs of (2), is a different formula, not a reading "
            "of (3)",
            r"binary cross-entropy, which the derived gradients of (4)-(6) use with the sigmoid "
            r"outputs of (2), is a different formula, not a reading of (3)",
        ),
        r"-\sum_{t,j} \left[y_{tj}\log O_{tj} + (1-y_{tj})\log(1-O_{tj})\right]",
    )
    verdict = "holds-if" if proper["prediction_hat"] and not proper["output_o"] else "fails"
    return Verdict(
        "eq3",
        verdict,
        Text(
            "only as the cross-entropy of a softmax prediction Ô_t against a target O_t (the hat "
            "marks the prediction); with O_t the output of (2), as (2) defines it, −Σ O log Ô "
            "is not minimised at O = Ô",
            r"only as the cross-entropy of a softmax prediction $\hat{O}_t$ against a target "
            r"$O_t$ (the hat marks the prediction); with $O_t$ the output of (2), as (2) defines "
            r"it, $-\sum_t O_t \log \hat{O}_t$ is not minimised at $O_t = \hat{O}_t$",
        ),
        3,
        (table, different),
        condition=Text(
            "Ô_t = softmax(z_t) is the model's prediction and O_t the target distribution",
            r"$\hat{O}_t = \operatorname{softmax}(z_t)$ is the model's prediction and $O_t$ the "
            r"target distribution",
        ),
        condition_latex=r"L = -\sum_{t} O_t^{\top} \log \hat{O}_t,\qquad "
        r"\hat{O}_t = \operatorname{softmax}(z_t)",
        finding="missing-condition" if verdict == "holds-if" else "wrong-formula",
        counterexample=(counterexample,),
    )
