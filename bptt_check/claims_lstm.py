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
from derivations.lstm import lstm_cell
from derivations.proofs import lstm_total_cell_derivative, state_jacobian_proof
from numeric import lstm, product_norms
from numeric.floating import FORMULAS, extremes, saturation_threshold, underflow_threshold

from . import reference
from .claims_common import GROWTH_LSTM, lstm_model, proved, symbol
from .evidence import (
    Column,
    Example,
    Named,
    Proofs,
    Proved,
    Quantity,
    Statement,
    Table,
    Text,
    Verdict,
    confirm,
)
from .region import coefficient_bounds, kappa

__all__ = ["exploding_lstm"]

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
    """Eq. (14), ∂C_t/∂C_{t-1} = f_t: the cell path against the total derivative."""
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
        r"one step from $C_{t-1} = h_{t-1} = 0$: the total derivative is not $f_t$",
        r"the LSTM (8)-(13) with $n = m = 1$, $x_t = 0$, $o_{t-1} = \sigma(b_o)$",
        **model,
        quantities=(
            Quantity("f_t", gates["f"], "f_t", "forget gate, the article's answer"),
            Quantity(
                "total_dC_dC_prev",
                total,
                r"\mathrm{d}C_t/\mathrm{d}C_{t-1}",
                "the derived total derivative",
                mpmath=mpmath.nstr(mp_total, DIGITS),
            ),
            Quantity(
                "growth", float(growth(_params(values), 1)[0]), GROWTH_LSTM, "one-step growth"
            ),
        ),
    )
    confirm(abs(float(mp_total) - total) < 1e-12, f"dC_t/dC_(t-1): mpmath {mp_total}, {total}")
    verdict = "holds-if" if proofs.hold and total != gates["f"] else "fails"
    return Verdict(
        "eq14",
        verdict,
        Text(
            "f_t is the cell path only; through h_(t-1) = o_(t-1) tanh(C_(t-1)) the total "
            "derivative adds the gates' dependence on h_(t-1)",
            r"$f_t$ is the cell path only; through $h_{t-1} = o_{t-1} \odot \tanh(C_{t-1})$ "
            r"the total derivative adds the gates' dependence on $h_{t-1}$",
        ),
        14,
        (proofs,),
        condition=Text(
            "h_(t-1) is held fixed: the partial along the cell path alone",
            r"$h_{t-1}$ is held fixed: the partial derivative along the cell path alone",
        ),
        condition_latex=r"\left.\frac{\partial C_t}{\partial C_{t-1}}\right|_{h_{t-1}} "
        r"= \operatorname{diag}(f_t)",
        counterexample=(example,),
    )


_BLOCKS = {"C": "C_t", "h": "h_t", "C_prev": "C_{t-1}", "h_prev": "h_{t-1}"}


def _region(seed: int, f_max: float = 0.9, T: int = 200) -> tuple:
    """The proved no-explosion region κ ≤ 1 (see :mod:`bptt_check.region`), with random LSTMs
    inside it (forget bias logit(0.85), recurrent rows of ∞-norm 0.02, x_t = 0: f_t ≤ f_max)
    and the counterexample outside it: evidence items, and whether the samples confirm it."""
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
        inside.append((n, kappa(params, f_max, c_max), max(gates), worst))
    found = kappa(_params(exploding_lstm()["values"]), f_max, c_max)
    bounds = coefficient_bounds(f_max, c_max)
    confirmed = all(k <= 1 and w <= 1 and f <= f_max for _, k, f, w in inside) and found > 1
    items = (
        Statement(
            "hypotheses",
            Text(
                "f_t ≤ f_max at every step (e.g. b_f + ‖W_f^(h)‖_∞ + |W_f^(x) x_t| ≤ logit f_max) "
                "and |C_0| ≤ 1/(1 − f_max), so that |C_t| ≤ c_max = 1/(1 − f_max)",
                r"the region's hypotheses: $f_t \le f_{\max}$ at every step and "
                r"$|C_0| \le c_{\max}$, so that $|C_t| \le c_{\max}$ for every $t$",
            ),
            r"f_t \le f_{\max},\qquad |C_t| \le c_{\max} = \frac{1}{1 - f_{\max}}",
        ),
        Statement(
            "statement",
            Text(
                "‖∂(C_t,h_t)/∂(C_(t−1),h_(t−1))‖_∞ ≤ κ = max over C, h rows of the certified "
                "diagonal bound + Σ ĉ_k ‖W_(g_k)^(h)‖_∞; κ ≤ 1 ⇒ no explosion",
                r"the bound proved: each row of the step Jacobian is at most its certified "
                r"diagonal bound plus $\sum_k \hat c_k \|W_{g_k}^{(h)}\|_\infty$",
            ),
            r"\left\|\frac{\partial (C_t, h_t)}{\partial (C_{t-1}, h_{t-1})}\right\|_\infty"
            r" \le \kappa",
        ),
        Quantity("f_max", f_max, r"f_{\max}", "largest forget gate allowed"),
        Quantity("c_max", c_max, r"c_{\max}", "bound on the cell state"),
        Table(
            "certified_coefficient_bounds",
            r"The certified coefficient bounds $\hat c_k$ (interval arithmetic over the box of "
            r"gate values) of each block of the step Jacobian.",
            (
                Column("row", "block row"),
                Column("column", "block column"),
                Column("weight", "multiplies"),
                Column("bound", r"bound $\hat c_k$"),
            ),
            tuple(
                (
                    Named(row, f"${_BLOCKS[row]}$"),
                    Named(column, f"${_BLOCKS[column]}$"),
                    Named(weight, "the diagonal")
                    if weight is None
                    else Named(weight, rf"$\|{symbol(weight)}^{{(h)}}\|_\infty$"),
                    bound,
                )
                for (row, column), terms in bounds.items()
                for bound, weight in terms
            ),
        ),
        Table(
            "inside",
            rf"Random LSTMs inside the region ($f_{{\max}} = {f_max}$, $x_t = 0$, $T = {T}$): "
            r"$\kappa \le 1$ and the product of their step Jacobians stays bounded.",
            (
                Column("n", "$n$"),
                Column("kappa", r"$\kappa$"),
                Column("max_f", r"largest $f_t$"),
                Column("max_inf_norm_of_product", r"largest $\|\prod_t J_t\|_\infty$"),
            ),
            tuple(inside),
        ),
        Quantity(
            "counterexample_kappa",
            found,
            r"\kappa",
            "of the exploding counterexample: outside the region",
        ),
    )
    return items, confirmed


def sigma_below_one(seed: int) -> Verdict:
    """ "σ never exceeds 1, so the LSTM gradient cannot explode" (after eq. (14))."""
    found = exploding_lstm()
    T = HORIZONS[-1]
    mp_norm = _mp_growth(found["values"], T)
    norms = found["norms"]
    forget = float(1 / (1 + np.exp(-found["values"].get("b_f", 0.0))))
    example = Example(
        "lstm",
        r"$0 < f_t < 1$ at every step, yet the gradient grows exponentially",
        r"the LSTM (8)-(13) with $n = m = 1$, $x_t = 0$, found by search",
        **lstm_model(
            {k: v.tolist() for k, v in _params(found["values"]).items()}, [[0.0]] * T, [0.0], [0.0]
        ),
        quantities=(
            Quantity(
                "growth",
                float(norms[T - 1]),
                GROWTH_LSTM,
                f"growth over $T = {T}$ steps",
                mpmath=mpmath.nstr(mp_norm, DIGITS),
            ),
            Quantity(
                "growth_by_T",
                {str(t): float(norms[t - 1]) for t in HORIZONS},
                GROWTH_LSTM,
                "growth after $T$ steps, by $T$",
            ),
            Quantity("factor_per_step", found["factor"], "", "growth factor", "per step"),
            Quantity("forget_gate", forget, "f_t", "forget gate (constant here)"),
        ),
    )
    confirm(
        abs(mp_norm - float(norms[T - 1])) < 1e-9 * mp_norm,
        f"LSTM growth: mpmath {mp_norm} against {float(norms[T - 1])}",
    )
    region, region_ok = _region(seed)
    dtypes = (np.float16, np.float32, np.float64)
    floats = Table(
        "sigma_in_floating_point",
        r"Where the computed $\sigma(x) = 1/(1 + e^{-x})$ is exactly 1 (for $x$ at or above "
        r"the threshold) and exactly 0 (at or below it), in each precision.",
        (
            Column("precision", "precision"),
            Column("sigma_saturates_at", r"$\sigma(x) = 1$ from $x =$"),
            Column("sigma_underflows_to_zero_at", r"$\sigma(x) = 0$ up to $x =$"),
        ),
        tuple(
            (
                np.dtype(d).name,
                float(saturation_threshold(d)),
                float(underflow_threshold(d)),
            )
            for d in dtypes
        ),
        layout="columns",
    )

    def largest(d, f) -> str:
        result = extremes(d, f)
        return f"{result['max']:g}" + (", NaN for large x" if result["nan"] else "")

    formulas = Table(
        "formulas",
        r"The largest value each formula of $\sigma$ computes in each precision: none exceeds "
        r"1, but $e^x/(1+e^x)$ gives NaN once $e^x$ overflows.",
        (
            Column("formula", "formula"),
            *(Column(np.dtype(d).name, np.dtype(d).name) for d in dtypes),
        ),
        tuple((Named(f, FORMULA_LATEX[f]), *(largest(d, f) for d in dtypes)) for f in FORMULAS),
    )
    evidence = (
        Proofs(
            "premises_proved",
            tuple(Proved(b.name, f"${b.latex}$", {}, b.holds) for b in bounds()),
        ),
        *region,
        Quantity(
            "region_confirmed",
            region_ok,
            "",
            "the samples inside and the counterexample outside confirm the region",
        ),
        floats,
        Statement(
            "in_floating_point",
            Text(
                "beyond these x the computed σ is exactly 1 and σ' exactly 0: f_t = 1 makes the "
                "cell path ∏ f_t exactly 1 (it cannot vanish there), and a saturated gate passes "
                "no gradient to its weights",
                r"beyond these $x$ the computed $\sigma$ is exactly 1 and $\sigma'$ exactly 0: "
                r"$f_t = 1$ makes the cell path $\prod f_t$ exactly 1 (it cannot vanish there), "
                r"and a saturated gate passes no gradient to its weights",
            ),
        ),
        formulas,
    )
    verdict = "holds-if" if region_ok and forget < 1 else "fails"
    return Verdict(
        "sigma-below-one",
        verdict,
        Text(
            "only for small recurrent weights (a certified bound κ ≤ 1): 0 < f_t < 1 holds, but "
            "the state Jacobian also carries the path through h_(t-1), which here grows "
            f"×{found['factor']:.3g} per step while f_t = {forget:.3g}",
            r"only for small recurrent weights (a certified bound $\kappa \le 1$): "
            r"$0 < f_t < 1$ holds, but the state Jacobian also carries the path through "
            rf"$h_{{t-1}}$, which here grows $\times{found['factor']:.3g}$ per step while "
            rf"$f_t = {forget:.3g}$",
        ),
        14,
        evidence,
        condition=Text(
            "the recurrent weights satisfy κ ≤ 1: the certified coefficient bounds times "
            "‖W_g^(h)‖_∞, plus f_max, at most 1 in each row (with f_t ≤ f_max and |C_0| ≤ "
            "1/(1 − f_max))",
            r"the recurrent weights satisfy $\kappa \le 1$: in each row, the certified "
            r"coefficient bounds times $\|W_g^{(h)}\|_\infty$, plus $f_{\max}$, are at most 1 "
            r"(with $f_t \le f_{\max}$ and $|C_0| \le 1/(1 - f_{\max})$)",
        ),
        condition_latex=r"\kappa = f_{\max} + \sum_k \hat c_k \|W_{g_k}^{(h)}\|_\infty"
        r" \le 1 \ \Rightarrow\ "
        r"\left\|\frac{\partial (C_T, h_T)}{\partial (C_0, h_0)}\right\|_\infty \le 1",
        counterexample=(example,),
    )
