r"""The one sweep behind every Lyapunov map: :func:`bptt_check.maps.lyapunov_map` and
``bptt-check map`` (:mod:`bptt_check.map_command`) both run :func:`run`.

A map is λ_max of ∂s_T/∂s_0 = J_T ⋯ J_1 (eq. (7), (14)) over a grid x × y of two parameters
(:mod:`bptt_check.maps`).  A sweep is

1. **validated once** (:mod:`bptt_check.map_spec`): the map, sizes, steps, seed, axes, fixed
   values and the scheduler, a ``SpecError`` (a ValueError) naming the argument;
2. **checked where it will write** before any work: a new path, an empty folder, or the store of
   an earlier sweep of the same spec (resumed); anything else is a :class:`StoreError` (a
   ValueError);
3. **cut into rectangular chunks** of at most ``chunk`` points, each one batched
   :func:`bptt_check.maps.point_runs` call run by Dask: its local threads by default, or a
   ``dask.distributed`` cluster (an address or a ``Client``);
4. **written chunk by chunk** as the results arrive, into a zarr store or memory: a chunk's data
   first, then its completion mark ``done``, so a sweep killed at any moment leaves no chunk
   marked but unwritten, and running it again computes only the chunks not marked.

A point's numbers depend on the spec only: not on the scheduler, the chunking, or how often the
sweep was interrupted.

>>> from bptt_check.map_spec import make_spec
>>> spec = make_spec("elman-tanh", [0.5, 2.0], [0.0], n=1, T=100, B=2)
>>> result = run(spec, None)
>>> result.computed, result.resumed, round(float(result.dataset.lambda_max[0, 0]), 6)
(1, 0, -0.693147)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import maps
from .map_spec import LOCAL, Spec, check_scheduler
from .maps import REGIMES

if TYPE_CHECKING:  # xarray is imported when a sweep runs
    import xarray

__all__ = ["REGIME_ATTRS", "StoreError", "Sweep", "completed", "run"]

_UNITS = "nats per step"
#: The attributes of the ``regime`` variable: CF flags naming :data:`bptt_check.maps.REGIMES`.
REGIME_ATTRS = {"flag_values": list(range(len(REGIMES))), "flag_meanings": " ".join(REGIMES)}
_DONE = "1 once the point's chunk is written: a sweep resumes from the chunks not done"


class StoreError(ValueError):
    """A store (or output folder) the sweep may not write: checked before any work."""


def _blocks(nx: int, ny: int, chunk: int) -> tuple[tuple[int, int], list[tuple[slice, slice]]]:
    """The grid cut into rectangles of at most ``chunk`` points (whole rows of y first):
    the block shape (the zarr chunks) and the blocks, x-major."""
    by = min(ny, chunk)
    bx = max(1, min(nx, chunk // by))
    blocks = [
        (slice(i, min(i + bx, nx)), slice(j, min(j + by, ny)))
        for i in range(0, nx, bx)
        for j in range(0, ny, by)
    ]
    return (bx, by), blocks


def _warmup(spec: Spec) -> int:
    """The steps left out of the averages (:func:`numeric.lyapunov`'s default T // 10)."""
    return spec.T // 10 if spec.warmup is None else spec.warmup


def _statistics(spec: Spec, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each point's λ_max, its standard error and its regime code from the runs (..., B):
    per point, so a chunk of the grid gives the same numbers as the whole grid."""
    from numeric import Spectrum

    spectrum = Spectrum(runs[..., None], None, spec.T, _warmup(spec), True, True)
    labels = spectrum.classify()
    codes = np.zeros(labels.shape, np.int8)
    for code, label in enumerate(REGIMES):
        codes[labels == label] = code
    return spectrum.mean()[..., 0], spectrum.se()[..., 0], codes


def _attrs(spec: Spec) -> dict[str, Any]:
    """The attributes of a map: its cell, sizes, steps, runs, seed, fixed values and spec."""
    attrs: dict[str, Any] = {
        "cell": maps.map_model(spec.map).cell.name,
        "n": spec.n,
        "m": spec.m,
        "T": spec.T,
        "warmup": _warmup(spec),
        "B": spec.B,
        "seed": spec.seed,
    }
    if spec.map in maps.CRITICAL_SCALE:
        attrs["critical_recurrent_scale"] = maps.CRITICAL_SCALE[spec.map]  # γ‖W‖₂ = 1
    return attrs | spec.fixed | {"name": spec.name, "spec": spec.identity()}


def _dataset(spec: Spec, arrays: Mapping[str, Any]) -> xarray.Dataset:
    """The map with its variables from ``arrays`` (NumPy, or Dask for a store's template)."""
    import xarray as xr

    dims = (spec.x_name, spec.y_name)
    return xr.Dataset(
        {
            "lambda_max": (dims, arrays["lambda_max"], {"units": _UNITS}),
            "lambda_se": (dims, arrays["lambda_se"], {"units": _UNITS}),
            "regime": (dims, arrays["regime"], REGIME_ATTRS),
            "lambda_runs": ((*dims, "run"), arrays["lambda_runs"], {"units": _UNITS}),
            "done": (dims, arrays["done"], {"description": _DONE}),
        },
        coords={spec.x_name: list(spec.x), spec.y_name: list(spec.y), "run": np.arange(spec.B)},
        attrs=_attrs(spec),
    )


def _empty(spec: Spec, full: Callable[..., Any]) -> dict[str, Any]:
    """The variables of a map not yet computed: NaN, regime 0, ``done`` False."""
    size = (len(spec.x), len(spec.y))
    return {
        "lambda_max": full(size, np.nan, float),
        "lambda_se": full(size, np.nan, float),
        "regime": full(size, 0, np.int8),
        "lambda_runs": full((*size, spec.B), np.nan, float),
        "done": full(size, False, bool),
    }


def _differing(stored: str, wanted: str) -> str:
    old, new = json.loads(stored), json.loads(wanted)
    return next((key for key in sorted(new) if old.get(key) != new[key]), "?")


def _open_store(spec: Spec, path: Path, shape: tuple[int, int], subject: str, advice: str) -> Any:
    """The zarr group at ``path``: created from the template when the path is new or an empty
    folder, else checked to hold a sweep of ``spec``.  Every refusal is a :class:`StoreError`
    ``subject …: advice``, raised before any work."""
    import zarr

    needed = "give a new path, an empty folder or the store of an earlier run of this map"
    if path.exists() and not path.is_dir():
        raise StoreError(f"{subject} is a file, not a map store: {needed}")
    if path.is_dir() and any(path.iterdir()):
        try:
            group = zarr.open_group(path, mode="r+")
            stored = group.attrs["spec"]
        except Exception:  # anything else at that path is not ours to overwrite
            raise StoreError(f"{subject} holds files that are not a map store: {needed}") from None
        if stored != spec.identity():
            key = _differing(stored, spec.identity())
            raise StoreError(f"{subject} holds a sweep of another spec ({key} differs): {advice}")
        return group
    import dask.array as da

    def full(size: tuple[int, ...], value: Any, dtype: Any) -> Any:
        return da.full(size, value, dtype=dtype, chunks=shape + size[2:])

    existed = path.is_dir()
    try:
        _dataset(spec, _empty(spec, full)).to_zarr(
            path,
            compute=False,
            mode="w",
            consolidated=False,  # not in the zarr v3 spec
        )
        return zarr.open_group(path, mode="r+")
    except OSError as error:  # a read-only folder, /proc: nothing computed, nothing to resume
        if not existed:
            shutil.rmtree(path, ignore_errors=True)
        reason = error.strerror or str(error)
        raise StoreError(f"cannot create {subject}: {reason}") from None


@dataclass(frozen=True)
class Sweep:
    """The outcome of :func:`run`: the map (with its ``done`` variable), the store (None in
    memory), how many chunks were computed now and how many were already complete, the
    seconds."""

    dataset: xarray.Dataset
    store: Path | None
    computed: int
    resumed: int
    seconds: float


def completed(spec: Spec, store: str | os.PathLike[str]) -> tuple[int, int]:
    """The chunks of ``spec`` marked complete in ``store``, and how many there are."""
    import zarr

    shape, blocks = _blocks(len(spec.x), len(spec.y), spec.chunk)
    try:
        done = np.asarray(zarr.open_group(store, mode="r")["done"][...])
    except Exception:  # no store, or not one: nothing is complete
        return 0, len(blocks)
    return sum(bool(done[block].all()) for block in blocks), len(blocks)


def _run_local(tasks: list, write: Callable[[int, np.ndarray], None], scheduler: str) -> None:
    """Run ``tasks`` on Dask's local scheduler, writing each result as it arrives."""
    import dask
    from dask.callbacks import Callback

    index = {task.key: i for i, task in enumerate(tasks)}

    def arrived(key: Any, result: Any, *_: Any) -> None:
        if key in index:
            write(index[key], result)

    with Callback(posttask=arrived):
        dask.compute(*tasks, scheduler=scheduler)


def _run_distributed(tasks: list, write: Callable[[int, np.ndarray], None], scheduler: Any) -> None:
    """Run ``tasks`` on a ``dask.distributed`` cluster: a Client (left open) or an address
    (connected for the sweep; the cluster stays up)."""
    from distributed import Client, as_completed

    with contextlib.ExitStack() as stack:
        if isinstance(scheduler, str):
            scheduler = stack.enter_context(Client(scheduler, timeout="10s"))
        futures = scheduler.compute(tasks)
        index = {future.key: i for i, future in enumerate(futures)}
        for future, result in as_completed(futures, with_results=True):
            write(index[future.key], result)


def run(
    spec: Spec,
    store: str | os.PathLike[str] | None,
    *,
    scheduler: Any = None,
    progress: bool = False,
    subject: str | None = None,
    advice: str = "remove it or give another store",
) -> Sweep:
    """Run ``spec`` into ``store`` (a zarr store's path; None: in memory), resuming from the
    chunks already complete there.

    ``scheduler``: see :func:`check_scheduler`; ``progress``: a progress bar (tqdm) on
    stderr.  ``subject`` and ``advice`` word a refused store (default ``store PATH``).
    Raises :class:`StoreError` before any work when ``store`` cannot be written or holds
    something else (another spec, a file, a folder of other files).
    """
    import dask
    from tqdm import tqdm

    started = time.perf_counter()
    check_scheduler(scheduler)
    shape, blocks = _blocks(len(spec.x), len(spec.y), spec.chunk)
    if store is None:
        path, sink = None, _empty(spec, lambda size, value, dtype: np.full(size, value, dtype))
    else:
        path = Path(store)
        sink = _open_store(spec, path, shape, subject or f"store {os.fspath(store)}", advice)
    done = np.asarray(sink["done"][...])
    todo = [block for block in blocks if not done[block].all()]
    xv, yv = np.array(spec.x), np.array(spec.y)
    tasks = []
    for sx, sy in todo:
        a, b = (v.ravel() for v in np.meshgrid(xv[sx], yv[sy], indexing="ij"))
        values = spec.fixed | {spec.x_name: a, spec.y_name: b}
        arguments = (spec.map, spec.n, spec.m, spec.T, spec.B, spec.warmup, spec.seed, values)
        tasks.append(dask.delayed(maps.point_runs, pure=True)(*arguments))

    def write(i: int, runs: np.ndarray) -> None:
        sx, sy = todo[i]
        runs = np.asarray(runs).reshape(sx.stop - sx.start, sy.stop - sy.start, spec.B)
        mean, se, codes = _statistics(spec, runs)
        sink["lambda_runs"][sx, sy, :] = runs
        sink["lambda_max"][sx, sy] = mean
        sink["lambda_se"][sx, sy] = se
        sink["regime"][sx, sy] = codes
        sink["done"][sx, sy] = True  # last: the chunk is complete only once its data is
        bar.update(1)

    with tqdm(
        total=len(blocks),
        initial=len(blocks) - len(todo),
        desc=spec.name,
        unit="chunk",
        file=sys.stderr,
        disable=not progress,
    ) as bar:
        if tasks and (scheduler is None or isinstance(scheduler, str) and scheduler in LOCAL):
            _run_local(tasks, write, scheduler or "threads")
        elif tasks:
            _run_distributed(tasks, write, scheduler)
    if path is None:
        dataset = _dataset(spec, sink)
    else:
        import xarray as xr

        dataset = xr.open_zarr(path, consolidated=False).load()
    elapsed = time.perf_counter() - started
    return Sweep(dataset, path, len(todo), len(blocks) - len(todo), elapsed)
