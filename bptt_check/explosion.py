r"""A robust exploding LSTM: "σ never exceeds 1, so no explosion" (after eq. (14)) refuted.

An explosion found at an unstable equilibrium is fragile: started a little off it, the
trajectory leaves and the Jacobian products decay.  A robust one has a positive top Lyapunov
exponent λ_max of ∂(C_t, h_t)/∂(C_{t-1}, h_{t-1}) along the driven trajectories, whatever the
inputs and starts (Mikhaeil, Monfared & Durstewitz 2022: chaotic orbits make gradients
diverge).  :func:`robust_exploding_lstm` finds one by a seeded search over small LSTMs with
:func:`numeric.lyapunov`, checks it on fresh input seeds and starts, and confirms the growth at
T steps in mpmath on the model written out independently (:mod:`bptt_check.reference`), with
complex-step tangents at high precision: no float64 code is shared.

>>> found = robust_exploding_lstm(seed=0)
>>> found.confirmed and bool(found.check_exponents.min() > 0)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import mpmath
import numpy as np

from derivations import cells
from numeric import Model, lyapunov

from . import reference

__all__ = [
    "FRESH_RUNS",
    "SEARCH_RUNS",
    "THRESHOLD",
    "Explosion",
    "InputSweep",
    "input_sweep",
    "robust_candidates",
    "robust_exploding_lstm",
]

#: Every run of a robust candidate must grow at least this fast (nats per step).
THRESHOLD = 0.05
#: The runs (input seeds and starts) of each candidate in the search, and the fresh runs the
#: chosen one is checked on.
SEARCH_RUNS, FRESH_RUNS = 4, 16
#: The input stds of :func:`input_sweep`: from the search's 0.1 up to the maps' N(0, 1).
SWEEP_STDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 1.0)
_N, _M = 2, 1  # a 2-unit LSTM with one input: chaos needs two state dimensions at least


@dataclass(frozen=True)
class Explosion:
    """The counterexample: ``params`` (W_g acting on [h; x], b_g), the input scale of the
    driving x_t ~ N(0, x_scale²), the exponents of the search runs and of the check runs
    (fresh input seeds and starts), the trajectory's f_t range, and the growth
    ‖∂(C_T, h_T)/∂(C_0, h_0)‖₂ of one run in float64 and in mpmath, at a short horizon (where
    the two trajectories agree to rounding) and at ``T`` (where a chaotic float64 trajectory
    has parted from the exact one: only the growth rate is comparable there), with the digits
    mpmath worked at.  ``f_range`` is over the stored run ``xs``; ``fresh_f_range`` over the
    :data:`FRESH_RUNS` fresh runs.  ``growth_by_step[t-1]`` = ‖∂(C_t, h_t)/∂(C_0, h_0)‖₂ and
    ``cell_path[t-1]`` = max_j ∏_{s ≤ t} f_{s,j} (the cell path eq. (14) looks at) along the
    stored run, in float64."""

    params: dict[str, np.ndarray]
    x_scale: float
    search_exponents: np.ndarray
    check_exponents: np.ndarray
    check_se: float
    f_range: tuple[float, float]
    fresh_f_range: tuple[float, float]
    xs: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    T: int
    short_T: int
    growth: dict[int, float]
    mpmath_growth: dict[int, str]
    mpmath_digits: dict[int, int]
    growth_by_step: np.ndarray
    cell_path: np.ndarray
    confirmed: bool
    candidates: int
    seed: int


def robust_candidates(lambda_runs: np.ndarray) -> np.ndarray:
    """The candidates (rows of ``lambda_runs``, (G, B) exponents of each run) whose *every*
    run grows faster than :data:`THRESHOLD`: the minimum over runs decides, not the mean."""
    return np.flatnonzero(np.asarray(lambda_runs).min(axis=1) > THRESHOLD)


def _forget_gates(J: np.ndarray) -> np.ndarray:
    """f_t of every step and unit from state Jacobians (..., 2n, 2n): the C/C block's
    diagonal is diag(f_t) (eq. (14))."""
    return np.diagonal(J[..., :_N, :_N], axis1=-2, axis2=-1)


def _candidates(
    rng: np.random.Generator, G: int, forget_bias: float | None = None
) -> dict[str, np.ndarray]:
    """G random LSTMs with strong cell feedback W_c^{(h)} and forget biases in [-1, 6]; with
    ``forget_bias``, W_f = 0 and b_f = ``forget_bias``: f_t = σ(forget_bias) at every step
    (the same draws either way)."""
    shape = (G, _N, _N + _M)
    params = {f"W_{g}": rng.normal(size=shape) * rng.uniform(0.5, 4, size=(G, 1, 1)) for g in "ifo"}
    params["W_c"] = rng.normal(size=shape) * rng.uniform(2, 12, size=(G, 1, 1))
    params |= {f"b_{g}": rng.normal(size=(G, _N)) for g in "ico"}
    params["b_f"] = rng.uniform(-1, 6, size=(G, _N))
    if forget_bias is not None:
        params["W_f"][:] = 0.0
        params["b_f"][:] = forget_bias
    return params


def _runs(rng: np.random.Generator, T: int, B: int, G: int | None, x_scale: float):
    lead = (B, _N) if G is None else (G, B, _N)
    xs = rng.normal(size=(T, B, _M)) * x_scale
    state0 = {"C": rng.uniform(-1, 1, lead), "h": rng.uniform(-1, 1, lead)}
    return xs, state0


def _mp_growth(params: dict[str, np.ndarray], xs: np.ndarray, h0, c0, dps: int) -> mpmath.mpf:
    """‖∂(C_T, h_T)/∂(C_0, h_0)‖₂ of the written-out LSTM: one complex-step tangent per column
    (Im of the state after T steps from s_0 + i·h·e_j, over h), at ``dps`` digits."""
    with mpmath.workdps(dps):
        exact = reference.exact(params)
        inputs = [[mpmath.mpf(float(v)) for v in x] for x in xs]
        step = mpmath.mpf(10) ** (-dps // 2)
        columns = []
        for j in range(2 * _N):
            c = [mpmath.mpc(float(v)) for v in c0]
            h = [mpmath.mpc(float(v)) for v in h0]
            (c if j < _N else h)[j % _N] += 1j * step
            h_T, c_T = reference.lstm_states(exact, inputs, h, c)
            columns.append([mpmath.im(v) / step for v in (*c_T, *h_T)])
        jacobian = mpmath.matrix([[columns[j][i] for j in range(2 * _N)] for i in range(2 * _N)])
        return max(mpmath.svd_r(jacobian, compute_uv=False))


@cache
def robust_exploding_lstm(
    seed: int = 0,
    T: int = 200,
    short_T: int = 30,
    x_scale: float = 0.1,
    forget_bias: float | None = None,
) -> Explosion:
    """Search G = 256 seeded candidates (4 input seeds and starts each, 300 steps), keep the
    first whose every run has λ_max > THRESHOLD, re-run it on 16 fresh input seeds and starts,
    and confirm its growth at ``short_T`` (float64 and mpmath agree to 1e-6) and at ``T``
    (both grow faster than e^{THRESHOLD·T}; a chaotic float64 trajectory parts from the exact
    one after some 90 steps, so only the rate is compared there)."""
    model = Model(cells.lstm())
    rng = np.random.default_rng(seed)
    G, total = 256, 0
    for _ in range(8):
        params = _candidates(rng, G, forget_bias)
        xs, state0 = _runs(rng, 300, SEARCH_RUNS, G, x_scale)
        spectrum = lyapunov(model, params, xs, state0, growth=False, seed=seed)
        total += G
        robust = robust_candidates(spectrum.lambda_max)
        if robust.size:
            break
    else:
        raise RuntimeError(f"no robust exploding LSTM among {total} candidates (seed {seed})")
    best = int(robust[np.argmax(spectrum.lambda_max[robust].min(axis=1))])
    chosen = {name: value[best] for name, value in params.items()}
    search = spectrum.lambda_max[best]
    xs, state0 = _runs(rng, 300, FRESH_RUNS, None, x_scale)
    check = lyapunov(model, chosen, xs, state0, growth=False, seed=seed)
    fresh = _forget_gates(model.state_jacobians(chosen, xs, state0))
    xs, state0 = _runs(rng, T, 1, None, x_scale)
    h0, c0 = state0["h"][0], state0["C"][0]
    J = model.state_jacobians(chosen, xs[:, 0], {"C": c0, "h": h0})
    forget = _forget_gates(J)
    norms, product = np.empty(T), np.eye(2 * _N)
    for t, step in enumerate(J):
        product = step @ product
        norms[t] = np.linalg.norm(product, 2)
    growth, mp_growth, digits = {}, {}, {}
    for horizon in (short_T, T):
        growth[horizon] = float(norms[horizon - 1])
        digits[horizon] = 40 + int(np.log10(max(growth[horizon], 10.0))) + horizon // 2
        mp_growth[horizon] = _mp_growth(chosen, xs[:horizon, 0], h0, c0, digits[horizon])
    agrees = abs(mp_growth[short_T] - growth[short_T]) <= 1e-6 * growth[short_T]
    both_explode = all(
        float(mpmath.log(value)) / T > THRESHOLD for value in (mp_growth[T], growth[T])
    )
    return Explosion(
        params=chosen,
        x_scale=x_scale,
        search_exponents=search,
        check_exponents=check.lambda_max,
        check_se=float(check.se()[0]),
        f_range=(float(forget.min()), float(forget.max())),
        fresh_f_range=(float(fresh.min()), float(fresh.max())),
        xs=xs[:, 0],
        h0=h0,
        c0=c0,
        T=T,
        short_T=short_T,
        growth=growth,
        mpmath_growth={t: mpmath.nstr(v, 30) for t, v in mp_growth.items()},
        mpmath_digits=digits,
        growth_by_step=norms,
        cell_path=np.cumprod(forget, axis=0).max(axis=1),
        confirmed=bool(agrees and both_explode),
        candidates=total,
        seed=seed,
    )


@dataclass(frozen=True)
class InputSweep:
    """λ_max of the found LSTM against the input std: for each of ``stds``, ``runs`` fresh
    seeded input sequences x_t ~ N(0, std²) and starts; per std the mean, its standard error,
    the smallest and the largest run."""

    stds: tuple[float, ...]
    runs: int
    mean: np.ndarray
    se: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def exploding_up_to(self) -> float | None:
        """The largest std up to which every run of every std explodes (λ_max > 0), or None."""
        largest = None
        for std, low in zip(self.stds, self.low, strict=True):
            if low <= 0:
                break
            largest = std
        return largest


@cache
def input_sweep(seed: int = 0, stds: tuple[float, ...] = SWEEP_STDS, runs: int = FRESH_RUNS):
    """:class:`InputSweep` of :func:`robust_exploding_lstm` (``seed``): one batched
    :func:`numeric.lyapunov` call over every std's runs (300 steps each), on inputs and starts
    drawn by ``numpy.random.default_rng([seed, 4])``: runs the search never saw."""
    found = robust_exploding_lstm(seed)
    rng = np.random.default_rng([seed, 4])
    B = len(stds) * runs
    xs = rng.normal(size=(300, B, _M)) * np.repeat(np.asarray(stds, float), runs)[None, :, None]
    state0 = {"C": rng.uniform(-1, 1, (B, _N)), "h": rng.uniform(-1, 1, (B, _N))}
    lam = lyapunov(Model(cells.lstm()), found.params, xs, state0, growth=False, seed=seed)
    runs_by_std = lam.lambda_max.reshape(len(stds), runs)
    return InputSweep(
        tuple(stds),
        runs,
        runs_by_std.mean(axis=1),
        runs_by_std.std(axis=1, ddof=1) / np.sqrt(runs),
        runs_by_std.min(axis=1),
        runs_by_std.max(axis=1),
    )
