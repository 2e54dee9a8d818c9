r"""Lyapunov maps as evidence: where the article's conclusions hold, measured (after eq. (7)
and (14)).

:func:`lstm_slice` computes λ_max of ∂(C_T, h_T)/∂(C_0, h_0) over (recurrent scale, b_f) for
an LSTM of eq. (8)-(13) with :func:`bptt_check.maps.lyapunov_map`, and on the same grid the two
no-explosion certificates of :mod:`bptt_check.region` (the global κ with f_max = 0.9 and the
per-model :func:`~bptt_check.region.certify`), each counted only where its hypotheses hold on
the map's inputs; :func:`width_map` gives λ_max of ∂S_T/∂S_0 of a random tanh RNN (eq. (1) with
W = g W_0, (W_0)_ij ~ N(0, 1/n) seeded, and an i.i.d. input drive of std σ_x) over (g, σ_x) at
n = 8 and 64 (:meth:`WidthMap.grid`) and on fewer points at n = 256 (:func:`edge_curve`,
:func:`width_curve`), beside the mean-field edge of chaos of :mod:`bptt_check.meanfield` and the
bound γ‖W‖₂ = 1 at its exact gain 1/‖W_0‖₂; :func:`gated_grid` gives, beside the LSTM maps, the
LSTM of 1997 (no forget gate: the constant error carousel) over (recurrent scale, b_i) and the
GRU over (recurrent scale, b_z).

The σ RNN is not mapped, by measurement: σ(a) = (1 + tanh(a/2))/2 makes it a tanh network at
gain g/4 with a static random bias, whose mean-field edge is at g ≈ 10.1 (γ‖W‖₂ ≈ 5 at
n = 256).  Measured (seed 0, T = 300, 2 runs) it explodes at n = 256 from g = 12 on, but at
n = 64 without input at no g ≤ 24 (the static bias saturates its units): the mean field does
not describe it at the maps' widths, and its old n = 8 map (‖W‖₂ ≤ 16, g ≲ 10) stopped short
of its edge, so its "0 % explode" said nothing about σ RNNs.

The sizes are small (the LSTM maps 16 × 16 points, the width grids 12 × 8 and the n = 256
curves 5 × 3; T = 300, B = 4 runs): the maps of the report, not the sweeps of
``benchmarks/lyapunov_maps.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from derivations import cells
from numeric import Model, Spectrum, lyapunov

from . import meanfield
from .evidence import Axis, Curve, Grid, Overlay, Series
from .maps import MAPS, REGIMES, grid_parameters, lyapunov_map, map_inputs
from .region import certify, kappa

__all__ = [
    "GATED",
    "LSTM_BIASES",
    "LSTM_SCALES",
    "LstmSlice",
    "WidthMap",
    "wide_map",
    "edge_curve",
    "gated_grid",
    "lstm_slice",
    "random_rnn",
    "width_curve",
    "width_map",
]

#: The LSTM maps' axes: recurrent scales (denser near 0, where a certificate can hold) and b_f.
LSTM_SCALES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0)
LSTM_BIASES = tuple(float(b) for b in np.linspace(-2.0, 6.0, 16))
T_MAP, B_MAP = 300, 4
OLD_F_MAX = 0.9  # the global κ's forget-gate bound (its c_max = 1/(1 − f_max) = 10)


@dataclass(frozen=True)
class LstmSlice:
    """One LSTM map (n units): λ_max and its regime per point (``[scale][bias]``), the
    largest forget pre-activation any step can reach, and the certificates on the grid."""

    n: int
    lambda_max: np.ndarray
    regime: np.ndarray  # codes into maps.REGIMES
    z_f_max: float  # the largest b_f + ‖W_f^(h) row‖₁ + ‖W_f^(x) row‖₁ x_max on the grid
    x_max: float
    old_certified: np.ndarray  # κ(f_max = 0.9) ≤ 1 and its hypothesis f_t ≤ 0.9
    new_certified: np.ndarray  # certify(params, x_max, c0_max = 1).kappa ≤ 1

    def share(self, regime: str) -> float:
        return float(np.mean(self.regime == REGIMES.index(regime)))

    @property
    def not_exploding(self) -> np.ndarray:
        """Points not measured exploding: vanishing, preserved or undetermined."""
        return self.regime != REGIMES.index("explodes")

    def coverage(self, certified: np.ndarray) -> float:
        """The share of the non-exploding points (:attr:`not_exploding`) a certificate
        certifies."""
        return float(certified[self.not_exploding].mean()) if self.not_exploding.any() else 0.0

    @staticmethod
    def largest_certified_scale(slices) -> float:
        """The largest recurrent scale at which either certificate certifies a point of any
        of ``slices``."""
        rows = [
            i
            for s in slices
            for i in range(len(LSTM_SCALES))
            if (s.old_certified[i] | s.new_certified[i]).any()
        ]
        return float(LSTM_SCALES[max(rows)]) if rows else 0.0

    def grid(self) -> Grid:
        return Grid(
            f"lstm_map_n{self.n}",
            rf"The top Lyapunov exponent $\lambda_{{\max}}$ of "
            rf"$\partial (C_T, h_T)/\partial (C_0, h_0)$ of an LSTM with $n = {self.n}$ "
            r"over the scale of its recurrent weights (the spectral norm of each "
            r"$W_g^{(h)}$) and the forget bias $b_f$, the other biases 0, inputs "
            rf"$x_t \sim N(0, 1)$, mean of {B_MAP} runs of $T = {T_MAP}$ steps: red explodes, "
            r"blue vanishes.  Outlined: where the global bound $\kappa \le 1$ (with "
            r"$f_t \le 0.9$) and where the per-model certificate hold; both are sufficient, "
            r"and inside them the gradient vanishes.",
            Axis("recurrent_scale", "recurrent scale $\\|W_g^{(h)}\\|_2$", LSTM_SCALES),
            Axis("forget_bias", "forget bias $b_f$", LSTM_BIASES),
            tuple(tuple(round(float(v), 9) for v in row) for row in self.lambda_max.T),
            r"$\lambda_{\max}$ (nats per step)",
            (
                Overlay(r"$\kappa \leq 1$, $f_t \leq 0.9$", _region(self.old_certified)),
                Overlay("per-model certificate", _region(self.new_certified)),
            ),
        )


def _region(inside: np.ndarray) -> tuple[tuple[bool, ...], ...]:
    """A ``[x][y]`` mask as an overlay's ``region[j][i]``."""
    return tuple(tuple(bool(v) for v in row) for row in np.asarray(inside).T)


def _point_params(n: int, seed: int, scale: float, bias: float) -> dict:
    """The parameters of one map point, as :func:`bptt_check.maps.lyapunov_map` runs them."""
    values = {"recurrent_scale": scale, "forget_bias": bias}
    return {k: v[0] for k, v in grid_parameters("lstm", n, 1, seed, values).items()}


def _map_inputs_max(n: int, seed: int, T: int, B: int) -> float:
    """max |x_t| over the map's inputs: the x_max of the certificates' hypotheses."""
    return float(np.abs(map_inputs("lstm", n, 1, T, B, seed)[0]).max())


@cache
def lstm_slice(n: int, seed: int) -> LstmSlice:
    """The LSTM map with ``n`` units and its certificates (see the module docstring)."""
    ds = lyapunov_map("lstm", LSTM_SCALES, LSTM_BIASES, n=n, T=T_MAP, B=B_MAP, seed=seed)
    x_max = _map_inputs_max(n, seed, T_MAP, B_MAP)
    logit = float(np.log(OLD_F_MAX / (1 - OLD_F_MAX)))
    shape = (len(LSTM_SCALES), len(LSTM_BIASES))
    old, new, z_top = np.zeros(shape, bool), np.zeros(shape, bool), -np.inf
    for i, scale in enumerate(LSTM_SCALES):
        for j, bias in enumerate(LSTM_BIASES):
            params = _point_params(n, seed, scale, bias)
            W_f = params["W_f"]
            z_f = params["b_f"] + np.abs(W_f[:, :n]).sum(1) + np.abs(W_f[:, n:]).sum(1) * x_max
            z_top = max(z_top, float(z_f.max()))
            old[i, j] = (
                bool(z_f.max() <= logit) and kappa(params, OLD_F_MAX, 1 / (1 - OLD_F_MAX)) <= 1
            )
            new[i, j] = certify(params, x_max=x_max, c0_max=1.0).certified
    return LstmSlice(
        n,
        ds.lambda_max.values,
        ds.regime.values,
        z_top,
        x_max,
        old,
        new,
    )


#: The width maps: the tanh RNN of eq. (1), S_t = tanh(g W_0 S_{t-1} + σ_x X_t), over the gain g
#: (W_0 ~ N(0, 1/n), seeded) and the input std σ_x (U = σ_x I, X_t ~ N(0, I)); the grids at
#: :data:`WIDTHS`, the curves at :data:`WIDE` on fewer points.
GAINS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0)
INPUT_STDS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)
WIDTHS = (8, 64)
WIDE, WIDE_GAINS, WIDE_STDS = 256, (0.5, 1.0, 1.5, 2.0, 3.0), (0.0, 0.5, 1.0)
T_WIDTH, B_WIDTH = 300, 4
T_WIDE, B_WIDE = 200, 3  # the n = 256 curves: fewer, shorter runs (the spread is small there)
#: The x of the curves: the gains the theory is drawn at (every measured gain is one of them).
CURVE_GAINS = tuple(round(float(g), 2) for g in np.arange(0.25, 4.0001, 0.05))


def random_rnn(n: int, seed: int) -> np.ndarray:
    """W_0 with i.i.d. N(0, 1/n) entries, seeded per width: the map's W is g W_0."""
    return np.random.default_rng([seed, n, 2]).normal(size=(n, n)) / np.sqrt(n)


@dataclass(frozen=True)
class WidthMap:
    """λ_max of ∂S_T/∂S_0 of the random tanh RNN with ``n`` units at every (gain, input std)
    point: the mean over B runs, its standard error and :meth:`numeric.Spectrum.classify`'s
    regime (``[gain][std]``); ``bound_gain`` = 1/‖W_0‖₂, where γ‖W‖₂ = 1 (γ = 1 for tanh)."""

    n: int
    gains: tuple[float, ...]
    stds: tuple[float, ...]
    lambda_max: np.ndarray
    se: np.ndarray
    regime: np.ndarray  # strings of numeric.Spectrum.classify
    bound_gain: float

    @property
    def theory(self) -> np.ndarray:
        """The mean-field exponent at every point (:func:`bptt_check.meanfield.exponent`)."""
        return np.array([[meanfield.exponent(g, s) for s in self.stds] for g in self.gains])

    def shares(self) -> tuple[float, float, float]:
        """In %: of the points right of the bound (g > 1/‖W_0‖₂), those that explode; of
        the points the mean field calls chaotic (λ > 0), those that explode; of those it calls
        ordered (λ < 0), those that vanish."""
        explodes, vanishes = self.regime == "explodes", self.regime == "vanishes"
        right = np.broadcast_to(np.asarray(self.gains)[:, None] > self.bound_gain, explodes.shape)
        theory = self.theory

        def percent(part: np.ndarray, of: np.ndarray) -> float:
            return float(100 * part[of].mean()) if of.any() else float("nan")

        return (
            percent(explodes, right),
            percent(explodes, theory > 0),
            percent(vanishes, theory < 0),
        )

    def grid(self) -> Grid:
        inside = np.asarray(self.gains)[:, None] <= self.bound_gain
        return Grid(
            f"tanh_rnn_map_n{self.n}",
            rf"The top Lyapunov exponent $\lambda_{{\max}}$ of $\partial S_T/\partial S_0$ of "
            rf"a random $\tanh$ RNN (1) with $n = {self.n}$, $W = g\,W_0$, "
            rf"$(W_0)_{{ij}} \sim N(0, 1/n)$, driven by i.i.d. inputs of std $\sigma_x$ "
            rf"(mean of {B_WIDTH} runs of $T = {T_WIDTH}$): red explodes, blue vanishes.  Look "
            r"at where red begins: the solid outline is where the bound $\gamma\|W\|_2 \le 1$ "
            rf"certifies vanishing ($g \le 1/\|W_0\|_2 = {self.bound_gain:.3f}$, drawn to the "
            r"nearest points), the dashed one where the mean-field theory predicts chaos "
            r"($\lambda > 0$); stronger input moves the edge to larger $g$.",
            Axis("gain", "gain $g$", self.gains),
            Axis("input_std", r"input std $\sigma_x$", self.stds),
            tuple(tuple(round(float(v), 9) for v in row) for row in self.lambda_max.T),
            r"$\lambda_{\max}$ (nats per step)",
            (
                Overlay(
                    r"$\gamma\|W\|_2 \leq 1$",
                    _region(np.broadcast_to(inside, self.lambda_max.shape)),
                ),
                Overlay(r"mean field: $\lambda > 0$", _region(self.theory > 0)),
            ),
        )


@cache
def width_map(
    n: int, seed: int, gains=GAINS, stds=INPUT_STDS, T: int = T_WIDTH, B: int = B_WIDTH
) -> WidthMap:
    """λ_max of the random tanh RNN with ``n`` units over ``gains`` × ``stds``: one batched
    :func:`numeric.lyapunov` call, the gains on its grid axis and the input stds on its run
    axis (U = I, the inputs σ_x X_t scaled run by run), every point on the same seeded X_t and
    starts; each point classified by :meth:`numeric.Spectrum.classify` over its own runs."""
    W0 = random_rnn(n, seed)
    rng = np.random.default_rng([seed, n, 3])
    xs = rng.normal(size=(T, B, n))
    start = rng.uniform(-1, 1, (B, n))
    scale = np.repeat(np.asarray(stds, float), B)  # run axis: std-major
    params = {"W": np.asarray(gains, float)[:, None, None] * W0, "U": np.eye(n)}
    spectrum = lyapunov(
        _tanh_rnn(),
        params,
        np.tile(xs, (1, len(stds), 1)) * scale[None, :, None],
        {"S": np.tile(start, (len(stds), 1))},
        growth=False,
        seed=seed,
    )
    runs = spectrum.exponents.reshape(len(gains), len(stds), B, -1)
    by_point = Spectrum(
        runs.reshape(len(gains) * len(stds), B, -1),
        None,
        spectrum.T,
        spectrum.warmup,
        grid=True,
        batched=True,
    )
    shape = (len(gains), len(stds))
    return WidthMap(
        n,
        tuple(gains),
        tuple(stds),
        by_point.mean()[:, 0].reshape(shape),
        by_point.se()[:, 0].reshape(shape),
        by_point.classify().reshape(shape),
        float(1 / np.linalg.norm(W0, 2)),
    )


def wide_map(seed: int) -> WidthMap:
    """The n = :data:`WIDE` map: :data:`WIDE_GAINS` × :data:`WIDE_STDS`, T_WIDE steps, B_WIDE
    runs."""
    return width_map(WIDE, seed, WIDE_GAINS, WIDE_STDS, T_WIDE, B_WIDE)


@cache
def _tanh_rnn() -> Model:
    return Model(cells.elman("tanh"))


def _on_curve(values: dict[float, float]) -> tuple[float, ...]:
    """A series over :data:`CURVE_GAINS`: ``values`` at its gains, NaN elsewhere."""
    return tuple(float(values.get(g, np.nan)) for g in CURVE_GAINS)


def edge_curve(seed: int) -> Curve:
    """λ_max against g at n = :data:`WIDE` for each of :data:`WIDE_STDS`, with the mean-field
    line of each and its edge g_c(σ_x), and the bound γ‖W‖₂ = 1 at its exact gain."""
    wide = wide_map(seed)
    series: list[Series] = []
    edges: list[str] = []
    for j, std in enumerate(WIDE_STDS):
        series.append(
            Series(
                rf"measured, $n = {WIDE}$, $\sigma_x = {std:g}$",
                _on_curve(dict(zip(WIDE_GAINS, wide.lambda_max[:, j], strict=True))),
                _on_curve(dict(zip(WIDE_GAINS, wide.se[:, j], strict=True))),
            )
        )
    for std in WIDE_STDS:
        series.append(
            Series(
                rf"mean field, $\sigma_x = {std:g}$",
                tuple(meanfield.exponent(g, std) for g in CURVE_GAINS),
                theory=True,
            )
        )
        edges.append(f"{meanfield.edge(std):.3f} ($\\sigma_x = {std:g}$)")
    return Curve(
        f"edge_of_chaos_n{WIDE}",
        rf"The top Lyapunov exponent of a random $\tanh$ RNN with $n = {WIDE}$ against the gain "
        rf"$g$, for three input stds (markers: mean of {B_WIDE} runs of $T = {T_WIDE}$, band: two "
        r"standard errors) and the mean-field theory (lines; Molgedey, Schuchhardt \& Schuster "
        r"1992, "
        r"Cessac 1995).  Look at where each curve crosses 0: the edge of chaos, "
        rf"$g_c$ = {', '.join(edges)}: input suppresses chaos; the bound "
        rf"$\gamma\|W\|_2 < 1$ holds only left of the dash-dotted line, "
        rf"$g = 1/\|W_0\|_2 = {wide.bound_gain:.3f}$.",
        Axis("gain", "gain $g$", CURVE_GAINS),
        tuple(series),
        r"$\lambda_{\max}$ (nats per step)",
        hlines=((0.0, r"$\lambda = 0$"),),
        vlines=((wide.bound_gain, r"$\gamma\|W\|_2 = 1$"),),
    )


def width_curve(seed: int) -> Curve:
    """λ_max against g without input at n = 8, 64 (the grids' σ_x = 0 column) and 256, with
    the mean-field line: at small n the network is far less often chaotic."""
    maps = [width_map(n, seed) for n in WIDTHS] + [wide_map(seed)]
    series = tuple(
        Series(
            rf"measured, $n = {m.n}$",
            _on_curve(dict(zip(m.gains, m.lambda_max[:, 0], strict=True))),
            _on_curve(dict(zip(m.gains, m.se[:, 0], strict=True))),
        )
        for m in maps
    )
    theory = Series(
        r"mean field ($n \to \infty$)",
        tuple(meanfield.exponent(g, 0.0) for g in CURVE_GAINS),
        theory=True,
    )
    return Curve(
        "width_without_input",
        r"The top Lyapunov exponent of the random $\tanh$ RNN without input against the gain "
        rf"$g$ at $n = {', '.join(str(m.n) for m in maps)}$, with the mean-field theory.  Look "
        r"at how the measured points approach the line as $n$ grows: at $n = 8$ the network "
        r"is rarely chaotic, which is a matter of width, not a property of RNNs.",
        Axis("gain", "gain $g$", CURVE_GAINS),
        (*series, theory),
        r"$\lambda_{\max}$ (nats per step)",
        hlines=((0.0, r"$\lambda = 0$"),),
        vlines=tuple((m.bound_gain, rf"$\gamma\|W\|_2 = 1$ at $n = {m.n}$") for m in maps),
    )


#: The maps beside the LSTM's (same recurrent scales, the bias axis on the LSTM's b_f values):
#: the 1997 LSTM over b_i and the GRU over b_z; each: (what λ_max is of, bias label, caption).
GATED = {
    "lstm-1997": (
        r"$\partial (C_T, h_T)/\partial (C_0, h_0)$",
        "input-gate bias $b_i$",
        r"of the LSTM of 1997 (eq. (8)-(13) without the forget gate) over the scale of its "
        r"recurrent weights (the spectral norm of each $W_g^{(h)}$) and the input-gate bias "
        r"$b_i$.  Its cell path is the constant error carousel "
        r"$C_t = C_{t-1} + i_t \odot \tilde{C}_t$, $\partial C_t/\partial C_{t-1} = I$ on "
        r"that path; yet the total Jacobian also carries the path through $h_{t-1}$: with the "
        r"recurrent weights on, most points grow slowly ($\lambda_{\max}$ of order "
        r"$10^{-2}$ per step or less) rather than being preserved",
    ),
    "gru": (
        r"$\partial h_T/\partial h_0$",
        "update-gate bias $b_z$",
        r"of a GRU (PyTorch's) over the scale of its recurrent weights (the spectral norm of "
        r"each of $W_{hr}, W_{hz}, W_{hn}$) and the update-gate bias $b_z$.  With "
        r"$h_t = (1 - z_t) \odot \tilde{h}_t + z_t \odot h_{t-1}$, an update gate $z_t$ near 1 "
        r"keeps $h$: $\lambda_{\max}$ rises towards 0 from below as $b_z$ grows; only large "
        r"recurrent weights with a small $b_z$ explode",
    ),
}


@cache
def gated_grid(kind: str, seed: int, n: int = 8) -> tuple[Grid, dict[str, float]]:
    """λ_max of the map ``kind`` (a key of :data:`GATED`) with ``n`` units over
    (:data:`LSTM_SCALES`, :data:`LSTM_BIASES`), and each regime's share of its points."""
    of, label, caption = GATED[kind]
    ds = lyapunov_map(kind, LSTM_SCALES, LSTM_BIASES, n=n, T=T_MAP, B=B_MAP, seed=seed)
    shares = {regime: float(np.mean(ds.regime.values == i)) for i, regime in enumerate(REGIMES)}
    counts = {regime: int(np.sum(ds.regime.values == i)) for i, regime in enumerate(REGIMES)}
    verbs = {"vanishes": "vanish", "preserved": "preserved", "explodes": "explode"}
    said = ", ".join(
        f"{count} {verbs.get(regime, regime)}" for regime, count in counts.items() if count
    )
    grid = Grid(
        f"{kind.replace('-', '_')}_map_n{n}",
        rf"The top Lyapunov exponent $\lambda_{{\max}}$ of {of} with $n = {n}$ "
        + caption
        + rf" (inputs $x_t \sim N(0, 1)$, mean of {B_MAP} runs of $T = {T_MAP}$ steps; red "
        rf"explodes, blue vanishes; of its {ds.regime.size} points: {said}).",
        Axis("recurrent_scale", "recurrent scale", LSTM_SCALES),
        Axis(MAPS[kind][1], label, LSTM_BIASES),
        tuple(tuple(round(float(v), 9) for v in row) for row in ds.lambda_max.values.T),
        r"$\lambda_{\max}$ (nats per step)",
    )
    return grid, shares
