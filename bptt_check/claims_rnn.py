"""Verdicts on the RNN gradient, eq. (4)-(7): the literal readings against the full BPTT.

Every counterexample is a small RNN with simple numbers; its float64 numbers come from
:mod:`numeric.rnn`, its confirmation from ``mpmath.diff`` of the model written out in
:mod:`bptt_check.reference` at 30 digits.
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

from derivations import dims
from derivations.adjoint import partial
from derivations.matrices import Diag
from derivations.proofs import rnn_bptt, rnn_delta_recursion
from derivations.rnn import rnn_cell
from numeric import rnn

from . import reference
from .claims_common import numerical_checks, proved, rnn_model
from .evidence import (
    Axis,
    Column,
    Curve,
    Example,
    Named,
    Proofs,
    Quantity,
    Series,
    Statement,
    Table,
    Text,
    Verdict,
    confirm,
)

__all__: list[str] = []

DIGITS = 30

#: The counterexample RNN of eq. (4)-(6): n = m = k = 1, T = 2, simple numbers; S_0 ≠ 0, so
#: that no reading of (5)-(6) equals the gradient by the accident of a zero first term.
POINT = {
    "params": {"W": [[1.0]], "U": [[1.0]], "V": [[1.0]]},
    "xs": [[1.0], [1.0]],
    "ys": [[1.0], [0.0]],
    "s0": [0.5],
    "T": 2,
}


def _arrays(point: dict) -> tuple:
    p = {k: np.array(v) for k, v in point["params"].items()}
    return p, np.array(point["xs"]), np.array(point["ys"]), np.array(point["s0"])


def _mp_gradient(name: str, steps=None) -> list[list[str]]:
    """∂L/∂name (entries) by mpmath.diff of the written-out model, as 30-digit strings."""
    p = POINT["params"]
    with mpmath.workdps(DIGITS):
        shape = np.array(p[name]).shape
        out = []
        for i in range(shape[0]):
            row = []
            for j in range(shape[1]):

                def loss(s, i=i, j=j):
                    moved = {k: [list(map(mpmath.mpf, r)) for r in v] for k, v in p.items()}
                    moved[name][i][j] += s
                    return reference.rnn_loss(
                        moved["W"],
                        moved["U"],
                        moved["V"],
                        POINT["xs"],
                        POINT["ys"],
                        POINT["s0"],
                        steps,
                    )

                row.append(mpmath.nstr(mpmath.diff(loss, 0), DIGITS))
            out.append(row)
        return out


def _bptt_proofs() -> Proofs:
    return Proofs("exact_proofs", (proved(rnn_bptt(2, 3), "rnn_bptt", n=2, m=1, k=1, T=3),))


def _gradient(name: str, value: list, mp: list[list[str]], reading: str) -> Quantity:
    symbol = rf"\partial L/\partial {name}"
    meanings = {
        "literal": r"as written: the term of the last step alone",
        "derived": r"derived (binary cross-entropy): summed over every $t$ (BPTT)",
    }
    return Quantity(
        f"{reading}_dL_d{name}",
        value,
        symbol,
        meanings[reading],
        mpmath=mp[0][0] if mp else None,
    )


def _rnn_example(title: str, quantities: tuple[Quantity, ...]) -> Example:
    model = rnn_model(POINT["params"], POINT["xs"], POINT["s0"])
    return Example(
        "rnn",
        title,
        r"the RNN (1)-(3) with $n = m = k = 1$ and $T = 2$",
        params=model["params"],
        inputs=(*model["inputs"], Quantity("ys", POINT["ys"], r"y_1, y_2", "targets")),
        quantities=quantities,
    )


def eq4(seed: int) -> Verdict:
    """Eq. (4), ∂L/∂V = ∂L/∂O_t · ∂O_t/∂V: right for one time step's loss L_t; the loss (3)
    sums over t."""
    p, xs, ys, s0 = _arrays(POINT)
    _, grads = rnn.value_and_grad(p, xs, ys, s0)
    last = rnn.value_and_grad(p, xs[1:], ys[1:], rnn.forward(p, xs[:1], s0)[0][0])[1]["V"]
    # as written for t = T: ∂L_T/∂O_T · ∂O_T/∂V, the last step's term
    mp_last = _mp_gradient("V", steps=[1])  # ∂L_T/∂V of the written-out model: L_T alone
    per_step_error = abs(float(mpmath.mpf(mp_last[0][0])) - float(last[0, 0]))
    difference = float(np.abs(grads["V"] - last).max())
    example = _rnn_example(
        r"for $L = \sum_t L_t$ one time step is not the gradient; for the loss $L_T$ of one step "
        r"it is",
        (
            _gradient("V", last.tolist(), mp_last, "literal"),
            _gradient("V", grads["V"].tolist(), _mp_gradient("V"), "derived"),
            Quantity("difference", difference, r"\max|\Delta|", "largest difference"),
        ),
    )
    proofs = _bptt_proofs()
    one_step = per_step_error < 1e-12 * max(1.0, abs(float(last[0, 0])))
    verdict = "holds-if" if one_step and difference > 0 and proofs.hold else "fails"
    return Verdict(
        "eq4",
        verdict,
        Text(
            "the per-step term is right: ∂L_t/∂V = ∂L_t/∂O_t · ∂O_t/∂V; only Σ_t is missing, "
            "since the loss (3) sums over every t",
            r"the per-step term is right, $\partial L_t/\partial V = \partial L_t/\partial O_t "
            r"\cdot \partial O_t/\partial V$; only $\sum_t$ is missing, since the loss (3) sums "
            r"over every $t$",
        ),
        4,
        (
            proofs,
            Quantity(
                "per_step_error",
                per_step_error,
                r"|\Delta|",
                r"the written term against $\partial L_T/\partial V$ by mpmath",
            ),
        ),
        condition=Text(
            "L is one time step's loss L_t (for L = Σ_t L_t, sum the terms over t)",
            r"$L$ is one time step's loss $L_t$ (for $L = \sum_t L_t$, sum the terms over $t$)",
        ),
        condition_latex=r"\frac{\partial L_t}{\partial V} = \frac{\partial L_t}{\partial O_t}"
        r"\cdot \frac{\partial O_t}{\partial V}",
        finding="missing-condition" if verdict == "holds-if" else "wrong-derivation",
        counterexample=(example,),
        takeaway=Text(
            "(4) is the term of one time step; the gradient of the loss (3) is the sum of these "
            "terms over every t.",
            r"(4) is the term of one time step; the gradient of the loss (3) is the sum of "
            r"these terms over every $t$.",
        ),
    )


def _readings(name: str) -> dict[str, float]:
    """The readings of the article's chain (5)-(6) for ∂L_T/∂``name`` at :data:`POINT`
    (n = 1, so every factor commutes), from the derived pieces: ∂L_T/∂S_T
    (``loss_cotangents``), the step Jacobians J_k = ∂S_k/∂S_{k-1} (``state_jacobians``) and
    the immediate partials ∂⁺S_k/∂``name`` (``step_shares`` of a unit cotangent at step k)."""
    p, xs, ys, s0 = _arrays(POINT)
    model = rnn.model("sigmoid", "bce")
    T = len(xs)
    direct = model.loss_cotangents(p, xs, ys, {"S": s0})["S"][T - 1, 0]  # ∂L_T/∂S_T
    J = rnn.state_jacobians(p, xs, s0)[:, 0, 0]

    def immediate(k: int) -> float:  # ∂⁺S_k/∂name; ∂S_0/∂name = 0 (S_0 is fixed)
        if k == 0:
            return 0.0
        unit = np.zeros((T, 1))
        unit[k - 1] = 1.0
        return float(model.step_shares(p, xs, {"S": s0}, {"S": unit})[name][k - 1, 0, 0])

    return {
        "first_line": float(direct * np.prod(J) * immediate(0)),
        "product_of_pairs": float(
            direct * np.prod([J[k - 1] * immediate(k - 1) for k in range(1, T + 1)])
        ),
        "k_at_t": float(direct * np.prod(J) * immediate(T - 1)),
        "last_step": float(direct * immediate(T)),
    }


def _sum_over_paths(name: str) -> float:
    """∂L/∂``name`` at :data:`POINT` as the sum over paths (n = 1): Σ_t Σ_(k ≤ t)
    ∂L_t/∂S_t · (∏_(j=k+1)^t ∂S_j/∂S_(j−1)) · ∂⁺S_k/∂``name``, from the derived pieces."""
    p, xs, ys, s0 = _arrays(POINT)
    model = rnn.model("sigmoid", "bce")
    T = len(xs)
    direct = model.loss_cotangents(p, xs, ys, {"S": s0})["S"][:, 0]  # ∂L_t/∂S_t, each t
    J = rnn.state_jacobians(p, xs, s0)[:, 0, 0]  # J[j - 1] = ∂S_j/∂S_(j−1)

    def immediate(k: int) -> float:  # ∂⁺S_k/∂name, S_(k−1) held fixed
        unit = np.zeros((T, 1))
        unit[k - 1] = 1.0
        return float(model.step_shares(p, xs, {"S": s0}, {"S": unit})[name][k - 1, 0, 0])

    return float(
        sum(
            direct[t - 1] * np.prod(J[k:t]) * immediate(k)
            for t in range(1, T + 1)
            for k in range(1, t + 1)
        )
    )


def _paths_statement(name: str, value: float) -> Statement:
    return Statement(
        "sum_over_paths",
        Text(
            f"as derived, a sum over paths: one step's loss L_t reaches {name} through every "
            f"earlier step k, and the path from S_k to S_t multiplies the t − k step Jacobians "
            f"(7); the loss (3) sums this over t (at the example below the sum is {value:.6g}, "
            "the derived gradient). The claim that the gradient vanishes below 1 is about "
            "these products: long paths fade when the factors are small",
            rf"as derived, a sum over paths: one step's loss $L_t$ reaches ${name}$ through "
            r"every earlier step $k$, and the path from $S_k$ to $S_t$ multiplies the $t - k$ "
            r"step Jacobians (7); the loss (3) sums this over $t$ (at the example below the "
            rf"sum is ${value:.6g}$, the derived gradient).  The claim that the gradient "
            r"vanishes below 1 is about these products: long paths fade when the factors are "
            r"small",
        ),
        rf"\frac{{\partial L_t}}{{\partial {name}}} = \sum_{{k=1}}^{{t}} "
        r"\frac{\partial L_t}{\partial S_t} \Bigl(\prod_{j=k+1}^{t} "
        r"\frac{\partial S_j}{\partial S_{j-1}}\Bigr) "
        rf"\frac{{\partial^+ S_k}}{{\partial {name}}}",
    )


_READINGS = {
    "first_line": ("first line, ending in ", "{d}S_0/{d}{x} = 0"),
    "product_of_pairs": ("each pair inside the product", ""),
    "k_at_t": ("the free ", "k = t"),
    "last_step": ("the last step's own term", ""),
}


def _chain(number: int, name: str, extra: tuple = ()) -> Verdict:
    p, xs, ys, s0 = _arrays(POINT)
    _, grads = rnn.value_and_grad(p, xs, ys, s0)
    mp = _mp_gradient(name)
    mp_last = _mp_gradient(name, steps=[len(xs) - 1])  # ∂L_T/∂name: the loss of step T alone
    last, full = float(mpmath.mpf(mp_last[0][0])), float(mpmath.mpf(mp[0][0]))
    readings = _readings(name)
    operand = {"W": ("S_(t-1)", "S_{t-1}"), "U": ("X_t", "X_t")}[name]
    d = r"\partial "
    table = Table(
        "readings",
        rf"Every reading of the chain ({number}) for $\partial L_T/\partial {name}$ at the "
        r"example below ($S_0 \ne 0$), against the gradient of the loss of step $T$ alone and of "
        r"the whole loss (3), both by mpmath: no reading equals either.  The readings: the "
        r"first line; the second line with each pair $J_k \cdot \partial S_{k-1}/\partial "
        + name
        + r"$ inside the product (the pair $k = 1$ holds $\partial S_0/\partial "
        + name
        + r" = 0$); the second line with the last factor outside the product at its last "
        r"index $k = t$, $\prod_k J_k \cdot \partial^+ S_{t-1}/\partial "
        + name
        + r"$; one path, the last step's own term $\partial L_t/\partial S_t \cdot "
        r"\partial^+ S_t/\partial "
        + name
        + r"$ ($\partial^+$: the immediate partial, $S_{t-1}$ held fixed).",
        (
            Column("reading", "reading"),
            Column("value", "value"),
            Column("off_last", r"$-\,\partial L_T/\partial " + name + "$"),
            Column("off_full", r"$-\,\partial L/\partial " + name + "$"),
        ),
        tuple(
            (
                Named(key, words + (f"${formula.format(d=d, x=name)}$" if formula else "")),
                value,
                value - last,
                value - full,
            )
            for key, value in readings.items()
            for words, formula in (_READINGS[key],)
        ),
    )
    example = _rnn_example(
        rf"the chain ends in $\partial S_0/\partial {name} = 0$, the gradient is not 0",
        (
            Quantity(
                f"literal_dL_d{name}",
                [[readings["first_line"]]],
                rf"\partial L/\partial {name}",
                rf"as written: a chain ending in $\partial S_0/\partial {name} = 0$",
            ),
            _gradient(name, grads[name].tolist(), mp, "derived"),
            Quantity(
                f"last_step_dL_d{name}",
                last,
                rf"\partial L_T/\partial {name}",
                "the loss of step $T$ alone, by mpmath",
            ),
            Quantity("difference", float(np.abs(grads[name]).max()), r"\max|\Delta|", "difference"),
        ),
    )
    proofs = _bptt_proofs()
    paths = _sum_over_paths(name)
    confirm(
        abs(paths - float(grads[name][0, 0])) <= 1e-12 * max(1.0, abs(paths)),
        f"the sum over paths {paths!r} against the derived dL/d{name} {grads[name][0, 0]!r}",
    )
    scale = max(abs(last), abs(full))
    refuted = all(
        abs(v - last) > 1e-3 * scale and abs(v - full) > 1e-3 * scale for v in readings.values()
    )
    verdict = "fails" if refuted and proofs.hold else "holds"
    return Verdict(
        f"eq{number}",
        verdict,
        Text(
            f"the chain ends in ∂S_0/∂{name} = 0 for a fixed S_0; BPTT sums every path "
            f"ā_t {operand[0]}ᵀ over t, and no reading of the written product gives it",
            rf"the chain ends in $\partial S_0/\partial {name} = 0$ for a fixed $S_0$; BPTT "
            rf"sums every path $\bar{{a}}_t {operand[1]}^{{\top}}$ over $t$, and no reading of "
            r"the written product gives it",
        ),
        number,
        (
            _paths_statement(name, paths),
            proofs,
            Statement(
                "second_line",
                Text(
                    f"the second line, as printed: ∏_(k=1)^t ∂S_k/∂S_(k−1) · ∂S_(k−1)/∂{name}; it "
                    "does not say whether the last factor is inside the product, and leaves k "
                    "free if it is not",
                    r"the second line, as printed: it does not say whether the last factor is "
                    r"inside the product, and leaves $k$ free if it is not",
                ),
                r"\frac{\partial L}{\partial O_{t}}\cdot \frac{\partial O_{t}}{\partial S_{t}}"
                r"\cdot \prod_{k=1}^{t} \frac{\partial S_{k}}{\partial S_{k-1}}\cdot "
                rf"\frac{{\partial S_{{k-1}}}}{{\partial {name}}}",
            ),
            table,
            *extra,
        ),
        finding="wrong-derivation" if verdict == "fails" else "sound",
        counterexample=(example,),
        takeaway=Text(
            f"The gradient is a sum over paths, not one chain: each earlier step k contributes "
            f"through the product of the step Jacobians from k + 1 to t. The chain printed in "
            f"({number}) ends in ∂S_0/∂{name} = 0; it is the products inside the sum that "
            "vanish or explode.",
            r"The gradient is a sum over paths, not one chain: each earlier step $k$ "
            r"contributes through the product of the step Jacobians from $k + 1$ to $t$.  The "
            rf"chain printed in ({number}) ends in $\partial S_0/\partial {name} = 0$; it is "
            r"the products inside the sum that vanish or explode.",
        ),
    )


def path_terms(seed: int, n: int = 8, T: int = 60) -> Curve:
    """The factor of each path of the sum over paths of (5): ‖∂S_t/∂S_k‖₂ against t − k for a
    seeded sigmoid RNN at three scales of W, with the bound (γ‖W‖₂)^(t−k)."""
    from numeric import product_norms

    rng = np.random.default_rng(seed)
    W0 = rng.normal(size=(n, n))
    xs, s0 = rng.normal(size=(T, 2)), rng.uniform(0, 1, n)
    U = rng.normal(size=(n, 2)) / 2
    lag = np.arange(1, T + 1)
    series = []
    for scale in (0.8, 1.0, 1.25):
        W = W0 * scale / (0.25 * np.linalg.norm(W0, 2))
        norms = product_norms(rnn.state_jacobians({"W": W, "U": U}, xs, s0))
        group = f"{scale:g}"
        series.append(
            Series(
                rf"$\gamma\|W\|_2 = {scale:g}$",
                tuple(map(float, norms)),
                group=group,
                key=f"norm_at_{scale:g}",
            )
        )
        series.append(
            Series(
                rf"bound $({scale:g})^{{t-k}}$",
                tuple(float(scale**k) for k in lag),
                theory=True,
                group=group,
                key=f"bound_at_{scale:g}",
            )
        )
    return Curve(
        "path_terms",
        rf"The factor of one path of the sum: $\|\partial S_t/\partial S_k\|_2$ of a sigmoid "
        rf"RNN ($n = {n}$, seed {seed}) against the path's length $t - k$, for three scales of "
        r"$W$, with the bound $(\gamma\|W\|_2)^{t-k}$ as a line ($\gamma = 1/4$).  Look at the "
        r"slopes: below $\gamma\|W\|_2 = 1$ long paths fade exponentially, so the gradient "
        r"keeps only its short paths; above 1 the bound allows growth but does not force it.",
        Axis("lag", r"path length $t-k$", tuple(float(k) for k in lag)),
        tuple(series),
        r"$\|\partial S_t/\partial S_k\|_2$",
        log_y=True,
    )


def eq5(seed: int) -> Verdict:
    """Eq. (5), ∂L/∂W as one chain ending in ∂S_0/∂W; as evidence beside it, the sum over
    paths, the size of its paths' factors, and the numerical checks of the derived RNN
    gradients."""
    return _chain(5, "W", (path_terms(seed), numerical_checks("rnn", seed)))


def eq6(seed: int) -> Verdict:
    """Eq. (6), ∂L/∂U as one chain ending in ∂S_0/∂U."""
    return _chain(6, "U")


def eq7(seed: int) -> Verdict:
    """Eq. (7), ∂S_t/∂S_{t-1} = W·σ': the order of W and diag(σ') for n > 1."""
    W = [[1.0, 2.0], [0.0, 1.0]]
    U = [[1.0, 0.0], [0.0, 1.0]]
    x, s_prev = [0.0, 1.0], [0.0, 0.0]  # a_t = W S_(t-1) + U x_t = (0, 1)
    a = np.array(W) @ np.array(s_prev) + np.array(U) @ np.array(x)
    slope = (1 / (1 + np.exp(-a))) * (1 - 1 / (1 + np.exp(-a)))
    diag_w = np.diag(slope) @ np.array(W)  # derived
    w_diag = np.array(W) @ np.diag(slope)  # the article's W·σ' with σ' as a diagonal
    with mpmath.workdps(DIGITS):
        true = [
            [
                mpmath.nstr(
                    mpmath.diff(
                        lambda v, i=i, j=j: reference.rnn_states(
                            W, U, [x], [v if k == j else s_prev[k] for k in range(2)]
                        )[0][i],
                        0,
                    ),
                    DIGITS,
                )
                for j in range(2)
            ]
            for i in range(2)
        ]
    exact = np.array([[float(v) for v in row] for row in true])
    jacobian = r"\partial S_t/\partial S_{t-1}"
    example = Example(
        "rnn_step",
        r"for $n = 2$ the order of $W$ and $\operatorname{diag}(\sigma')$ matters",
        r"one step of the sigmoid RNN (1) with $n = m = 2$",
        **rnn_model({"W": W, "U": U}, [x], s_prev),
        quantities=(
            Quantity("a_t", a.tolist(), "a_t", r"pre-activation $W S_{t-1} + U X_t$"),
            Quantity(
                "derived_diag_sigma_prime_W",
                diag_w.tolist(),
                r"\operatorname{diag}(\sigma'(a_t))\,W",
                "derived",
            ),
            Quantity(
                "written_W_diag_sigma_prime",
                w_diag.tolist(),
                r"W \operatorname{diag}(\sigma'(a_t))",
                "as written",
            ),
            Quantity(
                "mpmath_jacobian",
                true,
                jacobian,
                "the true Jacobian, by mpmath at 30 digits",
            ),
            Quantity(
                "derived_error",
                float(np.abs(diag_w - exact).max()),
                r"\max|\Delta|",
                "error of the derived Jacobian",
            ),
            Quantity(
                "written_error",
                float(np.abs(w_diag - exact).max()),
                r"\max|\Delta|",
                "error of the written Jacobian",
            ),
        ),
    )
    wrong = sp.MatMul(
        sp.MatrixSymbol("W", dims.n, dims.n), Diag(partial(rnn_cell(), "S", "a"), dims.n)
    )
    scalar = rnn_delta_recursion(1, 2, wrong)  # n = 1: the order cannot matter
    matrix = rnn_delta_recursion(2, 2, wrong)
    proofs = Proofs(
        "exact_proofs",
        (
            proved(scalar, "delta_written", n=1, T=2),
            proved(matrix, "delta_written", n=2, T=2),
            proved(rnn_delta_recursion(2, 2), "delta_derived", n=2, T=2),
        ),
    )
    written_error = float(np.abs(w_diag - exact).max())
    verdict = "holds-if" if scalar.holds and not matrix.holds and written_error > 1e-3 else "fails"
    return Verdict(
        "eq7",
        verdict,
        Text(
            "right for a scalar state; for n > 1 the Jacobian is diag(σ'(a_t)) W, not W diag(σ')",
            r"right for a scalar state; for $n > 1$ the Jacobian is "
            r"$\operatorname{diag}(\sigma'(a_t))\,W$, not $W \operatorname{diag}(\sigma')$",
        ),
        7,
        (proofs, activation_slopes()),
        condition=Text(
            "n = 1 (or W and diag(σ'(a_t)) commute, e.g. W diagonal)",
            r"$n = 1$ (or $W$ and $\operatorname{diag}(\sigma'(a_t))$ commute, e.g. $W$ "
            r"diagonal)",
        ),
        condition_latex=r"n = 1",
        finding="missing-condition" if verdict == "holds-if" else "wrong-derivation",
        counterexample=(example,),
        takeaway=Text(
            "For a vector state the step Jacobian is diag(σ'(a_t)) W, the slopes on the left; "
            "(7) is right only for n = 1. Since σ' ≤ γ = 1/4, its norm is at most γ‖W‖₂.",
            r"For a vector state the step Jacobian is $\operatorname{diag}(\sigma'(a_t))\,W$, "
            r"the slopes on the left; (7) is right only for $n = 1$.  Since "
            r"$\sigma' \le \gamma = 1/4$, its norm is at most $\gamma\|W\|_2$.",
        ),
    )


def activation_slopes() -> Curve:
    """σ, σ' and tanh' on [−8, 8], with γ = sup σ' = 1/4: the factor of (7) is σ'."""
    x = np.linspace(-8.0, 8.0, 161)
    s = 1 / (1 + np.exp(-x))
    return Curve(
        "activation_slopes",
        r"The sigmoid $\sigma$, its slope $\sigma'$ (the factor of (7)) and $\tanh'$.  Look "
        r"at the peak of $\sigma'$: $\gamma = \sup \sigma' = 1/4$ at $x = 0$, so each step "
        r"multiplies by at most $\gamma\|W\|_2$, and by much less where $\sigma$ saturates.",
        Axis("x", r"$x$", tuple(map(float, x))),
        (
            Series(r"$\sigma$", tuple(map(float, s)), theory=True, key="sigma"),
            Series(r"$\sigma'$", tuple(map(float, s * (1 - s))), theory=True, key="sigma_prime"),
            Series(
                r"$\tanh'$", tuple(map(float, 1 - np.tanh(x) ** 2)), theory=True, key="tanh_prime"
            ),
        ),
        r"$\sigma(x)$, $\sigma'(x)$, $\tanh'(x)$",
        hlines=((0.25, r"$\gamma = 1/4$"),),
    )
