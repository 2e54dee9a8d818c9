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
from derivations.equations import equation
from derivations.matrices import Diag
from derivations.proofs import rnn_bptt, rnn_delta_recursion
from derivations.rnn import rnn_cell
from numeric import product_norms, rnn

from . import reference
from .verdicts import Verdict

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


def _growth(params: dict, xs, s0) -> float:
    """‖∂S_T/∂S_0‖₂ of an RNN counterexample (the schema's ``growth``)."""
    J = rnn.state_jacobians({"W": params["W"], "U": params["U"]}, xs, s0)
    return float(product_norms(J)[-1])


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


def _latex(number: int) -> tuple[str, str]:
    return equation(number).latex("as_written"), equation(number).latex("as_derived")


def eq4(seed: int) -> Verdict:
    """Eq. (4), ∂L/∂V = ∂L/∂O_t · ∂O_t/∂V: one time step against the sum over t."""
    p, xs, ys, s0 = _arrays(POINT)
    _, grads = rnn.value_and_grad(p, xs, ys, s0)
    last = rnn.value_and_grad(p, xs[1:], ys[1:], rnn.forward(p, xs[:1], s0)[0][0])[1]["V"]
    # the literal reading: the term of the last step alone, ∂L_T/∂O_T ∂O_T/∂V
    written, derived = _latex(4)
    counterexample = {
        **POINT,
        "growth": _growth(p, xs, s0),
        "literal_dL_dV": last.tolist(),
        "derived_dL_dV": grads["V"].tolist(),
        "difference": float(np.abs(grads["V"] - last).max()),
        "mpmath": {
            "literal_dL_dV": _mp_gradient("V", steps=[1]),
            "derived_dL_dV": _mp_gradient("V"),
        },
    }
    proof = rnn_bptt(2, 3)
    verdict = "fails" if counterexample["difference"] > 0 and proof.holds else "holds"
    return Verdict(
        "eq4",
        verdict,
        "one time step t is written; ∂L/∂V sums (O_t − y_t) S_tᵀ over every t",
        written,
        derived,
        {"exact_proofs": {proof.name: proof.holds}},
        counterexample=counterexample,
    )


def _chain(number: int, name: str) -> Verdict:
    p, xs, ys, s0 = _arrays(POINT)
    _, grads = rnn.value_and_grad(p, xs, ys, s0)
    written, derived = _latex(number)
    mp = _mp_gradient(name)
    counterexample = {
        **POINT,
        "growth": _growth(p, xs, s0),
        f"literal_dL_d{name}": [[0.0]],  # the chain ends in ∂S_0/∂W = 0: S_0 is fixed
        f"derived_dL_d{name}": grads[name].tolist(),
        "difference": float(np.abs(grads[name]).max()),
        "mpmath": {f"derived_dL_d{name}": mp},
    }
    proof = rnn_bptt(2, 3)
    nonzero = abs(mpmath.mpf(mp[0][0])) > 0
    verdict = "fails" if nonzero and proof.holds else "holds"
    return Verdict(
        f"eq{number}",
        verdict,
        f"the chain ends in ∂S_0/∂{name} = 0 for a fixed S_0; BPTT sums every path "
        f"ā_t (S_(t-1) or X_t)ᵀ over t",
        written,
        derived,
        {
            "exact_proofs": {proof.name: proof.holds},
            "second_line": "∏_k ∂S_k/∂S_(k-1) · ∂S_(k-1)/∂W leaves k free outside the product",
        },
        counterexample=counterexample,
    )


def eq5(seed: int) -> Verdict:
    """Eq. (5), ∂L/∂W as one chain ending in ∂S_0/∂W."""
    return _chain(5, "W")


def eq6(seed: int) -> Verdict:
    """Eq. (6), ∂L/∂U as one chain ending in ∂S_0/∂U."""
    return _chain(6, "U")


def eq7(seed: int) -> Verdict:
    """Eq. (7), ∂S_t/∂S_{t-1} = W·σ': the order of W and diag(σ') for n > 1."""
    written, derived = _latex(7)
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
    counterexample = {
        "n": 2,
        "params": {"W": W, "U": U},
        "xs": [x],
        "s0": s_prev,
        "T": 1,
        "growth": float(np.linalg.norm(exact, 2)),
        "W": W,
        "U": U,
        "x_t": x,
        "S_prev": s_prev,
        "a_t": a.tolist(),
        "derived_diag_sigma_prime_W": diag_w.tolist(),
        "written_W_diag_sigma_prime": w_diag.tolist(),
        "mpmath_jacobian": true,
        "derived_error": float(np.abs(diag_w - exact).max()),
        "written_error": float(np.abs(w_diag - exact).max()),
    }
    wrong = sp.MatMul(
        sp.MatrixSymbol("W", dims.n, dims.n), Diag(partial(rnn_cell(), "S", "a"), dims.n)
    )
    scalar = rnn_delta_recursion(1, 2, wrong)  # n = 1: the order cannot matter
    matrix = rnn_delta_recursion(2, 2, wrong)
    evidence = {
        "exact_proofs": {
            "W·diag(σ') at n = 1": scalar.holds,
            "W·diag(σ') at n = 2": matrix.holds,
            "diag(σ')·W at n = 2": rnn_delta_recursion(2, 2).holds,
        }
    }
    verdict = (
        "holds-if"
        if scalar.holds and not matrix.holds and counterexample["written_error"] > 1e-3
        else "fails"
    )
    return Verdict(
        "eq7",
        verdict,
        "right for a scalar state; for n > 1 the Jacobian is diag(σ'(a_t)) W, not W diag(σ')",
        written,
        derived,
        evidence,
        condition="n = 1 (or W and diag(σ'(a_t)) commute, e.g. W diagonal)",
        condition_latex=r"n = 1",
        counterexample=counterexample,
    )
