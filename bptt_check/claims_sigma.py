r""" "σ never exceeds 1, so an LSTM gradient cannot explode" (after eq. (14)): an invalid
inference, refuted by a robust exploding LSTM.

0 < f_t = σ(z_f) < 1 bounds the cell path's factor only: the state Jacobian
∂(C_t, h_t)/∂(C_{t-1}, h_{t-1}) also carries the path through h_{t-1}, whose coefficients are
bounded (by 1/4, 1 and c/4 for |C_{t-1}| ≤ c: :func:`bptt_check.region.coefficient_bounds`) but
multiply the recurrent weights W_g^{(h)}, which the premise does not bound.  The counterexample
is :func:`bptt_check.explosion.robust_exploding_lstm` (λ_max > 0 over fresh input seeds and
starts at its input std 0.1, 0 < f_t < 1 at every step, the growth confirmed in mpmath), with
its λ_max against the input std (:func:`bptt_check.explosion.input_sweep`: it explodes for
small inputs only, and vanishes at the maps' N(0, 1)) and its growth along the stored run as
curves; the unstable-equilibrium LSTM of :func:`bptt_check.claims_lstm.exploding_lstm` is kept
beside it as a labelled special case, with the number that shows it is one (λ_max from other
starts).  Where the conclusion does hold is evidence, not a condition: the Lyapunov maps of
:mod:`bptt_check.claims_maps` and the certificates of :mod:`bptt_check.region`, each with its
coverage of the non-exploding points; beside the LSTM maps, the 1997 LSTM's (no forget gate:
∂C_t/∂C_{t−1} = I on the cell path, yet the path through h remains) and a GRU's (z_t near 1
keeps h).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from derivations import cells
from derivations.bounds import bounds
from numeric import Model, lyapunov
from numeric.floating import FORMULAS, extremes, saturation_threshold, underflow_threshold

from .claims_common import GROWTH_LSTM, lstm_model
from .claims_lstm import DIGITS, FORMULA_LATEX, HORIZONS, _mp_growth, _params, exploding_lstm
from .claims_maps import GATED, OLD_F_MAX, gated_grid, lstm_slice
from .evidence import (
    Axis,
    Column,
    Curve,
    Example,
    Named,
    Proofs,
    Proved,
    Quantity,
    Series,
    Statement,
    Table,
    Text,
    Verdict,
    confirm,
)
from .explosion import THRESHOLD, input_sweep, robust_exploding_lstm

__all__ = ["GATED_N", "MAP_SIZES", "sigma_below_one"]

#: The hidden sizes of the LSTM maps, and of the 1997 LSTM's and the GRU's beside them.
MAP_SIZES = (1, 8)
GATED_N = 8


def floor_to(value: float, digits: int) -> float:
    """``value`` rounded down to ``digits`` decimals: a bound "every run ≥ b" that holds."""
    return math.floor(value * 10**digits) / 10**digits


def _robust(seed: int) -> tuple[Example, tuple, bool]:
    """The robust exploding LSTM of :func:`bptt_check.explosion.robust_exploding_lstm`, its
    exponent against the input std (:func:`bptt_check.explosion.input_sweep`) and its growth
    along the stored run, as curves; and whether it refutes the claim (every fresh run
    explodes, 0 < f_t < 1, the growth confirmed in mpmath)."""
    found = robust_exploding_lstm(seed)
    sweep = input_sweep(seed)
    lam = found.check_exponents
    T, short = found.T, found.short_T
    mp_T = mpmath.mpf(found.mpmath_growth[T])
    up_to = sweep.exploding_up_to()
    at_one = sweep.stds.index(1.0)
    small = rf"std $\le {up_to:g}$" if up_to is not None else "no std tried"
    example = Example(
        "robust_exploding_lstm",
        rf"$0 < f_t < 1$ at every step, yet for small inputs ({small}) the gradient explodes "
        r"from every start tried: a positive top Lyapunov exponent; with inputs "
        r"$x_t \sim N(0, 1)$, the maps' inputs, the same LSTM vanishes",
        rf"the LSTM (8)-(13) with $n = 2$, $m = 1$, found by a seeded search (seed {seed}) over "
        rf"{found.candidates} candidates, inputs $x_t \sim N(0, {found.x_scale:g}^2)$",
        **lstm_model(
            {k: v.tolist() for k, v in found.params.items()},
            [[float(x[0])] for x in found.xs],
            found.h0.tolist(),
            found.c0.tolist(),
        ),
        quantities=(
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
                "lambda_bound",
                floor_to(float(lam.min()), 3),
                r"\lambda_{\max} \ge",
                "every fresh run at least (the smallest, rounded down)",
                "nats per step",
            ),
            Quantity(
                "f_min", found.f_range[0], r"\min_t f_t", "smallest forget gate on the stored xs"
            ),
            Quantity(
                "f_max", found.f_range[1], r"\max_t f_t", "largest forget gate on the stored xs"
            ),
            Quantity(
                "f_min_fresh",
                found.fresh_f_range[0],
                r"\min_t f_t",
                f"smallest forget gate over the {lam.size} fresh runs",
            ),
            Quantity(
                "f_max_fresh",
                found.fresh_f_range[1],
                r"\max_t f_t",
                f"largest forget gate over the {lam.size} fresh runs",
            ),
            Quantity(
                "growth_short",
                found.growth[short],
                GROWTH_LSTM,
                f"after $T = {short}$ steps (float64 and mpmath at {found.mpmath_digits[short]} "
                "digits agree to $10^{-6}$)",
                mpmath=found.mpmath_growth[short],
            ),
            Quantity(
                "growth_mpmath",
                float(mp_T),
                GROWTH_LSTM,
                f"after $T = {T}$ steps, mpmath at {found.mpmath_digits[T]} digits (a chaotic "
                "float64 trajectory parts from it after some 90 steps: only the rate is "
                "comparable)",
            ),
            Quantity(
                "rate_mpmath",
                float(mpmath.log(mp_T)) / T,
                r"\tfrac{1}{T}\ln\|\cdot\|_2",
                "growth rate in mpmath",
                "nats per step",
            ),
            Quantity(
                "lambda_at_unit_inputs",
                float(sweep.mean[at_one]),
                r"\lambda_{\max}",
                f"at $x_t \\sim N(0, 1)$, mean of {sweep.runs} fresh runs",
                "nats per step",
            ),
            Quantity(
                "lambda_at_unit_inputs_largest",
                float(sweep.high[at_one]),
                r"\max \lambda_{\max}",
                f"at $x_t \\sim N(0, 1)$, the largest of {sweep.runs} runs",
                "nats per step",
            ),
        ),
    )
    curves = (
        Curve(
            "robust_input_sweep",
            rf"The top Lyapunov exponent of the robust exploding LSTM against the std of its "
            rf"inputs $x_t \sim N(0, \mathrm{{std}}^2)$ ({sweep.runs} fresh runs each, seed "
            rf"{seed}; band: two standard errors).  Look at where the smallest run crosses 0: "
            rf"every run explodes up to std {up_to:g}; at std 1, the maps' inputs, every run "
            r"vanishes.",
            Axis("input_std", "input std", sweep.stds),
            (
                Series(
                    r"mean $\lambda_{\max}$",
                    tuple(map(float, sweep.mean)),
                    tuple(map(float, sweep.se)),
                ),
                Series(r"smallest run", tuple(map(float, sweep.low))),
                Series(r"largest run", tuple(map(float, sweep.high))),
            ),
            r"$\lambda_{\max}$ (nats per step)",
            hlines=((0.0, r"$\lambda = 0$"),),
            vlines=((found.x_scale, rf"the search's std {found.x_scale:g}"),),
        ),
        Curve(
            "robust_growth_curve",
            r"The robust exploding LSTM along its stored run: the full "
            r"$\|\partial(C_t, h_t)/\partial(C_0, h_0)\|_2$ against the cell path "
            r"$\max_j \prod_{s \le t} f_{s,j}$ that eq.~(14) looks at, in float64.  Look at "
            r"the two diverging: the cell path shrinks, as $0 < f_t < 1$ says, while the full "
            rf"product grows like $e^{{\lambda_{{\max}} t}}$; mpmath confirms it at $t = {short}$ "
            r"(after some 90 steps a chaotic float64 trajectory parts from the exact one; its "
            r"rate stays).",
            Axis("t", "step $t$", tuple(float(t) for t in range(1, T + 1))),
            (
                Series(
                    r"$\|\partial(C_t,h_t)/\partial(C_0,h_0)\|_2$",
                    tuple(map(float, found.growth_by_step)),
                ),
                Series(r"cell path $\max_j \prod f_{t,j}$", tuple(map(float, found.cell_path))),
                Series(
                    rf"$e^{{\lambda_{{\max}} t}}$, $\lambda_{{\max}} = {lam.mean():.3f}$",
                    tuple(float(np.exp(lam.mean() * t)) for t in range(1, T + 1)),
                    theory=True,
                ),
            ),
            "factor from step 0 to step $t$",
            vlines=((float(short), rf"mpmath agrees, $t = {short}$"),),
            log_y=True,
        ),
    )
    refutes = bool(
        found.confirmed
        and lam.min() > 0
        and lam.mean() > 4 * found.check_se
        and 0 < found.f_range[0] <= found.f_range[1] < 1
        and 0 < found.fresh_f_range[0] <= found.fresh_f_range[1] < 1
        and float(mpmath.log(mp_T)) / T > THRESHOLD
    )
    return example, curves, refutes


def _equilibrium(seed: int) -> tuple[Example, bool]:
    """The old counterexample: it grows from its unstable equilibrium only."""
    found = exploding_lstm()
    T = HORIZONS[-1]
    mp_norm = _mp_growth(found["values"], T)
    norms = found["norms"]
    confirm(
        abs(mp_norm - float(norms[T - 1])) < 1e-9 * mp_norm,
        f"LSTM growth: mpmath {mp_norm} against {float(norms[T - 1])}",
    )
    params = _params(found["values"])
    model, steps, starts = Model(cells.lstm()), 300, 8
    at_rest = lyapunov(
        model, params, np.zeros((steps, 1, 1)), {"C": np.zeros((1, 1)), "h": np.zeros((1, 1))}
    )
    rng = np.random.default_rng(seed)
    state0 = {"C": rng.uniform(-1, 1, (starts, 1)), "h": rng.uniform(-1, 1, (starts, 1))}
    elsewhere = lyapunov(model, params, np.zeros((steps, starts, 1)), state0)
    forget = float(1 / (1 + np.exp(-found["values"].get("b_f", 0.0))))
    example = Example(
        "special_case_unstable_equilibrium",
        r"special case, not a robust explosion: the smallest searched LSTM grows at its "
        r"unstable equilibrium $C = h = 0$ and vanishes from every other start tried",
        r"the LSTM (8)-(13) with $n = m = 1$, $x_t = 0$, found by search",
        **lstm_model({k: v.tolist() for k, v in params.items()}, [[0.0]] * T, [0.0], [0.0]),
        quantities=(
            Quantity("forget_gate", forget, "f_t", "forget gate (constant here)"),
            Quantity(
                "growth_at_equilibrium",
                float(norms[T - 1]),
                GROWTH_LSTM,
                f"from $C_0 = h_0 = 0$, after $T = {T}$ steps",
                mpmath=mpmath.nstr(mp_norm, DIGITS),
            ),
            Quantity(
                "lambda_at_equilibrium",
                float(at_rest.lambda_max[0]),
                r"\lambda_{\max}",
                "from the equilibrium",
                "nats per step",
            ),
            Quantity(
                "lambda_elsewhere",
                float(elsewhere.lambda_max.max()),
                r"\max \lambda_{\max}",
                rf"largest over {starts} other starts $C_0, h_0 \in [-1, 1]$",
                "nats per step",
            ),
        ),
    )
    special = bool(at_rest.lambda_max[0] > 0 and elsewhere.lambda_max.max() < 0)
    return example, special


def _floating_point() -> tuple:
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
            (np.dtype(d).name, float(saturation_threshold(d)), float(underflow_threshold(d)))
            for d in dtypes
        ),
        layout="columns",
        appendix=True,
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
        appendix=True,
    )
    return floats, formulas


def _maps(seed: int) -> tuple[tuple, list]:
    slices = [lstm_slice(n, seed) for n in MAP_SIZES]
    saturates = float(saturation_threshold(np.float64))
    shares = Table(
        "map_shares",
        r"Each LSTM map (16 $\times$ 16 points): the share of points that explode, vanish or "
        r"cannot be told apart from 0 by their runs (two standard errors), and the largest "
        r"forget pre-activation any step can reach: below the float64 saturation of $\sigma$ "
        rf"({saturates:.4g}), so $0 < f_t < 1$ at every step of every run.",
        (
            Column("n", "$n$"),
            Column("explodes", "explodes", percent=True),
            Column("vanishes", "vanishes", percent=True),
            Column("undetermined", "undetermined", percent=True),
            Column("largest_z_f", r"largest $z_f$"),
        ),
        tuple(
            (s.n, s.share("explodes"), s.share("vanishes"), s.share("undetermined"), s.z_f_max)
            for s in slices
        ),
    )
    largest = slices[0].largest_certified_scale(slices)
    coverage = Table(
        "certificate_coverage",
        r"Each certificate's coverage of the measured non-exploding region: of the map's "
        r"points not measured exploding (vanishing, preserved or undetermined), the share "
        r"where it certifies $\kappa \le 1$, its hypotheses checked on the map's inputs.  "
        rf"Both certificates certify only recurrent scales $\le {largest:g}$: sufficient "
        r"conditions far inside the region where the gradient does not explode.",
        (
            Column("n", "$n$"),
            Column("not_exploding", "non-exploding points"),
            Column("points", "points"),
            Column("global_kappa", r"global $\kappa$", percent=True),
            Column("per_model", "per model", percent=True),
        ),
        tuple(
            (
                s.n,
                int(s.not_exploding.sum()),
                int(s.regime.size),
                s.coverage(s.old_certified),
                s.coverage(s.new_certified),
            )
            for s in slices
        ),
    )
    certified_scale = Quantity(
        "largest_certified_scale",
        largest,
        r"\max \|W_g^{(h)}\|_2",
        "the largest recurrent scale either certificate certifies on any map",
    )
    # beside the LSTM maps: the 1997 LSTM (the constant error carousel) and a GRU, n = 8
    beside = tuple(gated_grid(kind, seed, GATED_N)[0] for kind in GATED)
    return (*(s.grid() for s in slices), *beside, shares, coverage, certified_scale), slices


def _certificates(x_max: float) -> tuple:
    c_max = 1 / (1 - OLD_F_MAX)
    return (
        Statement(
            "premise",
            Text(
                "0 < f_t = σ(z_f) < 1 always holds in exact arithmetic (σ maps every real "
                "number into (0, 1)); in float64 σ(z_f) = 1 only from z_f ≈ 36.7 on",
                r"the article's premise $0 < f_t = \sigma(z_f) < 1$ always holds in exact "
                r"arithmetic ($\sigma$ maps every real number into $(0, 1)$); in float64 "
                r"$\sigma(z_f) = 1$ only from $z_f \approx 36.7$ on",
            ),
            r"0 < \sigma(z) < 1 \quad \text{for every real } z",
        ),
        Statement(
            "inference",
            Text(
                "the premise bounds the cell path's factor f_t only: the state Jacobian "
                "∂(C_t, h_t)/∂(C_(t−1), h_(t−1)) also carries the path through h_(t−1), whose "
                "coefficients are bounded (≤ 1/4, 1, c/4 for |C_(t−1)| ≤ c) but multiply the "
                "recurrent weights W_g^(h), which the premise does not bound, so the inference "
                "is invalid",
                r"the premise bounds the cell path's factor $f_t$ only: the state Jacobian "
                r"also carries the path through $h_{t-1}$, whose coefficients are bounded "
                r"($\le 1/4$, $1$, $c/4$ for $|C_{t-1}| \le c$) but multiply the recurrent "
                r"weights $W_g^{(h)}$, which the premise does not bound, so the inference is "
                r"invalid",
            ),
            r"\frac{\partial (C_t, h_t)}{\partial (C_{t-1}, h_{t-1})} = "
            r"\begin{pmatrix} \operatorname{diag}(f_t) & \partial C_t/\partial h_{t-1} \\ "
            r"\partial h_t/\partial C_{t-1} & \partial h_t/\partial h_{t-1} \end{pmatrix}",
        ),
        Statement(
            "global_certificate",
            Text(
                f"sufficient, not necessary: with f_t ≤ f_max = {OLD_F_MAX} at every step "
                f"and |C_0| ≤ c_max = {c_max:g}, κ = max over rows of the exact coefficient "
                "suprema times ‖W_g^(h)‖_∞ ≤ 1 bounds every ‖P_T‖_∞ by 1; κ < 1 gives "
                "‖P_T‖_∞ ≤ κ^T: the gradient vanishes",
                rf"the global certificate, sufficient and not necessary: with "
                rf"$f_t \le f_{{\max}} = {OLD_F_MAX}$ at every step and "
                rf"$|C_0| \le c_{{\max}} = {c_max:g}$, $\kappa \le 1$ bounds "
                r"$\|P_T\|_\infty$ by 1 for every $T$; $\kappa < 1$ gives "
                r"$\|P_T\|_\infty \le \kappa^T$: the gradient vanishes",
            ),
            r"P_T = \frac{\partial (C_T, h_T)}{\partial (C_0, h_0)},\qquad "
            r"\|P_T\|_\infty \le \kappa^T",
        ),
        Statement(
            "per_model_certificate",
            Text(
                "sufficient, not necessary: gate ranges unit by unit from b_g ± (row sums of "
                f"|W_g^(h)| + |W_g^(x)| x_max), here x_max = {x_max:.4g} (the largest input of "
                "the maps' runs), |h_0| ≤ 1, |C_0| ≤ 1; κ ≤ 1 bounds every ‖P_T‖_∞ by 1 and "
                "κ < 1 means vanishing",
                r"the per-model certificate, sufficient and not necessary: gate ranges unit by "
                r"unit from $b_g$ and the row sums of $|W_g^{(h)}|$ and $|W_g^{(x)}|\,x_{\max}$, "
                rf"here $x_{{\max}} = {x_max:.4g}$ (the largest input of the maps' runs), "
                r"$|h_0| \le 1$, $|C_0| \le 1$; $\kappa \le 1$ bounds every $\|P_T\|_\infty$ "
                r"by 1 and $\kappa < 1$ means vanishing",
            ),
        ),
    )


def sigma_below_one(seed: int) -> Verdict:
    """ "σ never exceeds 1, so the LSTM gradient cannot explode" (after eq. (14))."""
    robust, curves, refutes = _robust(seed)
    special, is_special = _equilibrium(seed)
    confirm(is_special, "the equilibrium example grows at rest and vanishes elsewhere")
    maps, slices = _maps(seed)
    floats, formulas = _floating_point()
    premises = Proofs(
        "premises_proved", tuple(Proved(b.name, f"${b.latex}$", {}, b.holds) for b in bounds())
    )
    saturates = float(saturation_threshold(np.float64))
    premise_in_maps = all(s.z_f_max < saturates for s in slices)
    evidence = (
        premises,
        *_certificates(slices[0].x_max),
        *curves,
        *maps,
        floats,
        formulas,
    )
    found = robust_exploding_lstm(seed)  # cached: the search above
    sweep = input_sweep(seed)
    q = {key: robust.quantity(key).value for key in ("lambda_max", "lambda_bound", "f_max_fresh")}
    runs, up_to = len(found.check_exponents), sweep.exploding_up_to()
    at_one = robust.quantity("lambda_at_unit_inputs_largest").value
    certified = slices[0].largest_certified_scale(slices)
    verdict = "fails" if refutes and premises.hold and premise_in_maps else "holds-if"
    return Verdict(
        "sigma-below-one",
        verdict,
        Text(
            "an invalid inference: 0 < f_t < 1 bounds the cell path only, and the state "
            "Jacobian also carries the path through h_(t−1); a 2-unit LSTM (seed "
            f"{seed}) with f_t ≤ {q['f_max_fresh']:.5f} explodes for small inputs: at input "
            f"std {found.x_scale:g}, λ_max = {q['lambda_max']:.3f} per step on average over "
            f"{runs} fresh input seeds and starts, every one ≥ {q['lambda_bound']:.3f}; every "
            f"run explodes up to std {up_to:g}; at N(0, 1), the maps' inputs, it vanishes "
            f"(every run ≤ {at_one:.3f})",
            r"an invalid inference: $0 < f_t < 1$ bounds the cell path only, and the state "
            r"Jacobian also carries the path through $h_{t-1}$; a 2-unit LSTM (seed "
            rf"{seed}) with $f_t \le {q['f_max_fresh']:.5f}$ explodes for small inputs: at "
            rf"input std {found.x_scale:g}, $\lambda_{{\max}} = {q['lambda_max']:.3f}$ per "
            rf"step on average over {runs} fresh input seeds and starts, every one "
            rf"$\ge {q['lambda_bound']:.3f}$; every run explodes up to std {up_to:g}; at "
            rf"$N(0, 1)$, the maps' inputs, it vanishes (every run $\le {at_one:.3f}$)",
        ),
        14,
        evidence,
        # where the conclusion holds is evidence (the certificates above), not a condition
        # that rescues a failed inference; only if no explosion were found would it be one
        condition=None if verdict == "fails" else _CERTIFIED,
        condition_latex=None if verdict == "fails" else _CERTIFIED_LATEX,
        finding="invalid-inference" if verdict == "fails" else "missing-condition",
        counterexample=(robust, special),
        takeaway=Text(
            "σ < 1 bounds the cell path's factor f_t, not the gradient: the path through "
            "h_(t−1) multiplies the recurrent weights, which nothing bounds, so an LSTM "
            f"gradient can explode (this one for input std ≤ {up_to:g}; with N(0, 1) inputs "
            "it vanishes). No explosion is guaranteed only by a condition on the weights, a "
            f"certificate κ ≤ 1, and both certificates here hold only at recurrent scales "
            f"≤ {certified:g}.",
            r"$\sigma < 1$ bounds the cell path's factor $f_t$, not the gradient: the path "
            r"through $h_{t-1}$ multiplies the recurrent weights, which nothing bounds, so an "
            rf"LSTM gradient can explode (this one for input std $\le {up_to:g}$; with "
            r"$N(0, 1)$ inputs it vanishes).  No explosion is guaranteed only by a condition "
            r"on the weights, a certificate $\kappa \le 1$, and both certificates here hold "
            rf"only at recurrent scales $\le {certified:g}$.",
        ),
    )


_CERTIFIED = Text(
    "a certificate κ ≤ 1 of the recurrent weights (sufficient, with its hypotheses)",
    r"a certificate $\kappa \le 1$ of the recurrent weights (sufficient, with its hypotheses)",
)
_CERTIFIED_LATEX = (
    r"\kappa \le 1 \ \Rightarrow\ "
    r"\left\|\frac{\partial (C_T, h_T)}{\partial (C_0, h_0)}\right\|_\infty \le 1"
)
