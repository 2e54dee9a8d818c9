"""Verdicts on the LSTM cell path, eq. (14); the search for the smallest exploding LSTM.

The counterexample is found by search: small-integer LSTM parameters (n = m = 1, x_t = 0,
h_0 = C_0 = 0) in order of size, the first whose state Jacobian product
‖∂(C_T, h_T)/∂(C_0, h_0)‖₂ grows exponentially in T.  Its growth is then recomputed with
``mpmath.diff`` of the LSTM written out in :mod:`bptt_check.reference`, at 30 digits.
"""

from __future__ import annotations

import itertools
from functools import cache

import mpmath
import numpy as np

from derivations.lstm import lstm_cell
from derivations.proofs import lstm_total_cell_derivative, state_jacobian_proof
from numeric import lstm, product_norms

from . import reference
from .claims_common import GROWTH_LSTM, lstm_model, numerical_checks, proved
from .evidence import (
    Axis,
    Curve,
    Example,
    Proofs,
    Quantity,
    Series,
    Statement,
    Text,
    Verdict,
    confirm,
)

__all__ = ["cell_path_products", "exploding_lstm"]

DIGITS = 30
#: The formulas of σ of :data:`numeric.floating.FORMULAS`, as LaTeX text.
FORMULA_LATEX = {
    "1/(1+exp(-x))": r"$1/(1 + e^{-x})$",
    "exp(x)/(1+exp(x))": r"$e^{x}/(1 + e^{x})$",
    "(1+tanh(x/2))/2": r"$(1 + \tanh(x/2))/2$",
}
HORIZONS = (10, 20, 40)  # T at which the Jacobian product is measured
# the searched coordinates: the recurrent weights of the gates and the biases
SEARCHED = ("W_i", "W_f", "W_c", "W_o", "b_i", "b_f", "b_c", "b_o")


def _params(values: dict[str, float]) -> dict[str, np.ndarray]:
    params = {f"W_{g}": np.array([[values.get(f"W_{g}", 0.0), 0.0]]) for g in "ifco"}
    params |= {f"b_{g}": np.array([values.get(f"b_{g}", 0.0)]) for g in "ifco"}
    return params


def growth(params: dict[str, np.ndarray], T: int) -> np.ndarray:
    """‖∂(C_t, h_t)/∂(C_0, h_0)‖₂ for t = 1..T at x_t = 0, h_0 = C_0 = 0 (float64)."""
    return product_norms(lstm.state_jacobians(params, np.zeros((T, 1)), np.zeros(1), np.zeros(1)))


def _exponential(norms: np.ndarray) -> float | None:
    """The per-step growth factor when log ‖·‖ rises linearly over the horizons, else None."""
    if min(norms[T - 1] for T in HORIZONS) <= 0:  # the product vanished exactly
        return None
    logs = [np.log(norms[T - 1]) for T in HORIZONS]
    rates = [
        (b - a) / (t2 - t1)
        for a, b, t1, t2 in zip(logs, logs[1:], HORIZONS, HORIZONS[1:], strict=False)
    ]
    if min(rates) > np.log(1.05) and abs(rates[1] - rates[0]) < 0.05 * abs(rates[0]):
        return float(np.exp(rates[-1]))
    return None


@cache
def exploding_lstm(limit: int = 4) -> dict:
    """The smallest (fewest and smallest integers) searched LSTM whose gradient explodes."""
    for size in range(1, limit + 1):
        for support in itertools.combinations(SEARCHED, min(size, len(SEARCHED))):
            for magnitudes in itertools.product(range(1, size + 1), repeat=len(support)):
                if sum(magnitudes) != size:
                    continue
                for signs in itertools.product((1, -1), repeat=len(support)):
                    values = {
                        k: float(s * v) for k, s, v in zip(support, signs, magnitudes, strict=True)
                    }
                    norms = growth(_params(values), HORIZONS[-1])
                    factor = _exponential(norms)
                    if factor is not None:
                        return {"values": values, "factor": factor, "norms": norms}
    raise RuntimeError("no exploding LSTM among the searched parameters")


def _mp_growth(values: dict[str, float], T: int) -> mpmath.mpf:
    """‖∂(C_T, h_T)/∂(C_0, h_0)‖₂ by mpmath.diff of the written-out LSTM, at 30 digits."""
    params = reference.exact(_params(values))
    xs = [[mpmath.mpf(0)]] * T

    def state(c0, h0):
        h, c = reference.lstm_states(params, xs, [h0], [c0])
        return c[0], h[0]

    with mpmath.workdps(DIGITS):
        columns = []
        for which in range(2):  # d/dC_0, d/dh_0
            columns.append(
                [
                    mpmath.diff(
                        lambda v, w=which, out=o: state(v if w == 0 else 0, v if w == 1 else 0)[
                            out
                        ],
                        0,
                    )
                    for o in range(2)
                ]
            )
        jacobian = mpmath.matrix([[columns[0][0], columns[1][0]], [columns[0][1], columns[1][1]]])
        return max(mpmath.svd_r(jacobian, compute_uv=False))


def _derived_total(params: dict[str, np.ndarray]) -> float:
    """:func:`derivations.lstm.total_cell_derivative` at n = m = 1, C_(t-1) = h_(t-1) = 0 and
    x_t = 0, with o_(t-1) = σ(b_o) (the equilibrium): the derived expression, evaluated."""
    import sympy as sp

    from derivations import dims
    from derivations.explicit import evaluate, to_explicit
    from derivations.lstm import total_cell_derivative

    exact = {k: sp.Matrix(np.atleast_2d(v).T if v.ndim == 1 else v) for k, v in params.items()}
    zero = sp.Matrix([[0]])
    values = evaluate(lstm_cell(), {"h_prev": zero, "C_prev": zero, "x": zero}, exact)
    values["o_prev"] = sp.Matrix([[1 / (1 + sp.exp(-exact["b_o"][0]))]])
    matrix = to_explicit(total_cell_derivative(), values, exact, {dims.n: 1, dims.m: 1})
    return float(matrix[0, 0])


def eq14(seed: int) -> Verdict:
    """Eq. (14), ∂C_t/∂C_{t-1} = f_t: the cell path against the one-step partial through h_{t-1}."""
    found = exploding_lstm()
    values = found["values"]
    gates = {g: float(1 / (1 + np.exp(-values.get(f"b_{g}", 0.0)))) for g in "ifo"}
    total = _derived_total(_params(values))  # the derived dC_t/dC_(t-1), evaluated here
    with mpmath.workdps(DIGITS):
        params = reference.exact(_params(values))
        o_prev = reference.sigma(params["b_o"][0])

        def cell(c_prev):  # h_(t-1) = o_(t-1) tanh(C_(t-1)) follows C_(t-1)
            return reference.lstm_states(params, [[0]], [o_prev * mpmath.tanh(c_prev)], [c_prev])[
                1
            ][0]

        mp_total = mpmath.diff(cell, 0)
    proofs = Proofs(
        "exact_proofs",
        (
            proved(state_jacobian_proof(lstm_cell(), 2), "state_jacobian", n=2, m=1),
            proved(lstm_total_cell_derivative(2), "total_cell", n=2, m=1),
        ),
    )
    model = lstm_model({k: v.tolist() for k, v in _params(values).items()}, [[0.0]], [0.0], [0.0])
    example = Example(
        "lstm_step",
        r"one step from $C_{t-1} = h_{t-1} = 0$: the one-step partial through $h_{t-1}$ is "
        r"not $f_t$",
        r"the LSTM (8)-(13) with $n = m = 1$, $x_t = 0$, $o_{t-1} = \sigma(b_o)$",
        **model,
        quantities=(
            Quantity("f_t", gates["f"], "f_t", "forget gate, the article's answer"),
            Quantity(
                "total_dC_dC_prev",
                total,
                r"\mathrm{d}C_t/\mathrm{d}C_{t-1}",
                r"the one-step partial through $h_{t-1}$ ($o_{t-1}$ held fixed), derived",
                mpmath=mpmath.nstr(mp_total, DIGITS),
            ),
            Quantity(
                "growth", float(growth(_params(values), 1)[0]), GROWTH_LSTM, "one-step growth"
            ),
        ),
    )
    confirm(abs(float(mp_total) - total) < 1e-12, f"dC_t/dC_(t-1): mpmath {mp_total}, {total}")
    products = Statement(
        "one_step_partial",
        Text(
            "dC_t/dC_(t−1) here holds o_(t−1) fixed: it is the one-step partial, and products of "
            "it are not dC_T/dC_0; the object whose product gives the gradient is the "
            "2n × 2n state Jacobian ∂(C_t, h_t)/∂(C_(t−1), h_(t−1))",
            r"$\mathrm{d}C_t/\mathrm{d}C_{t-1}$ here holds $o_{t-1}$ fixed: it is the one-step "
            r"partial, and products of it are not $\mathrm{d}C_T/\mathrm{d}C_0$; the object "
            r"whose product gives the gradient is the $2n \times 2n$ state Jacobian",
        ),
        r"\frac{\partial (C_T, h_T)}{\partial (C_0, h_0)} = \prod_{t=T}^{1} "
        r"\frac{\partial (C_t, h_t)}{\partial (C_{t-1}, h_{t-1})}",
    )
    verdict = "holds-if" if proofs.hold and total != gates["f"] else "fails"
    return Verdict(
        "eq14",
        verdict,
        Text(
            "f_t is the cell path only; through h_(t-1) = o_(t-1) tanh(C_(t-1)) the one-step "
            "partial adds the gates' dependence on h_(t-1)",
            r"$f_t$ is the cell path only; through $h_{t-1} = o_{t-1} \odot \tanh(C_{t-1})$ "
            r"the one-step partial adds the gates' dependence on $h_{t-1}$",
        ),
        14,
        (proofs, products, cell_path_products(), numerical_checks("lstm", seed)),
        condition=Text(
            "h_(t-1) is held fixed: the partial along the cell path alone",
            r"$h_{t-1}$ is held fixed: the partial derivative along the cell path alone",
        ),
        condition_latex=r"\left.\frac{\partial C_t}{\partial C_{t-1}}\right|_{h_{t-1}} "
        r"= \operatorname{diag}(f_t)",
        finding="missing-condition" if verdict == "holds-if" else "wrong-derivation",
        counterexample=(example,),
        takeaway=Text(
            "f_t is the Jacobian along the cell path alone; the gradient multiplies the full "
            "state Jacobian ∂(C_t, h_t)/∂(C_(t−1), h_(t−1)), which also carries the path "
            "through h_(t−1) and the gates.",
            r"$f_t$ is the Jacobian along the cell path alone; the gradient multiplies the "
            r"full state Jacobian $\partial (C_t, h_t)/\partial (C_{t-1}, h_{t-1})$, which "
            r"also carries the path through $h_{t-1}$ and the gates.",
        ),
    )


#: The half-life line of :func:`cell_path_products`: the share of the gradient the cell path
#: keeps (the ρ of the claim that f_t near 1 keeps the gradient).
RHO = 0.5


def cell_path_products() -> Curve:
    """What (14) predicts along the cell path: ∏_(t ≤ T) f_t = σ(z_f)^T for constant forget
    pre-activations z_f, T = 1 … 1000, with the line ρ = 1/2."""
    T = np.unique(np.round(np.geomspace(1, 1000, 61)))
    return Curve(
        "cell_path_products",
        r"What (14) predicts along the cell path: $\prod_{t \le T} f_t = \sigma(z_f)^T$ for "
        r"constant forget pre-activations $z_f$, with the line $\rho = 1/2$.  Look at where "
        r"each curve crosses the line: the nearer $f_t$ is to 1, the longer the cell path "
        r"keeps half of its gradient; the path through $h_{t-1}$ is not in this picture.",
        Axis("T", r"$T$", tuple(map(float, T))),
        tuple(
            Series(
                rf"$z_f = {z}$, $f_t = {1 / (1 + np.exp(-z)):.3f}$",
                tuple(float((1 / (1 + np.exp(-z))) ** t) for t in T),
                theory=True,
                key=f"z_f_{z}",
            )
            for z in (1, 2, 3, 5, 7)
        ),
        r"$\prod_{t \leq T} f_t$",
        hlines=((RHO, rf"$\rho = {RHO:g}$"),),
        log_x=True,
    )
