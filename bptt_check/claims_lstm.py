"""Verdicts on the LSTM argument: eq. (14) and "σ never exceeds 1, so no explosion".

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

from derivations.bounds import bounds
from derivations.equations import equation
from derivations.lstm import lstm_cell
from derivations.proofs import lstm_total_cell_derivative, state_jacobian_proof
from numeric import lstm, product_norms
from numeric.floating import FORMULAS, extremes, saturation_threshold, underflow_threshold

from . import reference
from .region import coefficient_bounds, kappa
from .verdicts import Verdict, confirm

__all__ = ["exploding_lstm"]

DIGITS = 30
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


def _latex() -> tuple[str, str]:
    return equation(14).latex("as_written"), equation(14).latex("as_derived")


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
    """Eq. (14), ∂C_t/∂C_{t-1} = f_t: the cell path against the total derivative."""
    written, derived = _latex()
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
    proofs = [state_jacobian_proof(lstm_cell(), 2), lstm_total_cell_derivative(2)]
    counterexample = {
        "n": 1,
        "params": {k: v.tolist() for k, v in _params(values).items()},
        "C_prev": 0.0,
        "h_prev": 0.0,
        "x_t": [0.0],
        "xs": [[0.0]],
        "h0": [0.0],
        "c0": [0.0],
        "T": 1,
        "growth": float(growth(_params(values), 1)[0]),
        "f_t": gates["f"],
        "total_dC_dC_prev": total,
        "mpmath_total_dC_dC_prev": mpmath.nstr(mp_total, DIGITS),
    }
    confirm(abs(float(mp_total) - total) < 1e-12, f"dC_t/dC_(t-1): mpmath {mp_total}, {total}")
    verdict = "holds-if" if all(p.holds for p in proofs) and total != gates["f"] else "fails"
    return Verdict(
        "eq14",
        verdict,
        "f_t is the cell path only; through h_(t-1) = o_(t-1) tanh(C_(t-1)) the total "
        "derivative adds the gates' dependence on h_(t-1)",
        written,
        derived,
        {"exact_proofs": {p.name: p.holds for p in proofs}, "exact": True},
        condition="h_(t-1) is held fixed: the partial along the cell path alone",
        condition_latex=r"\left.\frac{\partial C_t}{\partial C_{t-1}}\right|_{h_{t-1}}",
        counterexample=counterexample,
    )


def _region(seed: int, f_max: float = 0.9, T: int = 200) -> dict:
    """The proved no-explosion region κ ≤ 1 (see :mod:`bptt_check.region`), with random LSTMs
    inside it (forget bias logit(0.85), recurrent rows of ∞-norm 0.02, x_t = 0: f_t ≤ f_max)
    and the counterexample outside it."""
    c_max = 1 / (1 - f_max)
    rng = np.random.default_rng(seed)
    inside = []
    for _ in range(5):
        n = int(rng.integers(1, 5))
        params = {}
        for g in "ifco":
            W = rng.normal(size=(n, n + 1))
            W[:, :n] *= 0.02 / np.abs(W[:, :n]).sum(axis=1, keepdims=True)
            params[f"W_{g}"] = W
            params[f"b_{g}"] = rng.uniform(-1, 1, n)
        params["b_f"] = np.full(n, np.log(0.85 / 0.15))
        J = lstm.state_jacobians(
            params, np.zeros((T, 1)), rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
        )
        product, worst, gates = np.eye(2 * n), 0.0, []
        for step in J:
            product = step @ product
            worst = max(worst, float(np.abs(product).sum(axis=1).max()))
            gates.append(float(np.diag(step)[:n].max()))  # the C-block diagonal is f_t
        inside.append(
            {
                "n": n,
                "kappa": kappa(params, f_max, c_max),
                "max_f": max(gates),
                "max_inf_norm_of_product": worst,
            }
        )
    found = _params(exploding_lstm()["values"])
    return {
        "hypotheses": "f_t ≤ f_max at every step (e.g. b_f + ‖W_f^(h)‖_∞ + |W_f^(x) x_t| ≤ "
        "logit f_max) and |C_0| ≤ 1/(1 − f_max), so that |C_t| ≤ c_max = 1/(1 − f_max)",
        "statement": "‖∂(C_t,h_t)/∂(C_(t−1),h_(t−1))‖_∞ ≤ κ = max over C, h rows of the "
        "certified diagonal bound + Σ ĉ_k ‖W_(g_k)^(h)‖_∞; κ ≤ 1 ⇒ no explosion",
        "f_max": f_max,
        "c_max": c_max,
        "T": T,
        "certified_coefficient_bounds": {
            f"{row}/{column}": [[bound, weight] for bound, weight in terms]
            for (row, column), terms in coefficient_bounds(f_max, c_max).items()
        },
        "inside": inside,
        "counterexample_kappa": kappa(found, f_max, c_max),
    }


def sigma_below_one(seed: int) -> Verdict:
    """ "σ never exceeds 1, so the LSTM gradient cannot explode" (after eq. (14))."""
    written, derived = _latex()
    found = exploding_lstm()
    T = HORIZONS[-1]
    mp_norm = _mp_growth(found["values"], T)
    norms = found["norms"]
    counterexample = {
        "n": 1,
        "T": T,
        "params": {k: v.tolist() for k, v in _params(found["values"]).items()},
        "xs": [[0.0]] * T,
        "h0": [0.0],
        "c0": [0.0],
        "growth": float(norms[T - 1]),
        "growth_by_T": {str(t): float(norms[t - 1]) for t in HORIZONS},
        "factor_per_step": found["factor"],
        "mpmath_growth": mpmath.nstr(mp_norm, DIGITS),
        "forget_gate": float(1 / (1 + np.exp(-found["values"].get("b_f", 0.0)))),
    }
    premises = {b.name: b.holds for b in bounds()}
    floats = {
        np.dtype(d).name: float(saturation_threshold(d))
        for d in (np.float16, np.float32, np.float64)
    }
    formulas = {
        f"{np.dtype(d).name}: {f}": extremes(d, f)
        for d in (np.float16, np.float32, np.float64)
        for f in FORMULAS
    }
    confirm(
        abs(mp_norm - counterexample["growth"]) < 1e-9 * mp_norm,
        f"LSTM growth: mpmath {mp_norm} against {counterexample['growth']}",
    )
    region = _region(seed)
    evidence = {
        "premise_sigma_in_(0,1)_proved": premises,
        "region_where_it_holds": region,
        "sigma_saturates_at": floats,
        "sigma_underflows_to_zero_at": {
            np.dtype(d).name: float(underflow_threshold(d))
            for d in (np.float16, np.float32, np.float64)
        },
        "in_floating_point": "beyond these x the computed σ is exactly 1 and σ' exactly 0: "
        "f_t = 1 makes the cell path ∏ f_t exactly 1 (it cannot vanish there), and a "
        "saturated gate passes no gradient to its weights; no formula tried exceeds 1, but "
        "e^x/(1 + e^x) gives NaN once e^x overflows",
        "formulas": formulas,
        "growth_confirmed_in_mpmath": True,
    }
    region_ok = (
        all(
            r["kappa"] <= 1 and r["max_inf_norm_of_product"] <= 1 and r["max_f"] <= 0.9
            for r in region["inside"]
        )
        and region["counterexample_kappa"] > 1
    )
    evidence["region_confirmed"] = region_ok
    verdict = "holds-if" if region_ok and counterexample["forget_gate"] < 1 else "fails"
    return Verdict(
        "sigma-below-one",
        verdict,
        "only for small recurrent weights (a certified bound κ ≤ 1): 0 < f_t < 1 holds, but the "
        "state Jacobian also carries the path through h_(t-1), which here grows "
        f"×{found['factor']:.3g} per step while f_t = {counterexample['forget_gate']:.3g}",
        written,
        derived,
        evidence,
        condition="the recurrent weights satisfy κ ≤ 1: the certified coefficient bounds times "
        "‖W_g^(h)‖_∞, plus f_max, at most 1 in each row (with f_t ≤ f_max and |C_0| ≤ "
        "1/(1 − f_max))",
        condition_latex=r"\kappa = f_{\max} + \sum_k \hat c_k \|W_{g_k}^{(h)}\|_\infty"
        r" \le 1 \ \Rightarrow\ "
        r"\left\|\frac{\partial (C_T, h_T)}{\partial (C_0, h_0)}\right\|_\infty \le 1",
        counterexample=counterexample,
    )
