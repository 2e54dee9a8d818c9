r"""Verdicts on the prose claims about vanishing and exploding gradients.

* ``vanish-explode`` — "below 1 the gradient vanishes, above 1 it explodes" (after eq. (7));
* ``forget-near-one`` — "keeping f_t close to 1 the gradient does not vanish" (after eq. (14)).

The exact conditions: with γ = sup σ' (1/4 for σ, 1 for tanh; proved in
:mod:`derivations.bounds`), ‖∂S_t/∂S_k‖₂ ≤ (γ‖W‖₂)^{t-k} since ∂S_t/∂S_{t-1} = diag(σ'(a_t)) W
and ‖diag(σ'(a_t))‖₂ ≤ γ — so γ‖W‖₂ < 1 is sufficient for vanishing and γ‖W‖₂ > 1 necessary
for exploding (Pascanu, Mikolov & Bengio 2013).  Factors below 1 one at a time are not
enough; the bound has to be uniform.  Where explosion does begin is measured: λ_max of a random
tanh RNN over gain × input std at n = 8, 64 and 256 (:func:`bptt_check.claims_maps.width_map`)
against the mean-field edge of chaos (:mod:`bptt_check.meanfield`), far right of the bound.

forget-near-one shows both sides at the claim's own f_t: a 1-unit LSTM whose gradient vanishes
through h_{t-1} (:func:`meets_its_condition`) and a 2-unit one with the same constant f_t whose
gradient explodes (:func:`bptt_check.explosion.robust_exploding_lstm` with ``forget_bias``).
"""

from __future__ import annotations

import itertools
from functools import cache

import mpmath
import numpy as np

from derivations import cells
from numeric import Model, lstm, lyapunov, product_norms, rnn

from . import meanfield, reference
from .claims_common import GROWTH_LSTM, GROWTH_RNN, lstm_model, rnn_model
from .claims_lstm import _mp_growth
from .claims_lstm import _params as lstm_params
from .claims_lstm import growth as lstm_growth
from .claims_maps import (
    INPUT_STDS,
    WIDTHS,
    edge_curve,
    wide_map,
    width_curve,
    width_map,
)
from .evidence import Column, Example, Quantity, Statement, Table, Text, Verdict, confirm
from .explosion import robust_exploding_lstm
from .latex import number

__all__ = ["exploding_rnn", "forget_bias_needed", "meets_its_condition"]

DIGITS = 30
HORIZONS = (10, 20, 40)
GAMMA = {"sigmoid": 0.25, "tanh": 1.0}


def _rate(norms: np.ndarray) -> float:
    """The per-step factor of ‖·‖ between the last two horizons."""
    a, b = norms[HORIZONS[-2] - 1], norms[HORIZONS[-1] - 1]
    if a <= 0:  # the product vanished exactly
        return 0.0
    return float((b / a) ** (1 / (HORIZONS[-1] - HORIZONS[-2])))


def _compositions(total: int, parts: int):
    """Every tuple of ``parts`` non-negative integers summing to ``total``."""
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first, *rest)


@cache
def exploding_rnn() -> dict:
    """The smallest scalar sigmoid RNN (half-integer w, u, x, s_0) whose ∂S_T/∂S_0 grows
    exponentially, found by enumeration in order of size (candidates with γ|w| ≤ 1 cannot
    grow, by the bound above, and are not run)."""
    for size in range(0, 40):  # total of |w|, |u|, |x|, |s_0| in halves, smallest first
        for parts in _compositions(size, 4):
            for signs in itertools.product((1, -1), repeat=4):
                if any(p == 0 and sign < 0 for p, sign in zip(parts, signs, strict=True)):
                    continue
                w, u, x, s0 = (sign * p / 2 for p, sign in zip(parts, signs, strict=True))
                if GAMMA["sigmoid"] * abs(w) <= 1:  # proved necessary for growth: skip the rest
                    continue
                J = rnn.state_jacobians({"W": [[w]], "U": [[u]]}, [[x]] * HORIZONS[-1], [s0])
                norms = product_norms(J)
                if (
                    norms[HORIZONS[0] - 1] > 1
                    and _rate(norms) > 1.05
                    and (norms[HORIZONS[-1] - 1] > norms[HORIZONS[1] - 1] > norms[HORIZONS[0] - 1])
                ):
                    return {
                        "W": [[w]],
                        "U": [[u]],
                        "x": x,
                        "s0": s0,
                        "norms": norms,
                        "factor": _rate(norms),
                    }
    raise RuntimeError("no exploding scalar RNN among the searched parameters")


def _equilibrium_exponents(found: dict, seed: int, steps: int = 300) -> tuple[float, float]:
    """λ_max of the exploding scalar RNN from its equilibrium S_0 = 1/2, and the largest over 8
    seeded other starts in [0, 1]: an unstable equilibrium grows there only."""
    model = Model(cells.elman("sigmoid"))
    params = {"W": np.array(found["W"]), "U": np.array(found["U"])}
    xs = np.full((steps, 1, 1), found["x"])
    at_rest = lyapunov(model, params, xs, {"S": np.full((1, 1), found["s0"])})
    starts = {"S": np.random.default_rng(seed).uniform(0, 1, (8, 1))}
    elsewhere = lyapunov(model, params, np.full((steps, 8, 1), found["x"]), starts)
    return float(at_rest.lambda_max[0]), float(elsewhere.lambda_max.max())


def _mp_rnn_growth(w: float, u: float, x: float, s0: float, T: int) -> mpmath.mpf:
    with mpmath.workdps(DIGITS):
        return abs(
            mpmath.diff(
                lambda s: reference.rnn_states([[w]], [[u]], [[x]] * T, [s])[-1][0], mpmath.mpf(s0)
            )
        )


def _pointwise_below_one(T: int = 60, w: float = 6.0) -> dict:
    """Inputs that make each factor w σ'(a_t) = 1 - 1/(t+1)² < 1: the product tends to 1/2."""
    targets = [1 - 1 / (t + 1) ** 2 for t in range(1, T + 1)]
    s, xs = 0.5, []
    for c in targets:
        q = c / w  # σ'(a) = q  ⇔  σ(a) = (1 - √(1 - 4q)) / 2
        sig = (1 - np.sqrt(1 - 4 * q)) / 2
        a = np.log(sig / (1 - sig))
        xs.append(a - w * s)
        s = sig
    J = rnn.state_jacobians({"W": [[w]], "U": [[1.0]]}, [[x] for x in xs], [0.5])
    factors = J[:, 0, 0]
    with mpmath.workdps(DIGITS):
        mp = mpmath.diff(
            lambda v: reference.rnn_states([[w]], [[1]], [[x] for x in xs], [v])[-1][0],
            mpmath.mpf(0.5),
        )
    return Example(
        "pointwise_below_one_does_not_vanish",
        r"every factor $|w\,\sigma'(a_t)| = 1 - 1/(t+1)^2$ is below 1, yet the product tends "
        r"to $1/2$: it does not vanish",
        rf"a scalar sigmoid RNN, $w = {w:g}$, inputs chosen step by step",
        **rnn_model({"W": [[w]], "U": [[1.0]]}, [[float(x)] for x in xs], [0.5]),
        quantities=(
            Quantity(
                "max_factor", float(factors.max()), r"\max_t |w\,\sigma'(a_t)|", "largest factor"
            ),
            Quantity(
                "growth",
                float(abs(np.prod(factors))),
                GROWTH_RNN,
                f"after $T = {T}$ steps",
                mpmath=mpmath.nstr(mp, DIGITS),
            ),
            Quantity("limit", 0.5, r"\lim_{T\to\infty}", "the limit of the product"),
        ),
    )


def _eigenvalues_do_not_decide(T: int = 40, w: float = 8.0, small: float = 1e-3) -> dict:
    """W = [[0, w], [w, 0]] and inputs that alternate which unit sits at σ' = 1/4 and which at
    σ' = ``small``: every step Jacobian has spectral radius w√(small/4) < 1, yet their product
    grows ×w/4 per step.  The norm ‖J_t‖₂ = w/4 > 1 is what bounds it."""
    W = np.array([[0.0, w], [w, 0.0]])
    steep = 0.0  # σ'(0) = 1/4
    flat = float(np.log((1 - np.sqrt(1 - 4 * small)) / (1 + np.sqrt(1 - 4 * small))))  # σ' = small
    s, xs = np.full(2, 0.5), []
    for t in range(T):
        a = np.array([steep, flat]) if t % 2 == 0 else np.array([flat, steep])
        xs.append(a - W @ s)
        s = 1 / (1 + np.exp(-a))
    params = {"W": W, "U": np.eye(2)}
    J = rnn.state_jacobians(params, np.array(xs), np.full(2, 0.5))
    radii = [float(max(abs(np.linalg.eigvals(step)))) for step in J]
    norms = product_norms(J)
    with mpmath.workdps(DIGITS):
        columns = [
            [
                mpmath.diff(
                    lambda v, i=i, j=j: reference.rnn_states(
                        W.tolist(),
                        [[1, 0], [0, 1]],
                        [x.tolist() for x in xs],
                        [v if k == j else 0.5 for k in range(2)],
                    )[-1][i],
                    mpmath.mpf(0.5),
                )
                for i in range(2)
            ]
            for j in range(2)
        ]
        mp = max(mpmath.svd_r(mpmath.matrix(columns).T, compute_uv=False))
    return Example(
        "eigenvalues_below_one_still_explode",
        r"every step Jacobian has spectral radius below 1, yet their product explodes: its norm "
        r"is what bounds it",
        rf"a sigmoid RNN with $n = 2$, $W_{{12}} = W_{{21}} = {w:g}$ and a zero diagonal, inputs "
        r"that alternate which unit is saturated",
        **rnn_model(
            {"W": W.tolist(), "U": [[1.0, 0.0], [0.0, 1.0]]}, [x.tolist() for x in xs], [0.5, 0.5]
        ),
        quantities=(
            Quantity(
                "max_spectral_radius_per_step",
                max(radii),
                r"\max_t \rho(J_t)",
                "largest spectral radius of a step",
            ),
            Quantity(
                "norm_per_step", float(np.linalg.norm(J[0], 2)), r"\|J_t\|_2", "norm of a step"
            ),
            Quantity(
                "growth",
                float(norms[-1]),
                GROWTH_RNN,
                f"after $T = {T}$ steps",
                mpmath=mpmath.nstr(mp, DIGITS),
            ),
        ),
    )


def _bound_check(seed: int, activation: str, T: int = 30) -> tuple:
    """‖∂S_t/∂S_0‖₂ against (γ‖W‖₂)^t for random W scaled to γ‖W‖₂ = 0.9: one table row."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(10):
        n = int(rng.integers(2, 6))
        W = rng.normal(size=(n, n))
        W *= 0.9 / (GAMMA[activation] * np.linalg.norm(W, 2))
        params = {"W": W, "U": rng.normal(size=(n, 2))}
        J = rnn.state_jacobians(params, rng.normal(size=(T, 2)), rng.normal(size=n), activation)
        norms = product_norms(J)
        worst = max(worst, float(np.max(norms / 0.9 ** np.arange(1, T + 1))))
    return (activation, 0.9, T, 10, worst)


def truncated_gradient(params: dict, xs, ys, s0, k: int) -> np.ndarray:
    """∂L/∂W by BPTT that keeps, for each loss term L_s, only the paths through its last k
    steps: each step's share of ∂L_s/∂W from the derived backward program, summed."""
    model = rnn.model("sigmoid", "bce")
    direct = model.loss_cotangents(params, xs, ys, {"S": s0})["S"]
    total = np.zeros_like(np.asarray(params["W"], dtype=float))
    for step in range(direct.shape[0]):
        only = np.zeros_like(direct)
        only[step] = direct[step]
        shares = model.step_shares(params, xs, {"S": s0}, {"S": only})["W"]
        total += shares[max(0, step - k + 1) : step + 1].sum(axis=0)
    return total


def _long_range_share(seed: int, k: int = 10) -> dict:
    """Inside the vanishing condition the gradient (5) itself does not vanish: only the part
    carried by paths longer than k steps does."""
    rng = np.random.default_rng(seed)
    n, T = 4, 40
    W = rng.normal(size=(n, n))
    W *= 0.5 / (0.25 * np.linalg.norm(W, 2))
    params = {"W": W, "U": rng.normal(size=(n, 2)), "V": rng.normal(size=(2, n))}
    xs, ys, s0 = rng.normal(size=(T, 2)), rng.uniform(size=(T, 2)), np.zeros(n)
    full = rnn.value_and_grad(params, xs, ys, s0)[1]["W"]
    short = truncated_gradient(params, xs, ys, s0, k)
    return Example(
        "total_gradient",
        r"inside the vanishing condition the gradient (5) itself does not vanish: only the part "
        rf"carried by paths longer than $k = {k}$ steps does",
        rf"a random sigmoid RNN with $n = {n}$, $\gamma\|W\|_2 = 0.5$, $T = {T}$",
        inputs=(
            Quantity("T", T, "T", "time steps"),
            Quantity("gamma_times_norm_W", 0.5, r"\gamma\|W\|_2", "scale of $W$"),
            Quantity("k", k, "k", "longest path kept"),
        ),
        quantities=(
            Quantity(
                "norm_dL_dW",
                float(np.linalg.norm(full)),
                r"\|\partial L/\partial W\|_F",
                "the full gradient",
            ),
            Quantity(
                "norm_of_paths_longer_than_k",
                float(np.linalg.norm(full - short)),
                r"\|\Delta\|_F",
                "its part through paths longer than $k$",
            ),
        ),
    )


def _width_evidence(seed: int) -> dict:
    """λ_max of the random tanh RNN over (gain, input std) at n = 8, 64 (grids) and 256 (a
    curve), the mean-field edge of chaos beside it, and the shares that say how the bound
    γ‖W‖₂ < 1 relates to where explosion begins, width by width."""
    maps = [width_map(n, seed) for n in WIDTHS] + [wide_map(seed)]
    for m in maps:  # the theorem: left of the bound nothing explodes
        left = np.asarray(m.gains) <= m.bound_gain
        confirm(
            not (m.regime[left] == "explodes").any(),
            f"a point with gamma*||W||_2 <= 1 explodes at n = {m.n}",
        )
    shares = Table(
        "width_shares",
        r"Each map's points, by width, in \%: of those right of the bound "
        r"($\gamma\|W\|_2 > 1$, i.e.\ $g > 1/\|W_0\|_2$), the share that explodes; of those "
        r"the mean-field theory calls chaotic ($\lambda > 0$), the share that explodes; of those "
        r"it calls ordered, the share that vanishes.  Right of the bound the gradient need not "
        rf"explode: it explodes beyond the edge of chaos, and at $n = {maps[0].n}$ at "
        rf"{maps[0].shares()[0]:.0f}\,\% of the points right of the bound.",
        (
            Column("n", "$n$"),
            Column("bound_gain", r"$1/\|W_0\|_2$"),
            Column("points", "points"),
            Column("right_of_bound_exploding", "right of bound, explode", r"\%"),
            Column("chaotic_exploding", "chaotic, explode", r"\%"),
            Column("ordered_vanishing", "ordered, vanish", r"\%"),
        ),
        tuple((m.n, m.bound_gain, int(m.lambda_max.size), *m.shares()) for m in maps),
    )
    wide = maps[-1]
    edges = Table(
        "edge_of_chaos",
        rf"The mean-field edge of chaos $g_c(\sigma_x)$ (where $\lambda = 0$) and the "
        rf"spectral norm it means at $n = {wide.n}$, $\gamma\|W\|_2 = g_c \|W_0\|_2$ "
        r"($\gamma = 1$ for $\tanh$): the bound $\gamma\|W\|_2 < 1$ stops a factor of "
        rf"{meanfield.edge(0.0) / wide.bound_gain:.2f} or more short of it, and input moves it "
        r"further away.",
        (
            Column("input_std", r"$\sigma_x$"),
            Column("edge_gain", "$g_c$"),
            Column("edge_norm", rf"$\gamma\|W\|_2$ at $g_c$, $n = {wide.n}$"),
        ),
        tuple(
            (std, meanfield.edge(std), meanfield.edge(std) / wide.bound_gain) for std in INPUT_STDS
        ),
    )
    sigma_edge = meanfield.edge(0.0, "sigmoid")
    sigma_norm = sigma_edge / wide.bound_gain  # ‖W‖₂ = g_c ‖W_0‖₂ at n = 256
    sigma_rnn = Statement(
        "sigmoid_rnn",
        Text(
            "the σ RNN is not mapped: σ(a) = (1 + tanh(a/2))/2 makes it a tanh network at gain "
            f"g/4 with a static random bias; the mean field puts its edge of chaos at g = "
            f"{sigma_edge:.2f} without input, ‖W‖₂ = {sigma_norm:.1f} and γ‖W‖₂ = "
            f"{sigma_norm / 4:.2f} at n = {wide.n}: it explodes only far beyond the bound",
            r"the $\sigma$ RNN is not mapped: $\sigma(a) = (1 + \tanh(a/2))/2$ makes it a "
            r"$\tanh$ network at gain $g/4$ with a static random bias; the mean field puts its "
            rf"edge of chaos at $g = {sigma_edge:.2f}$ without input, "
            rf"$\|W\|_2 = {sigma_norm:.1f}$ and $\gamma\|W\|_2 = {sigma_norm / 4:.2f}$ at "
            rf"$n = {wide.n}$: it explodes only far beyond the bound",
        ),
        r"q = g^2\,\mathbb{E}[\sigma(a)^2] + \sigma_x^2,\quad "
        r"\lambda = \tfrac12 \ln\!\left(g^2\,\mathbb{E}[\sigma'(a)^2]\right)",
    )
    deviation = Quantity(
        "mean_field_deviation",
        float(np.abs(wide.lambda_max - wide.theory).max()),
        r"\max |\lambda_{\max} - \lambda_{\mathrm{mf}}|",
        rf"measured against mean field at $n = {wide.n}$, over its {wide.lambda_max.size} points",
        "nats per step",
    )
    return {
        "items": (
            *(m.grid() for m in maps[:-1]),
            edge_curve(seed),
            width_curve(seed),
            shares,
            edges,
            deviation,
            sigma_rnn,
        ),
        "deviation": deviation,
        "maps": maps,
        "edge_norm_without_input": meanfield.edge(0.0) / wide.bound_gain,
    }


def _agree(mp: object, value: float, what: str, rtol: float = 1e-9) -> None:
    confirm(abs(float(mp) - value) <= rtol * abs(value), f"{what}: mpmath {mp} against {value}")


def vanish_explode(seed: int) -> Verdict:
    """ "Below 1, (5)-(6) go to 0; above 1, to infinity" (after eq. (7))."""
    found = exploding_rnn()
    T = HORIZONS[-1]
    mp = _mp_rnn_growth(found["W"][0][0], found["U"][0][0], found["x"], found["s0"], T)
    at_rest, elsewhere = _equilibrium_exponents(found, seed)
    exploding = Example(
        "exploding_example_found_by_search",
        r"special case, not a robust explosion: above 1 the gradient can explode, here the "
        r"smallest exploding scalar RNN at its unstable equilibrium ($S_t = 1/2$, $a_t = 0$ at "
        r"every step); from other starts it vanishes",
        r"a scalar sigmoid RNN found by search (half-integer $w$, $u$, $x$, $S_0$)",
        **rnn_model({"W": found["W"], "U": found["U"]}, [[found["x"]]] * T, [found["s0"]]),
        quantities=(
            Quantity("gamma_times_norm_W", 0.25 * abs(found["W"][0][0]), r"\gamma\|W\|_2", "scale"),
            Quantity(
                "growth",
                float(found["norms"][T - 1]),
                GROWTH_RNN,
                f"after $T = {T}$ steps",
                mpmath=mpmath.nstr(mp, DIGITS),
            ),
            Quantity("factor_per_step", found["factor"], "", "growth factor", "per step"),
            Quantity(
                "lambda_at_equilibrium",
                at_rest,
                r"\lambda_{\max}",
                "from the equilibrium",
                "nats per step",
            ),
            Quantity(
                "lambda_elsewhere",
                elsewhere,
                r"\max \lambda_{\max}",
                r"largest over 8 other starts $S_0 \in [0, 1]$",
                "nats per step",
            ),
        ),
    )
    pointwise = _pointwise_below_one()
    spectral = _eigenvalues_do_not_decide()
    bounds = Table(
        "bound_checks",
        r"$\|\partial S_t/\partial S_0\|_2 / (\gamma\|W\|_2)^t$ at its largest over "
        r"$t \le T$, for random $W$ scaled to $\gamma\|W\|_2 = 0.9$: the bound holds.",
        (
            Column("activation", "activation"),
            Column("gamma_times_norm_W", r"$\gamma\|W\|_2$"),
            Column("T", "$T$"),
            Column("samples", "samples"),
            Column("max_norm_over_bound", "largest norm / bound"),
        ),
        tuple(_bound_check(seed, a) for a in GAMMA),
    )
    growth = {e.key: e.quantity("growth") for e in (exploding, pointwise, spectral)}
    for key, q in growth.items():
        _agree(q.mpmath, q.value, key)
    total = _long_range_share(seed)
    width = _width_evidence(seed)
    evidence = (
        Statement(
            "bound",
            Text(
                "‖∂S_t/∂S_k‖₂ ≤ (γ‖W‖₂)^(t−k), γ = 1/4 (σ), 1 (tanh)",
                r"the bound, with $\gamma = \sup \sigma' = 1/4$ ($1$ for $\tanh$)",
            ),
            r"\left\|\frac{\partial S_t}{\partial S_k}\right\|_2 \le "
            r"\left(\gamma \|W\|_2\right)^{t-k}",
        ),
        bounds,
        exploding,
        total,
        *width["items"],
    )
    value = {
        (e.key, q): e.quantity(q).value
        for e, names in (
            (exploding, ("gamma_times_norm_W", "growth")),
            (pointwise, ("max_factor", "growth")),
            (spectral, ("max_spectral_radius_per_step", "growth")),
            (total, ("norm_dL_dW", "norm_of_paths_longer_than_k")),
        )
        for q in names
    }
    inside = (
        all(worst <= 1 + 1e-9 for worst in bounds.column("max_norm_over_bound"))
        and value["total_gradient", "norm_of_paths_longer_than_k"]
        < 1e-3 * value["total_gradient", "norm_dL_dW"]
    )
    outside = (
        value[pointwise.key, "max_factor"] < 1
        and value[pointwise.key, "growth"] > 0.49
        and value[spectral.key, "max_spectral_radius_per_step"] < 1
        and value[spectral.key, "growth"] > 1e6
        and value[exploding.key, "gamma_times_norm_W"] > 1
        and value[exploding.key, "growth"] > 100
        and at_rest > 0 > elsewhere  # a labelled special case: it explodes at rest only
    )
    small, _, wide = width["maps"]
    edge_norm = width["edge_norm_without_input"]
    edge_one = meanfield.edge(1.0)
    right = {m.n: m.shares()[0] for m in width["maps"]}
    robust = right[wide.n] > 0 and edge_norm > 1.5  # explodes robustly, far right of the bound
    chaos = (
        f"a random tanh RNN (W = g·N(0, 1/n)) explodes robustly beyond the mean-field edge of "
        f"chaos, g = 1 without input (γ‖W‖₂ = {edge_norm:.2f} at n = {wide.n}), "
        f"g = {edge_one:.2f} at input std 1: far right of the bound"
    )
    chaos_latex = (
        r"a random $\tanh$ RNN ($W = g\,N(0, 1/n)$) explodes robustly beyond the mean-field "
        rf"edge of chaos, $g = 1$ without input ($\gamma\|W\|_2 = {edge_norm:.2f}$ at "
        rf"$n = {wide.n}$), $g = {edge_one:.2f}$ at input std 1: far right of the bound"
    )
    deviation = width["deviation"].value
    takeaway = Text(
        "γ‖W‖₂ < 1 guarantees that long-range gradient terms vanish; it does not mark where "
        f"explosion begins. Of the grid's points right of it, {right[small.n]:.0f} % explode at "
        f"n = {small.n} and {right[64]:.0f} % at n = 64: a random tanh RNN explodes beyond the "
        f"edge of chaos (γ‖W‖₂ ≈ {edge_norm:.1f} without input, more with input, which "
        f"suppresses chaos; at n = {wide.n} the measured λ_max is within {deviation:.3f} of the "
        "mean-field theory), and a small network hides this: read a map with its width.",
        r"$\gamma\|W\|_2 < 1$ guarantees that long-range gradient terms vanish; it does not "
        r"mark where explosion begins.  Of the grid's points right of it, "
        rf"{right[small.n]:.0f}\,\% explode at $n = {small.n}$ and {right[64]:.0f}\,\% at "
        r"$n = 64$: a random $\tanh$ RNN explodes beyond the edge of chaos "
        rf"($\gamma\|W\|_2 \approx {edge_norm:.1f}$ without input, more with input, which "
        rf"suppresses chaos; at $n = {wide.n}$ the measured $\lambda_{{\max}}$ is within "
        rf"{deviation:.3f} of the mean-field theory), and a small network hides this: read a "
        r"map with its width.",
    )
    outside = outside and robust
    return Verdict(
        "vanish-explode",
        "holds-if" if inside and outside else "fails",
        Text(
            "true of the long-range terms under a uniform bound: γ‖W‖₂ < 1 makes ∂S_t/∂S_k "
            "vanish as t − k grows (the gradient itself keeps its short-range terms); factors "
            "below 1 one at a time are not enough, and eigenvalues below 1 do not prevent "
            "explosion; " + chaos,
            r"true of the long-range terms under a uniform bound: $\gamma\|W\|_2 < 1$ makes "
            r"$\partial S_t/\partial S_k$ vanish as $t - k$ grows (the gradient itself keeps "
            r"its short-range terms); factors below 1 one at a time are not enough, and "
            r"eigenvalues below 1 do not prevent explosion; " + chaos_latex,
        ),
        7,
        evidence,
        condition=Text(
            "for the paths of length t − k → ∞: vanishing when γ‖W‖₂ ≤ η < 1 (sufficient); "
            "exploding needs γ‖W‖₂ > 1 (necessary) and happens when every factor is uniformly "
            "above 1, |w σ'(a_t)| ≥ η > 1 (scalar) or σ_min(diag(σ'(a_t)) W) ≥ η > 1; "
            "γ = sup σ' = 1/4 (1 for tanh)",
            r"for the paths of length $t - k \to \infty$: vanishing when "
            r"$\gamma\|W\|_2 \le \eta < 1$ (sufficient); exploding needs "
            r"$\gamma\|W\|_2 > 1$ (necessary) and happens when every factor is uniformly above "
            r"1, $|w\,\sigma'(a_t)| \ge \eta > 1$ (scalar) or "
            r"$\sigma_{\min}(\operatorname{diag}(\sigma'(a_t))\,W) \ge \eta > 1$",
        ),
        condition_latex=r"\left\|\frac{\partial S_t}{\partial S_k}\right\|_2 \le "
        r"\left(\gamma \|W\|_2\right)^{t-k} \to 0,\quad \gamma = \sup \sigma' = \tfrac14",
        finding="missing-condition" if inside and outside else "invalid-inference",
        counterexample=(pointwise, spectral),
        takeaway=takeaway,
    )


def forget_bias_needed(rho: float, T: int) -> float:
    """The forget pre-activation z_f with σ(z_f)^T = ρ: ∏ f_t ≥ ρ over T steps needs
    z_f ≥ log(ρ^{1/T} / (1 − ρ^{1/T}))."""
    f = rho ** (1 / T)
    return float(np.log(f / (1 - f)))


def meets_its_condition(rho: float = 0.5, T: int = 40, w_c: float = -1.0) -> dict:
    """An LSTM (n = m = 1, x_t = 0, h_0 = C_0 = 0) that meets the claim's own condition,
    z_f = b_f ≥ logit(ρ^{1/T}) (rounded up to 3 decimals), so that ∏ f_t ≥ ρ, with one
    recurrent weight W_c^{(h)} = ``w_c``: its gradient still vanishes through h_{t-1}."""
    z = float(np.ceil(forget_bias_needed(rho, T) * 1000) / 1000)
    values = {"W_c": w_c, "b_f": z}
    return {"values": values, "rho": rho, "T": T, "norms": lstm_growth(lstm_params(values), T)}


def _exploding_near_one(seed: int, z_f: float, rho: float, T: int) -> tuple[Example, bool]:
    """A 2-unit LSTM with W_f = 0 and b_f = ``z_f``, so f_t = σ(z_f) at every step (the
    claim's own condition for ∏ f_t ≥ ρ over T steps), whose gradient explodes: found by the
    seeded search of :func:`bptt_check.explosion.robust_exploding_lstm`, every one of its
    fresh runs with λ_max > 0 and the growth confirmed in mpmath."""
    found = robust_exploding_lstm(seed, T=100, forget_bias=z_f)  # mpmath at T = 100
    lam = found.check_exponents
    short, long = found.short_T, found.T
    mp_long = mpmath.mpf(found.mpmath_growth[long])
    forget = float(1 / (1 + np.exp(-z_f)))
    example = Example(
        "exploding_with_f_near_one",
        rf"the claim's condition holds with $f_t = {forget:.4f}$ at every step, yet the "
        r"gradient explodes through $h_{t-1}$ from every start and input tried",
        rf"the LSTM (8)-(13) with $n = 2$, $m = 1$, $W_f = 0$, $b_f = {z_f:g}$, found by a "
        rf"seeded search (seed {seed}) over {found.candidates} candidates, inputs "
        rf"$x_t \sim N(0, {found.x_scale:g}^2)$",
        **lstm_model(
            {k: v.tolist() for k, v in found.params.items()},
            [[float(x[0])] for x in found.xs],
            found.h0.tolist(),
            found.c0.tolist(),
        ),
        quantities=(
            Quantity("forget_gate", forget, "f_t", "forget gate (constant here)"),
            Quantity("cell_path_product", forget**T, r"\prod_{t \le T} f_t", f"over $T = {T}$"),
            Quantity(
                "lambda_max",
                float(lam.mean()),
                r"\lambda_{\max}",
                f"top Lyapunov exponent, mean of {lam.size} fresh runs (seed {seed})",
                "nats per step",
            ),
            Quantity("lambda_se", found.check_se, r"\mathrm{se}", "its standard error"),
            Quantity("lambda_min", float(lam.min()), r"\min \lambda_{\max}", "the smallest run's"),
            Quantity(
                "growth_short",
                found.growth[short],
                GROWTH_LSTM,
                f"after $T = {short}$ steps (float64 and mpmath at {found.mpmath_digits[short]} "
                "digits agree to $10^{-6}$)",
                mpmath=found.mpmath_growth[short],
            ),
            Quantity(
                "rate_mpmath",
                float(mpmath.log(mp_long)) / long,
                r"\tfrac{1}{T}\ln\|\cdot\|_2",
                f"growth rate over $T = {long}$ steps in mpmath at {found.mpmath_digits[long]} "
                "digits",
                "nats per step",
            ),
        ),
    )
    confirm(found.confirmed, "the exploding LSTM with f_t near 1: float64 against mpmath")
    explodes = bool(
        lam.min() > 0
        and lam.mean() > 4 * found.check_se
        and forget**T >= rho
        and z_f >= forget_bias_needed(rho, T)
    )
    return example, explodes


def forget_near_one(seed: int) -> Verdict:
    """ "Keeping f_t close to 1, the gradient does not vanish after many multiplications"."""
    rows = []
    for rho in (0.5, 0.9):
        for T in (10, 100, 1000):
            z = forget_bias_needed(rho, T)
            # no recurrent weights: the cell path is the whole story
            J = lstm.state_jacobians(
                lstm_params({"b_f": z}), np.zeros((T, 1)), np.zeros(1), np.zeros(1)
            )
            rows.append((rho, T, z, float(np.prod(J[:, 0, 0]))))
    table = Table(
        "forget_bias",
        r"The forget pre-activation $z_f$ that keeps $\prod_{t \le T} f_t \ge \rho$, and the "
        r"product of the cell path of an LSTM with that bias and no recurrent weights.",
        (
            Column("rho", r"$\rho$"),
            Column("T", "$T$"),
            Column("z_f", r"$z_f$ needed"),
            Column("cell_path_product", r"$\prod_{t \le T} f_t$ at that bias"),
        ),
        tuple(rows),
    )
    found = meets_its_condition()
    T, rho = found["T"], found["rho"]
    mp = _mp_growth(found["values"], T)  # ‖∂(C_T, h_T)/∂(C_0, h_0)‖₂ on the written-out model
    forget = float(1 / (1 + np.exp(-found["values"]["b_f"])))
    example = Example(
        "lstm",
        rf"the claim's own condition holds, $z_f \ge \operatorname{{logit}}(\rho^{{1/T}})$ with "
        rf"$\rho = {rho:g}$, $T = {T}$, so $\prod_t f_t \ge \rho$; yet the gradient vanishes "
        r"through $h_{t-1}$",
        r"the LSTM (8)-(13) with $n = m = 1$, $x_t = 0$, $h_0 = C_0 = 0$, "
        r"$W_c^{(h)} = -1$, every other weight and bias 0 but $b_f = z_f$",
        **lstm_model(
            {k: v.tolist() for k, v in lstm_params(found["values"]).items()},
            [[0.0]] * T,
            [0.0],
            [0.0],
        ),
        quantities=(
            Quantity("forget_gate", forget, "f_t", "forget gate (constant here)"),
            Quantity(
                "z_f_needed",
                forget_bias_needed(rho, T),
                r"\operatorname{logit}(\rho^{1/T})",
                "the condition's bound",
            ),
            Quantity("cell_path_product", forget**T, r"\prod_t f_t", "the cell path"),
            Quantity(
                "growth",
                float(found["norms"][T - 1]),
                GROWTH_LSTM,
                f"after $T = {T}$ steps",
                mpmath=mpmath.nstr(mp, DIGITS),
            ),
        ),
    )
    holds = all(product >= rho * (1 - 1e-9) for rho, _, _, product in rows)
    growth = example.quantity("growth")
    _agree(mp, growth.value, "the vanishing LSTM")
    exploding, explodes = _exploding_near_one(seed, found["values"]["b_f"], rho, T)
    confirmed = (
        growth.value < 1e-3
        and found["values"]["b_f"] >= forget_bias_needed(rho, T)
        and forget**T >= rho
        and explodes
    )
    shrinks = number(float(f"{growth.value:.2g}"))
    lam = exploding.quantity("lambda_max").value
    std = robust_exploding_lstm(seed, T=100, forget_bias=found["values"]["b_f"]).x_scale
    return Verdict(
        "forget-near-one",
        "holds-if" if holds and confirmed else "fails",
        Text(
            "along the cell path ∏ f_t stays ≥ ρ if z_f ≥ logit(ρ^(1/T)); through h_(t−1) the "
            f"gradient can still vanish or explode with f_t near 1: at f_t = {forget:.4f} "
            f"constant, which meets that condition for ρ = {rho:g} over T = {T}, it shrinks to "
            f"{growth.value:.2g} in a 1-unit LSTM and explodes at λ_max = {lam:.3f} per step in "
            f"a 2-unit one (inputs of std {std:g})",
            r"along the cell path $\prod_t f_t$ stays $\ge \rho$ if "
            r"$z_f \ge \operatorname{logit}(\rho^{1/T})$; through $h_{t-1}$ the gradient can "
            rf"still vanish or explode with $f_t$ near 1: at $f_t = {forget:.4f}$ constant, "
            rf"which meets that condition for $\rho = {rho:g}$ over $T = {T}$, it shrinks to "
            rf"{shrinks} in a 1-unit LSTM and explodes at $\lambda_{{\max}} = {lam:.3f}$ per "
            rf"step in a 2-unit one (inputs of std {std:g})",
        ),
        14,
        (table, exploding),
        condition=Text(
            "the cell path alone (h_(t−1) held fixed, or no recurrent weights W^(h)), "
            "with z_f ≥ log(ρ^(1/T) / (1 − ρ^(1/T))) for ∏ f_t ≥ ρ over T steps",
            r"the cell path alone ($h_{t-1}$ held fixed, or no recurrent weights $W^{(h)}$), "
            r"with $z_f$ large enough for $\prod_t f_t \ge \rho$ over $T$ steps",
        ),
        condition_latex=r"z_f \ge \log\frac{\rho^{1/T}}{1-\rho^{1/T}}",
        finding="missing-condition" if holds and confirmed else "invalid-inference",
        counterexample=(example,),
        takeaway=Text(
            f"a forget gate near 1 keeps the cell path's product ∏ f_t from vanishing (z_f ≥ "
            f"logit(ρ^(1/T)) gives ∏ f_t ≥ ρ), but the gradient also flows through h_(t−1): "
            f"here f_t = {forget:.4f} meets that condition for ρ = {rho:g} over T = {T} steps "
            f"and the gradient still shrinks to {growth.value:.2g}; with the same f_t another "
            f"LSTM's gradient explodes (λ_max = {lam:.3f} per step). A large forget bias "
            "helps the cell path; it does not by itself control the gradient.",
            r"a forget gate near 1 keeps the cell path's product $\prod_t f_t$ from vanishing "
            r"($z_f \ge \operatorname{logit}(\rho^{1/T})$ gives $\prod_t f_t \ge \rho$), but "
            rf"the gradient also flows through $h_{{t-1}}$: here $f_t = {forget:.4f}$ meets that "
            rf"condition for $\rho = {rho:g}$ over $T = {T}$ steps and the gradient still "
            rf"shrinks to {shrinks}; with the same $f_t$ another LSTM's gradient explodes "
            rf"($\lambda_{{\max}} = {lam:.3f}$ per step).  A large forget bias helps the cell "
            r"path; it does not by itself control the gradient.",
        ),
    )
