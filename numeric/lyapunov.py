r"""Lyapunov exponents of any recurrent cell along driven trajectories (Benettin's method).

The gradient of eq. (4)-(6) carries the product of state Jacobians ∂s_T/∂s_0 = J_T ⋯ J_1 with
J_t = ∂s_t/∂s_{t-1} (eq. (7), (14)).  Whether it vanishes or explodes is decided by how that
product grows: its Lyapunov exponents λ_1 ≥ λ_2 ≥ …, λ_i = lim (1/T) ln σ_i(J_T ⋯ J_1), are
the per-step growth rates (Pascanu et al. 2013; Vogt et al. 2022).  λ_1 < 0: gradients vanish
exponentially; λ_1 > 0: they explode; λ_1 ≈ 0: preserved.

:func:`lyapunov` computes the top k by repeated QR (Benettin et al. 1980): a frame Q of k
orthonormal tangent vectors is carried along, J_t Q = Q' R at each step, and λ_i is the mean of
ln R_ii over the steps after a warm-up.  The step and the Jacobian come from the cell's graph
and its derived Jacobian terms (:mod:`numeric._stepper`), J_t is applied to the frame without
being formed, and nothing is kept over time: memory does not grow with T.  The run is batched
over B inputs and starts and over G parameter sets (a leading grid axis on the weights).

>>> import numpy as np
>>> from derivations import cells
>>> from numeric import Model, lyapunov
>>> model = Model(cells.elman("tanh"))
>>> W = np.array([[0.5, 0.2], [0.0, 0.25]])  # s = 0, x = 0: an equilibrium where J_t = W
>>> params = {"W": W, "U": np.zeros((2, 1))}
>>> result = lyapunov(model, params, np.zeros((200, 3, 1)), {"S": np.zeros((3, 2))}, k=2)
>>> np.round(result.mean(), 6)  # ln 0.5 and ln 0.25, the log moduli of W's eigenvalues
array([-0.693147, -1.386294])
>>> str(result.classify())
'vanishes'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._stepper import stepper
from ._validation import Sizes, check_array, check_keys
from .model import Model, _dim

__all__ = ["Spectrum", "lyapunov"]


@dataclass(frozen=True)
class Spectrum:
    """The result of :func:`lyapunov`: the growth rates of ∂s_T/∂s_0 (eq. (5)-(7), (14)).

    ``exponents`` (G, B, k): λ_1 ≥ … ≥ λ_k in nats per step, averaged over the steps after
    ``warmup``, for each grid point (axis G, present when the parameters had one) and each
    input and start (axis B, present when ``xs`` had one).  ``log_growth`` (G, B): the
    finite-T growth ln ‖J_T ⋯ J_1‖₂ = ln ‖∂s_T/∂s_0‖₂ over all T steps (None when not asked
    for).  ``T``, ``warmup``: the steps run and the steps left out of the averages.
    """

    exponents: np.ndarray
    log_growth: np.ndarray | None
    T: int
    warmup: int
    grid: bool
    batched: bool

    @property
    def lambda_max(self) -> np.ndarray:
        """λ_1, the top exponent: (G, B)."""
        return self.exponents[..., 0]

    def mean(self) -> np.ndarray:
        """The exponents averaged over the B inputs and starts: (G, k)."""
        return self.exponents.mean(axis=-2) if self.batched else self.exponents

    def se(self) -> np.ndarray:
        """The standard error of :meth:`mean` from the spread over B (independent inputs and
        starts): (G, k); NaN when there is one (B = 1 or no batch axis) or a run is at -inf."""
        if not self.batched or self.exponents.shape[-2] < 2:
            return np.full(self.mean().shape, np.nan)
        B = self.exponents.shape[-2]
        with np.errstate(invalid="ignore"):  # a run at -inf (see :func:`lyapunov`): NaN
            return self.exponents.std(axis=-2, ddof=1) / np.sqrt(B)

    def classify(self, tol: float = 1e-3, z: float = 2.0) -> np.ndarray:
        """Each grid point's λ_1 as ``"explodes"`` (λ̄ − z·se > tol), ``"vanishes"``
        (λ̄ + z·se < −tol), ``"preserved"`` (λ̄ ± z·se inside [−tol, tol]) or
        ``"undetermined"`` (the interval λ̄ ± z·se crosses ±tol: the runs cannot tell).

        ``tol`` is in nats per step: within ±tol, the gradient changes by at most a factor e
        over 1/tol steps.  Without a spread (B = 1) the point estimate alone is classified.
        Returns an array of shape (G,), or a 0-d array without a grid axis.
        """
        for name, value in (("tol", tol), ("z", z)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
            if not np.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value!r}")
        mean, se = self.mean()[..., 0], self.se()[..., 0]
        u = z * np.nan_to_num(se, nan=0.0)
        low, high = mean - u, mean + u
        labels = np.full(mean.shape, "undetermined", dtype="<U12")
        labels[low > tol] = "explodes"
        labels[high < -tol] = "vanishes"
        labels[(low >= -tol) & (high <= tol)] = "preserved"
        return labels

    def __repr__(self) -> str:
        """One line: λ_max (or its range over the grid), k, T and the number of runs."""
        from ._display import spectrum_line

        return spectrum_line(self)

    def _repr_html_(self) -> str:
        """In a notebook: the mean exponents ± standard error and each point's class."""
        from ._display import spectrum_html

        return spectrum_html(self)

    def _repr_latex_(self) -> str:
        from ._display import spectrum_latex

        return spectrum_latex(self)


def _orthonormalize(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The k rows of V (..., k, N) made orthonormal, V = R Q with R lower triangular and
    R_ii ≥ 0 (the QR of Vᵀ), by classical Gram-Schmidt with one reorthogonalisation (CGS2,
    orthogonal to rounding): Q and ln R_ii (..., k).  A row that is 0 after projection gives
    ln R_ii = -inf and a zero row of Q."""
    k = V.shape[-2]
    Q = np.empty_like(V)
    logs = np.empty(V.shape[:-2] + (k,))
    for j in range(k):
        v = V[..., j, :]
        for _ in range(2 if j else 0):
            basis = Q[..., :j, :]
            v = v - (v[..., None, :] @ np.swapaxes(basis, -1, -2) @ basis)[..., 0, :]
        r = np.sqrt(np.einsum("...i,...i->...", v, v))
        with np.errstate(divide="ignore", invalid="ignore"):
            logs[..., j] = np.log(r)
            Q[..., j, :] = np.where(r[..., None] > 0, v / r[..., None], 0.0)
    return Q, logs


def _check_int(name: str, value: Any, low: int, high: int | None, detail: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer{detail}, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bounds}{detail}, got {value!r}")
    return int(value)


def _check_sequence(model: Model, xs: Any, sizes: Sizes) -> tuple[dict[str, np.ndarray], bool]:
    """The sequence inputs (T, B, size), bound into ``sizes`` by the model's own validation
    (float64 input is not copied and is checked a block at a time: memory flat in T)."""
    sequence, batched = model.check_sequence(xs, sizes)
    if not batched:
        sequence = {name: array[:, None, :] for name, array in sequence.items()}
    return sequence, batched


def _check_params(model: Model, params: Any, sizes: Sizes) -> tuple[dict[str, np.ndarray], bool]:
    """The cell's parameters, each (shape) or (G, shape) with one G; the readout's are
    accepted and ignored."""
    specs = model.cell_parameters
    if not isinstance(params, Mapping):
        raise ValueError(
            f"params must be a dict with keys {sorted(specs)}, got {type(params).__name__}"
        )
    check_keys("params", params, specs, model.head_parameters)
    checked, grid = {}, False
    for name, spec in specs.items():
        try:
            ndim = np.ndim(params[name])
        except ValueError:  # ragged nested lists: the helper explains
            ndim = len(spec)
        has_grid = ndim == len(spec) + 1
        full = ("G", *spec) if has_grid else spec
        if ndim not in (len(spec), len(spec) + 1):
            shown = ", ".join(spec)
            raise ValueError(
                f"params[{name!r}] must have shape ({shown}) or, for a grid of parameter "
                f"sets, (G, {shown}); got shape {np.shape(params[name])}"
            )
        value = check_array(f"params[{name!r}]", params[name], full, sizes)
        checked[name] = value if has_grid else value[None]
        grid = grid or has_grid
    return checked, grid


def _check_states(
    model: Model, state0: Any, sizes: Sizes, batched: bool
) -> tuple[dict[str, np.ndarray], bool]:
    """Each start (B, size), or (G, B, size) for one start per grid point (without a batch
    axis: (size,) or (G, size)), as (G or 1, B, size) keyed by the cell's previous-state
    inputs."""
    names = [name for name, _ in model.states]
    if not isinstance(state0, Mapping):
        raise ValueError(
            f"state0 must be a dict keyed by the state names {names}, got {type(state0).__name__}"
        )
    check_keys("state0", state0, names)
    lead = ("B",) if batched else ()
    out, grid = {}, False
    for name, size in model.states:
        label = model.label(f"state0[{name!r}]")
        dim = _dim(size)
        try:
            ndim = np.ndim(state0[name])
        except ValueError:
            ndim = len(lead) + 1
        has_grid = ndim == len(lead) + 2
        spec = ("G", *lead, dim) if has_grid else (*lead, dim)
        value = check_array(label, state0[name], spec, sizes)
        if not batched:
            value = value[..., None, :]
        out[model.previous[name]] = value if has_grid else value[None]
        grid = grid or has_grid
    return out, grid


def lyapunov(
    model: Model,
    params: Mapping[str, Any],
    xs: Any,
    state0: Mapping[str, Any],
    *,
    k: int = 1,
    warmup: int | None = None,
    growth: bool = True,
    seed: int = 0,
) -> Spectrum:
    """The top ``k`` Lyapunov exponents of ``model``'s cell along the trajectories driven by
    ``xs`` from ``state0``: the growth rates of ∂s_T/∂s_0 = J_T ⋯ J_1 (eq. (5)-(7), (14)).

    ``params``: the cell's parameters, each of its usual shape or with a leading grid axis G
    (one parameter set per grid point; parameters without it are shared by the grid).
    ``xs``: (T, B, m) time-major, shared by the grid, or (T, m).  ``state0``: {state name:
    (B, size)}, or (G, B, size) for a start per grid point.  Use the B axis for independent
    input seeds and starts: :meth:`Spectrum.se` is their standard error.

    ``k`` (1 ≤ k ≤ N, N the total state size): how many exponents.  ``warmup`` (default
    T // 10): the first steps, run but left out of the averages while the frame aligns.
    ``growth``: also return ln ‖J_T ⋯ J_1‖₂ (carries an N × N frame, N times the work of
    k = 1).  ``seed``: the starting frame is the orthonormalised standard-normal (N, k)
    matrix drawn by ``numpy.random.default_rng(seed)``.

    All G · B runs are one batched computation; memory is independent of T.  float64 only.
    A run whose Jacobian product is exactly 0 in float64 has λ = -inf: saturated units, where
    the derived tanh' = 1 - tanh² rounds to 0 (|a| ≳ 19), or a Jacobian of lower rank than k.
    """
    if not isinstance(model, Model):
        raise ValueError(
            f"model must be a numeric.Model (e.g. Model(cells.lstm())), got {type(model).__name__}"
        )
    if not isinstance(growth, bool):
        raise ValueError(f"growth must be True or False, got {growth!r}")
    seed = _check_int("seed", seed, 0, None)
    sizes = Sizes()
    sequence, batched = _check_sequence(model, xs, sizes)
    p, grid_params = _check_params(model, params, sizes)
    initial, grid_states = _check_states(model, state0, sizes, batched)
    T = sizes["T"]
    G = sizes.get("G", 1)
    widths = {prev: value.shape[-1] for prev, value in initial.items()}
    N = sum(widths.values())
    k = _check_int("k", k, 1, N, f" (the total state size is N = {N})")
    warmup = T // 10 if warmup is None else warmup
    warmup = _check_int("warmup", warmup, 0, T - 1, f" (T = {T} steps)")

    cell = stepper(model.cell)
    p = {name: np.broadcast_to(value, (G, *value.shape[1:])) for name, value in p.items()}
    inputs = {**{n: v.shape[-1] for n, v in sequence.items()}, **widths}
    weights = cell.prepare(p, inputs)
    B = next(iter(initial.values())).shape[1]
    state = {prev: np.broadcast_to(v, (G, B, v.shape[-1])).copy() for prev, v in initial.items()}
    order = [(new, prev) for new, prev in model.cell.state]
    columns, start = {}, 0
    for _, prev in order:
        columns[prev] = slice(start, start + widths[prev])
        start += widths[prev]

    # the frame's tangent vectors are its rows: k for the exponents, then (with growth) the
    # N rows of (J_t ⋯ J_1)ᵀ, rescaled by a number each step (its logarithm kept)
    q0, _ = _orthonormalize(np.random.default_rng(seed).standard_normal((N, k)).T)
    frame = np.concatenate([q0] + ([np.eye(N)] if growth else []), axis=0)
    frame = np.broadcast_to(frame, (G, B, *frame.shape))
    stages, jacobian = cell.runners(weights, (G, B))
    sums = np.zeros((G, B, k))
    log_scale = np.zeros((G, B))
    for t in range(T):
        values = dict(state)
        for name, x in sequence.items():
            values[name] = x[t]
        values = cell.step(weights, values, stages)
        blocks = {prev: frame[..., columns[prev]] for prev in columns}
        moved = cell.tangent(weights, values, blocks, jacobian)
        frame = np.concatenate([moved[new] for new, _ in order], axis=-1)
        q, logs = _orthonormalize(frame[..., :k, :])
        if t >= warmup:
            sums += logs
        if growth:
            product = frame[..., k:, :]
            scale = np.sqrt(np.einsum("...ij,...ij->...", product, product))
            with np.errstate(divide="ignore"):
                log_scale += np.log(scale)
            product = product / np.where(scale > 0, scale, 1.0)[..., None, None]
            frame = np.concatenate([q, product], axis=-2)
        else:
            frame = q
        state = {prev: values[new] for new, prev in order}
    exponents = sums / (T - warmup)
    log_growth = None
    if growth:
        with np.errstate(divide="ignore"):
            log_growth = log_scale + np.log(np.linalg.norm(frame[..., k:, :], 2, axis=(-2, -1)))
    grid = grid_params or grid_states
    if not grid:
        exponents = exponents[0]
        log_growth = None if log_growth is None else log_growth[0]
    if not batched:
        exponents = exponents[..., 0, :]
        log_growth = None if log_growth is None else log_growth[..., 0]
    return Spectrum(exponents, log_growth, T, warmup, grid, batched)
