r"""Lyapunov maps as evidence: where the article's conclusions hold, measured (after eq. (7)
and (14)).

:func:`lstm_slice` computes λ_max of ∂(C_T, h_T)/∂(C_0, h_0) over (recurrent scale, b_f) for
an LSTM of eq. (8)-(13) with :func:`bptt_check.maps.lyapunov_map`, and on the same grid the two
no-explosion certificates of :mod:`bptt_check.region` (the global κ with f_max = 0.9 and the
per-model :func:`~bptt_check.region.certify`), each counted only where its hypotheses hold on
the map's inputs; :func:`elman_grid` gives λ_max of ∂S_T/∂S_0 of eq. (1) over (recurrent
scale, input scale), whose line γ‖W‖₂ = 1 is where the norm bound stops certifying vanishing;
:func:`gated_grid` gives, beside the LSTM maps, the LSTM of 1997 (no forget gate: the constant
error carousel) over (recurrent scale, b_i) and the GRU over (recurrent scale, b_z).

The sizes are small (16 × 16 points, T = 300, B = 4 runs): the maps of the report, not the
sweeps of ``benchmarks/lyapunov_maps.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from .evidence import Axis, Grid, Overlay
from .maps import MAPS, REGIMES, grid_parameters, lyapunov_map, map_inputs
from .region import certify, kappa

__all__ = [
    "ELMAN",
    "GATED",
    "LSTM_BIASES",
    "LSTM_SCALES",
    "LstmSlice",
    "elman_grid",
    "gated_grid",
    "lstm_slice",
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
        """Points measured vanishing or preserved (an undetermined point is left out)."""
        return (self.regime == REGIMES.index("vanishes")) | (
            self.regime == REGIMES.index("preserved")
        )

    def coverage(self, certified: np.ndarray) -> float:
        """The share of the measured non-exploding points a certificate certifies."""
        return float(certified[self.not_exploding].mean()) if self.not_exploding.any() else 0.0

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


#: The Elman maps' axes and sup of the activation's derivative (γ of ‖J_t‖₂ ≤ γ‖W‖₂).
ELMAN = {
    "elman-sigmoid": (tuple(float(v) for v in np.linspace(0.5, 16.0, 16)), 0.25, r"\sigma"),
    "elman-tanh": (tuple(float(v) for v in np.linspace(0.25, 6.0, 16)), 1.0, r"\tanh"),
}
ELMAN_INPUTS = tuple(float(v) for v in np.linspace(0.0, 3.0, 16))


def elman_grid(kind: str, seed: int, n: int = 8) -> tuple[Grid, float]:
    """λ_max of ∂S_T/∂S_0 of the Elman RNN ``kind`` over (‖W‖₂, ‖U‖₂), and the share of the
    points right of γ‖W‖₂ = 1 (where the bound no longer certifies vanishing) that explode."""
    scales, gamma, name = ELMAN[kind]
    ds = lyapunov_map(kind, scales, ELMAN_INPUTS, n=n, T=T_MAP, B=B_MAP, seed=seed)
    values = ds.lambda_max.values
    critical = 1 / gamma
    grid = Grid(
        f"{kind.replace('-', '_')}_map",
        rf"The top Lyapunov exponent $\lambda_{{\max}}$ of $\partial S_T/\partial S_0$ of the "
        rf"RNN (1) with ${name}$ and $n = {n}$ over $\|W\|_2$ and $\|U\|_2$ (seeded "
        rf"directions, $X_t \sim N(0, 1)$, {B_MAP} runs of $T = {T_MAP}$): the bound "
        rf"$\gamma\|W\|_2 < 1$ certifies vanishing left of $\|W\|_2 = {critical:g}$ only.",
        Axis("recurrent_scale", "$\\|W\\|_2$", scales),
        Axis("input_scale", "$\\|U\\|_2$", ELMAN_INPUTS),
        tuple(tuple(round(float(v), 9) for v in row) for row in values.T),
        r"$\lambda_{\max}$ (nats per step)",
        (
            Overlay(
                r"$\gamma\|W\|_2 \leq 1$",
                _region(np.broadcast_to((np.asarray(scales) <= critical)[:, None], values.shape)),
            ),
        ),
    )
    right = np.asarray(scales) > critical
    explodes = ds.regime.values[right] == REGIMES.index("explodes")
    return grid, float(explodes.mean()) if right.any() else 0.0


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
