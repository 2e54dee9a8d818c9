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
from .claims_common import proved, rnn_model
from .evidence import Example, Proofs, Quantity, Statement, Text, Verdict

__all__: list[str] = []

DIGITS = 30

#: The counterexample RNN of eq. (4)-(6): n = m = k = 1, T = 2, simple numbers.
POINT = {
    "params": {"W": [[1.0]], "U": [[1.0]], "V": [[1.0]]},
    "xs": [[1.0], [1.0]],
    "ys": [[1.0], [0.0]],
    "s0": [0.0],
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
        "derived": r"derived: summed over every $t$ (BPTT)",
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
    """Eq. (4), ∂L/∂V = ∂L/∂O_t · ∂O_t/∂V: one time step against the sum over t."""
    p, xs, ys, s0 = _arrays(POINT)
    _, grads = rnn.value_and_grad(p, xs, ys, s0)
    last = rnn.value_and_grad(p, xs[1:], ys[1:], rnn.forward(p, xs[:1], s0)[0][0])[1]["V"]
    # the literal reading: the term of the last step alone, ∂L_T/∂O_T ∂O_T/∂V
    difference = float(np.abs(grads["V"] - last).max())
    example = _rnn_example(
        "one time step is not the gradient",
        (
            _gradient("V", last.tolist(), _mp_gradient("V", steps=[1]), "literal"),
            _gradient("V", grads["V"].tolist(), _mp_gradient("V"), "derived"),
            Quantity("difference", difference, r"\max|\Delta|", "largest difference"),
        ),
    )
    proofs = _bptt_proofs()
    verdict = "fails" if difference > 0 and proofs.hold else "holds"
    return Verdict(
        "eq4",
        verdict,
        Text(
            "one time step t is written; ∂L/∂V sums (O_t − y_t) S_tᵀ over every t",
            r"one time step $t$ is written; $\partial L/\partial V$ sums "
            r"$(O_t - y_t)\,S_t^{\top}$ over every $t$",
        ),
        4,
        (proofs,),
        counterexample=(example,),
    )


def _chain(number: int, name: str) -> Verdict:
    p, xs, ys, s0 = _arrays(POINT)
    _, grads = rnn.value_and_grad(p, xs, ys, s0)
    mp = _mp_gradient(name)
    operand = {"W": ("S_(t-1)", "S_{t-1}"), "U": ("X_t", "X_t")}[name]
    example = _rnn_example(
        rf"the chain ends in $\partial S_0/\partial {name} = 0$, the gradient is not 0",
        (
            Quantity(
                f"literal_dL_d{name}",
                [[0.0]],  # the chain ends in ∂S_0/∂W = 0: S_0 is fixed
                rf"\partial L/\partial {name}",
                rf"as written: a chain ending in $\partial S_0/\partial {name} = 0$",
            ),
            _gradient(name, grads[name].tolist(), mp, "derived"),
            Quantity("difference", float(np.abs(grads[name]).max()), r"\max|\Delta|", "difference"),
        ),
    )
    proofs = _bptt_proofs()
    nonzero = abs(mpmath.mpf(mp[0][0])) > 0
    verdict = "fails" if nonzero and proofs.hold else "holds"
    return Verdict(
        f"eq{number}",
        verdict,
        Text(
            f"the chain ends in ∂S_0/∂{name} = 0 for a fixed S_0; BPTT sums every path "
            f"ā_t {operand[0]}ᵀ over t",
            rf"the chain ends in $\partial S_0/\partial {name} = 0$ for a fixed $S_0$; BPTT "
            rf"sums every path $\bar{{a}}_t {operand[1]}^{{\top}}$ over $t$",
        ),
        number,
        (
            proofs,
            Statement(
                "second_line",
                Text(
                    "∏_k ∂S_k/∂S_(k-1) · ∂S_(k-1)/∂W leaves k free outside the product",
                    r"the second line leaves $k$ free outside the product",
                ),
                r"\Bigl(\prod_{k=1}^{t} \frac{\partial S_k}{\partial S_{k-1}}\Bigr)"
                rf"\frac{{\partial S_{{k-1}}}}{{\partial {name}}}",
            ),
        ),
        counterexample=(example,),
    )


def eq5(seed: int) -> Verdict:
    """Eq. (5), ∂L/∂W as one chain ending in ∂S_0/∂W."""
    return _chain(5, "W")


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
        (proofs,),
        condition=Text(
            "n = 1 (or W and diag(σ'(a_t)) commute, e.g. W diagonal)",
            r"$n = 1$ (or $W$ and $\operatorname{diag}(\sigma'(a_t))$ commute, e.g. $W$ "
            r"diagonal)",
        ),
        condition_latex=r"n = 1",
        counterexample=(example,),
    )
