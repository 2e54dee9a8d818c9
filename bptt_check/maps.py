r"""Lyapunov maps: where the article's "σ never exceeds 1, so no explosion" holds, as data.

The gradient of eq. (4)-(6) carries ∂s_T/∂s_0 = J_T ⋯ J_1 (eq. (7), (14)); its top Lyapunov
exponent λ_max (:func:`numeric.lyapunov`) says whether it vanishes (λ_max < 0), explodes
(λ_max > 0) or is preserved (≈ 0) along driven trajectories.  A map is λ_max over a 2-D grid of
parameter sets:

* ``"elman-sigmoid"``, ``"elman-tanh"`` — eq. (1), S_t = act(W S_{t-1} + U X_t), over
  (``recurrent_scale`` = ‖W‖₂, ``input_scale`` = ‖U‖₂): W and U are seeded random directions of
  spectral norm 1, scaled.  The line γ‖W‖₂ = 1 (γ = sup act' = ¼ for σ, 1 for tanh) is where the
  norm bound ‖J_t‖₂ ≤ γ‖W‖₂ stops certifying vanishing; it is in ``attrs``.
* ``"lstm"`` — eq. (8)-(13), over (``recurrent_scale``: the spectral norm of every recurrent
  block W_g^{(h)}, each a seeded direction of norm 1; ``forget_bias``: b_f), input blocks from
  the seeded initialisation, the other biases 0.
* ``"lstm-1997"`` — the LSTM of Hochreiter & Schmidhuber (1997), eq. (8)-(13) without the forget
  gate: C_t = C_{t−1} + i_t ⊙ C̃_t, the constant error carousel (∂C_t/∂C_{t−1} = I on the cell
  path), over (``recurrent_scale``, ``input_gate_bias``: b_i); there is no forget bias.
* ``"gru"`` — PyTorch's GRU (:func:`derivations.cells.gru`, ``"torch"``), over
  (``recurrent_scale``: the spectral norm of each of W_hr, W_hz, W_hn, seeded directions of
  norm 1; ``update_gate_bias``: b_z, where z_t → 1 keeps h_t = h_{t−1}), input blocks from
  the seeded initialisation, the other biases 0.

Every point runs the same B seeded input sequences x_t ~ N(0, 1) and starts (uniform in
[-1, 1]): ``lambda_runs`` holds each run's λ_max, ``lambda_max`` their mean, ``lambda_se`` its
standard error and ``regime`` the classification of :meth:`numeric.Spectrum.classify`, as
codes into :data:`REGIMES` (CF ``flag_values`` / ``flag_meanings`` attributes), so that the
dataset stores in zarr as it is.  :func:`lyapunov_map` runs the sweep of
:mod:`bptt_check.sweep`, the same as ``bptt-check map``: the grid is cut into chunks of points,
each chunk one batched :func:`point_runs` call, run by Dask on this machine by default (threads,
nothing to start) or on a ``dask.distributed`` cluster (an address or a ``Client``), and written
chunk by chunk (into a zarr store if one is given, resumable).  A point's numbers depend on the
seed only, not on the scheduler or the chunking.

>>> ds = lyapunov_map("elman-tanh", [0.5, 2.0], [0.0], n=1, T=100, B=2)
>>> ds.lambda_max.dims, round(float(ds.lambda_max.sel(recurrent_scale=0.5, input_scale=0.0)), 6)
(('recurrent_scale', 'input_scale'), -0.693147)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from derivations import cells
from numeric import Model, lyapunov

if TYPE_CHECKING:  # xarray and distributed are imported when a map is made
    import distributed
    import xarray

__all__ = [
    "CRITICAL_SCALE",
    "MAPS",
    "PARAMETERS",
    "REGIMES",
    "grid_parameters",
    "lyapunov_map",
    "map_inputs",
    "map_model",
    "point_runs",
]

#: The regimes of :meth:`numeric.Spectrum.classify`, in the order of their codes in a map.
REGIMES: tuple[str, ...] = ("vanishes", "preserved", "explodes", "undetermined")

#: Each map's cell and its two coordinates by default (``axes`` of :func:`lyapunov_map`).
MAPS: dict[str, tuple[str, str]] = {
    "elman-sigmoid": ("recurrent_scale", "input_scale"),
    "elman-tanh": ("recurrent_scale", "input_scale"),
    "lstm": ("recurrent_scale", "forget_bias"),
    "lstm-1997": ("recurrent_scale", "input_gate_bias"),
    "gru": ("recurrent_scale", "update_gate_bias"),
}

#: The parameters a map's grid can vary, with their values where they are not varied:
#: ``recurrent_scale``, ``input_scale`` (spectral norms of the seeded directions, see above)
#: the LSTM's biases b_f, b_i, b_o, b_c (``forget_bias``, ``input_gate_bias``,
#: ``output_gate_bias``, ``cell_bias``; the 1997 LSTM has no b_f) and the GRU's b_r, b_z, b_in,
#: b_hn (``reset_gate_bias``, ``update_gate_bias``, ``input_candidate_bias``,
#: ``hidden_candidate_bias``); the input blocks stay as initialised.
PARAMETERS: dict[str, dict[str, float]] = {
    "elman-sigmoid": {"recurrent_scale": 1.0, "input_scale": 1.0},
    "elman-tanh": {"recurrent_scale": 1.0, "input_scale": 1.0},
    "lstm": {
        "recurrent_scale": 1.0,
        "forget_bias": 0.0,
        "input_gate_bias": 0.0,
        "output_gate_bias": 0.0,
        "cell_bias": 0.0,
    },
    "lstm-1997": {
        "recurrent_scale": 1.0,
        "input_gate_bias": 0.0,
        "output_gate_bias": 0.0,
        "cell_bias": 0.0,
    },
    "gru": {
        "recurrent_scale": 1.0,
        "reset_gate_bias": 0.0,
        "update_gate_bias": 0.0,
        "input_candidate_bias": 0.0,
        "hidden_candidate_bias": 0.0,
    },
}

_BIASES = {
    "forget_bias": "b_f",
    "input_gate_bias": "b_i",
    "output_gate_bias": "b_o",
    "cell_bias": "b_c",
    "reset_gate_bias": "b_r",
    "update_gate_bias": "b_z",
    "input_candidate_bias": "b_in",
    "hidden_candidate_bias": "b_hn",
}

#: Each gated map's recurrent blocks: the LSTMs' W_g act on [h_{t-1}; x_t] (the first n columns
#: are W_g^{(h)}), the GRU's W_hr, W_hz, W_hn on h_{t-1} alone.
_RECURRENT = {
    "lstm": ("W_i", "W_f", "W_c", "W_o"),
    "lstm-1997": ("W_i", "W_c", "W_o"),
    "gru": ("W_hr", "W_hz", "W_hn"),
}

#: sup of the activation's derivative: σ' ≤ ¼, tanh' ≤ 1 (the γ of ‖J_t‖₂ ≤ γ‖W‖₂, eq. (7)).
_GAMMA = {"elman-sigmoid": 0.25, "elman-tanh": 1.0}
#: The Elman maps' line γ‖W‖₂ = 1 (``attrs["critical_recurrent_scale"]``): 4 for σ, 1 for tanh.
CRITICAL_SCALE: dict[str, float] = {kind: 1 / gamma for kind, gamma in _GAMMA.items()}


@cache
def map_model(kind: str) -> Model:
    """The :class:`numeric.Model` of the map ``kind``'s cell (eq. (1), (8)-(13), the GRU)."""
    if kind == "lstm":
        return Model(cells.lstm())
    if kind == "lstm-1997":
        return Model(cells.lstm(forget_gate=False))
    if kind == "gru":
        return Model(cells.gru("torch"))
    return Model(cells.elman(kind.removeprefix("elman-")))


def _unit(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` scaled to spectral norm 1."""
    return matrix / np.linalg.norm(matrix, 2)


def _base(kind: str, n: int, m: int, seed: int) -> dict[str, np.ndarray]:
    """The seeded directions the coordinates scale."""
    rng = np.random.default_rng(seed)
    if kind not in _RECURRENT:
        return {"W": _unit(rng.normal(size=(n, n))), "U": _unit(rng.normal(size=(n, m)))}
    base = map_model(kind).init(n, m, seed=seed)
    for name in _RECURRENT[kind]:
        base[name][:, :n] = _unit(rng.normal(size=(n, n)))
    return base


def grid_parameters(
    kind: str, n: int, m: int, seed: int, values: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """The parameters of a map's points, with a leading grid axis G: ``values`` holds each
    varied parameter of :data:`PARAMETERS` at the points (G,) or a fixed value, the others
    take their defaults; the weights are the seeded directions scaled (eq. (1), (8)-(13))."""
    G = max((np.size(value) for value in values.values()), default=1)
    value = {
        name: np.broadcast_to(np.asarray(values.get(name, default), float), (G,))
        for name, default in PARAMETERS[kind].items()
    }
    base = _base(kind, n, m, seed)
    if kind in _RECURRENT:
        params = {}
        for name, array in base.items():
            params[name] = np.broadcast_to(array, (G, *array.shape)).copy()
            if name in _RECURRENT[kind]:
                params[name][:, :, :n] *= value["recurrent_scale"][:, None, None]
        for parameter, name in _BIASES.items():
            if parameter in value:
                params[name][:] = value[parameter][:, None]
        return params
    return {
        "W": value["recurrent_scale"][:, None, None] * base["W"],
        "U": value["input_scale"][:, None, None] * base["U"],
    }


def map_inputs(
    kind: str, n: int, m: int, T: int, B: int, seed: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The B seeded input sequences x_t ~ N(0, 1), (T, B, m), and starts (uniform in [-1, 1])
    that every point of a map runs."""
    rng = np.random.default_rng([seed, 1])
    xs = rng.normal(size=(T, B, m))
    state0 = {name: rng.uniform(-1, 1, size=(B, n)) for name, _ in map_model(kind).states}
    return xs, state0


def point_runs(
    kind: str,
    n: int,
    m: int,
    T: int,
    B: int,
    warmup: int | None,
    seed: int,
    values: Mapping[str, Any],
) -> np.ndarray:
    """λ_max of every run at G points of the map ``kind`` as one batched
    :func:`numeric.lyapunov` call: (G, B).  ``values``: each varied parameter of
    :data:`PARAMETERS` at the points (G,), or a fixed value; the others at their defaults.
    This is the work of one chunk of a sweep (:mod:`bptt_check.sweep`)."""
    params = grid_parameters(kind, n, m, seed, values)
    xs, state0 = map_inputs(kind, n, m, T, B, seed)
    result = lyapunov(map_model(kind), params, xs, state0, warmup=warmup, growth=False)
    return result.lambda_max


def lyapunov_map(
    kind: str,
    x: Sequence[float],
    y: Sequence[float],
    *,
    n: int = 8,
    m: int = 1,
    T: int = 500,
    B: int = 4,
    warmup: int | None = None,
    seed: int = 0,
    chunk: int = 256,
    scheduler: str | distributed.Client | None = None,
    store: str | os.PathLike[str] | None = None,
    axes: tuple[str, str] | None = None,
    fixed: Mapping[str, float] | None = None,
) -> xarray.Dataset:
    """λ_max of the map ``kind`` (a key of :data:`MAPS`: ``"elman-sigmoid"``,
    ``"elman-tanh"``, ``"lstm"``, ``"lstm-1997"``, ``"gru"``) over the grid ``x`` × ``y`` of
    its two coordinates: an :class:`xarray.Dataset` with ``lambda_max``, ``lambda_se``,
    ``regime`` (x, y) and ``lambda_runs`` (x, y, run).

    ``axes``: the two parameters of :data:`PARAMETERS` that ``x`` and ``y`` are values of
    (default :data:`MAPS`); ``fixed``: values of the others (default their
    :data:`PARAMETERS` value); both are in the dataset's coordinates and ``attrs``.

    ``n``, ``m``: hidden and input size; ``T``, ``warmup``: steps (:func:`numeric.lyapunov`);
    ``B``: seeded input sequences and starts per point; ``seed``: the directions, inputs and
    starts; ``chunk``: points per batched call; ``scheduler``: None (Dask's local threads),
    ``"synchronous"``, ``"threads"``, ``"processes"``, a ``dask.distributed`` scheduler
    address such as ``"tcp://127.0.0.1:8786"``, or a ``distributed.Client``.

    ``store``: a path where the map is also written, chunk by chunk, as a zarr store with a
    ``done`` mark per point — the store of ``bptt-check map``.  A new path (or an empty
    folder) is created; a store of an earlier call with the same arguments is resumed (only
    the chunks not marked done are computed, so an interrupted call loses only its running
    chunks); anything else (a file, a folder of other files, a store of another map) is
    refused before any work.  This is the sweep of :func:`bptt_check.sweep.run`.

    Bad arguments raise a ValueError naming the argument, before any work.
    """
    from .map_spec import make_spec
    from .sweep import run

    spec = make_spec(
        kind,
        x,
        y,
        n=n,
        m=m,
        T=T,
        B=B,
        warmup=warmup,
        seed=seed,
        chunk=chunk,
        axes=axes,
        fixed=fixed,
    )
    if store is not None and not isinstance(store, str | os.PathLike):
        raise ValueError(f"store must be None or a path, got {store!r}")
    return run(spec, store, scheduler=scheduler).dataset.drop_vars("done")
