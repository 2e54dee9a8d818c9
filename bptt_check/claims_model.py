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


_TAKEAWAY = {
    "rnn": Text(
        "A definition of the model the rest of the article differentiates; the article's δ "
        "is the sigmoid σ.",
        r"A definition of the model the rest of the article differentiates; the article's "
        r"$\delta$ is the sigmoid $\sigma$.",
    ),
    "lstm": Text(
        "The LSTM as it is usually written: a definition, nothing to derive; the gradient "
        "questions start at (14).",
        "The LSTM as it is usually written: a definition, nothing to derive; the gradient "
        "questions start at (14).",
    ),
}


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
        return Verdict(
            f"eq{number}",
            "holds",
            _DEFINITION,
            number,
            evidence,
            finding="definition",
            takeaway=_TAKEAWAY["rnn" if number <= 2 else "lstm"],
        )
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


#: The target of the example of eq. (3): each entry in (0, 1) and summing to 1 (a target for σ
#: outputs and for a softmax alike), not uniform, so that no reading is stationary by symmetry.
_TARGET = (sp.Rational(1, 2), sp.Rational(1, 3), sp.Rational(1, 6))

#: The binary cross-entropy the derived gradients of (4)-(6) use (LaTeX math).
BCE = r"L = -\sum_{t} \left[y_t^{\top}\log O_t + (1-y_t)^{\top}\log(1-O_t)\right]"


def _softmax(z: tuple) -> list:
    total = sum(sp.exp(v) for v in z)
    return [sp.exp(v) / total for v in z]


def _losses(z: tuple, y: tuple) -> dict[str, tuple[str, str, sp.Expr, dict]]:
    """Each reading of (3) at one step with three output units: its words, its output, the
    loss, and the logits at which the output equals the target y."""
    sigma = [1 / (1 + sp.exp(-v)) for v in z]
    soft = _softmax(z)
    at_sigma = {v: sp.log(t / (1 - t)) for v, t in zip(z, y, strict=True)}  # σ(z) = y
    at_soft = {v: sp.log(t) for v, t in zip(z, y, strict=True)}  # softmax(z) = y
    return {
        "as_written": (
            r"as written, $-\sum_j O_j \log \hat{O}_j$ with $O$ the output of (2), "
            r"$\hat{O} = y$ the target",
            r"$\sigma$",
            -sum(o * sp.log(t) for o, t in zip(sigma, y, strict=True)),
            at_sigma,
        ),
        "swapped_softmax": (
            r"arguments swapped, $-\sum_j y_j \log O_j$",
            "softmax",
            -sum(t * sp.log(o) for o, t in zip(soft, y, strict=True)),
            at_soft,
        ),
        "swapped_sigma": (
            r"arguments swapped, $-\sum_j y_j \log O_j$",
            r"$\sigma$",
            -sum(t * sp.log(o) for o, t in zip(sigma, y, strict=True)),
            at_sigma,
        ),
        "binary_cross_entropy": (
            r"binary cross-entropy, $-\sum_j [y_j \log O_j + (1 - y_j)\log(1 - O_j)]$",
            r"$\sigma$",
            -sum(t * sp.log(o) + (1 - t) * sp.log(1 - o) for o, t in zip(sigma, y, strict=True)),
            at_sigma,
        ),
    }


def eq3(seed: int) -> Verdict:
    """Eq. (3), L = -Σ_t O_t log Ô_t, read as the article writes it: (2) defines O_t as the
    output, so Ô_t is the target — the arguments of a cross-entropy swapped."""
    z = sp.symbols("z1:4")
    y = _TARGET
    losses = _losses(z, y)
    slopes = {
        name: [sp.nsimplify(sp.simplify(sp.diff(loss, v).subs(at))) for v in z]
        for name, (_, _, loss, at) in losses.items()
    }
    proper = {name: all(g == 0 for g in grad) for name, grad in slopes.items()}
    # as written, L is linear in the output O: its second derivative in O is 0
    outputs = sp.symbols("O1:4")
    written_in_O = -sum(o * sp.log(t) for o, t in zip(outputs, y, strict=True))
    linear = all(sp.diff(written_in_O, a, b) == 0 for a in outputs for b in outputs)
    table = Table(
        "proper_loss",
        r"Each reading of (3) at one step with three output units, the target "
        r"$y = (1/2, 1/3, 1/6)$: the slope in the logits $z = V S_t$ where the output equals "
        r"the target (exact, by SymPy).  A loss that can be trained to the target is "
        r"stationary there (a proper loss).",
        (
            Column("reading", "reading"),
            Column("output", "output $O$"),
            Column("dL_dz_at_target_latex", r"$\partial L/\partial z$ at $O = y$"),
            Column("proper_loss", "proper"),
        ),
        tuple(
            (
                Named(name, words),
                Named(output, output),
                Named(
                    ", ".join(str(g) for g in slopes[name]),
                    "$(" + ", ".join(f"{float(g):.4g}" for g in slopes[name]) + ")$",
                ),
                proper[name],
            )
            for name, (words, output, _, _) in losses.items()
        ),
        layout="columns",
    )
    literal = [float(g) for g in slopes["as_written"]]
    with mpmath.workdps(30):  # the written loss's slope in z_1, written out in mpmath
        target = [mpmath.mpf(1) / 2, mpmath.mpf(1) / 3, mpmath.mpf(1) / 6]

        def written(z1):
            zs = [z1, *(mpmath.log(t / (1 - t)) for t in target[1:])]
            return -mpmath.fsum(
                mpmath.log(t) / (1 + mpmath.exp(-v)) for v, t in zip(zs, target, strict=True)
            )

        slope = mpmath.diff(written, mpmath.log(target[0] / (1 - target[0])))
    counterexample = Example(
        "output_reading",
        r"as written, the loss is linear in the output and pushes a perfect prediction away",
        r"the loss $-\sum_j O_j \log \hat{O}_j$ of (3) at one step, $O = \sigma(z)$ the output "
        r"of (2), $\hat{O} = y$ the target, three output units",
        inputs=(
            Quantity("target", [float(t) for t in y], r"\hat{O} = y", "the target"),
            Quantity("O", [float(t) for t in y], "O", "the output, equal to the target"),
        ),
        quantities=(
            Quantity(
                "linear_in_output",
                linear,
                r"\partial^2 L/\partial O^2 = 0",
                "the loss is linear in the output",
            ),
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
    corrected = Statement(
        "corrected",
        Text(
            "corrected: the target outside the log, the prediction inside: −Σ_t y_tᵀ log O_t "
            "for a softmax output O_t (a distribution over classes)",
            r"corrected, the target outside the log and the prediction inside, for a softmax "
            r"output $O_t$ (a distribution over classes)",
        ),
        r"L = -\sum_{t} y_t^{\top}\log O_t,\qquad O_t = \operatorname{softmax}(V S_t)",
    )
    used = Statement(
        "loss_used",
        Text(
            "the loss of this report: the derived gradients of (4)-(6) use binary "
            "cross-entropy, the loss for the σ outputs of (2) (each output unit a probability "
            "of its own, not one entry of a distribution); with it ∂L/∂(V S_t) = O_t − y_t, "
            "and every number labelled 'derived' below is computed with it",
            r"the loss of this report: the derived gradients of (4)--(6) use binary "
            r"cross-entropy, the loss for the $\sigma$ outputs of (2) (each output unit a "
            r"probability of its own, not one entry of a distribution); with it "
            r"$\partial L/\partial (V S_t) = O_t - y_t$, and every number labelled "
            r"``derived'' below is computed with it",
        ),
        BCE,
    )
    wrong = linear and not proper["as_written"]
    right = proper["swapped_softmax"] and proper["binary_cross_entropy"]
    verdict = "fails" if wrong and right else "holds"
    return Verdict(
        "eq3",
        verdict,
        Text(
            "as written the arguments are swapped: (2) makes O_t the output, so "
            "−Σ O_t log Ô_t is linear in the prediction and is not minimised where the "
            "prediction equals the target; corrected, −Σ y_t log O_t for a softmax output, "
            "binary cross-entropy for the σ outputs of (2)",
            r"as written the arguments are swapped: (2) makes $O_t$ the output, so "
            r"$-\sum_t O_t \log \hat{O}_t$ is linear in the prediction and is not minimised "
            r"where the prediction equals the target; corrected, $-\sum_t y_t^{\top} \log O_t$ "
            r"for a softmax output, binary cross-entropy for the $\sigma$ outputs of (2)",
        ),
        3,
        (table, corrected, used),
        finding="wrong-formula" if verdict == "fails" else "definition",
        counterexample=(counterexample,),
        takeaway=Text(
            "In a cross-entropy the target multiplies the log of the prediction, never the "
            "reverse; for σ outputs the loss is binary cross-entropy, which is what makes "
            "∂L/∂(V S_t) = O_t − y_t.",
            r"In a cross-entropy the target multiplies the log of the prediction, never the "
            r"reverse; for $\sigma$ outputs the loss is binary cross-entropy, which is what "
            r"makes $\partial L/\partial (V S_t) = O_t - y_t$.",
        ),
    )
