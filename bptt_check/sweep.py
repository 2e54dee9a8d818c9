r"""The one sweep behind every Lyapunov map: :func:`bptt_check.maps.lyapunov_map` and
``bptt-check map`` (:mod:`bptt_check.map_command`) both run :func:`run`.

A map is λ_max of ∂s_T/∂s_0 = J_T ⋯ J_1 (eq. (7), (14)) over a grid x × y of two parameters
(:mod:`bptt_check.maps`).  A sweep is

1. **validated once** (:func:`make_spec`): the map, sizes, steps, seed, axes, fixed values — a
   :class:`SpecError` (a ValueError) naming the argument, in the caller's words (``kind`` and
   ``axes[1]`` in Python, ``map`` and ``y.name`` in a TOML spec);
2. **checked where it will write** before any work: a new path, an empty folder, or the store of
   an earlier sweep of the same spec (resumed); anything else is a :class:`StoreError` (a
   ValueError), as is a scheduler that is not one (:func:`check_scheduler`);
3. **cut into rectangular chunks** of at most ``chunk`` points, each one batched
   :func:`bptt_check.maps.point_runs` call run by Dask: its local threads by default, or a
   ``dask.distributed`` cluster (an address or a ``Client``);
4. **written chunk by chunk** as the results arrive, into a zarr store or memory: a chunk's data
   first, then its completion mark ``done``, so a sweep killed at any moment leaves no chunk
   marked but unwritten, and running it again computes only the chunks not marked.

A point's numbers depend on the spec only: not on the scheduler, the chunking, or how often the
sweep was interrupted.

>>> spec = make_spec("elman-tanh", [0.5, 2.0], [0.0], n=1, T=100, B=2)
>>> result = run(spec, None)
>>> result.computed, result.resumed, round(float(result.dataset.lambda_max[0, 0]), 6)
(1, 0, -0.693147)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import maps
from .maps import MAPS, PARAMETERS, REGIMES

if TYPE_CHECKING:  # xarray is imported when a sweep runs
    import xarray

__all__ = [
    "PYTHON",
    "TOML",
    "Keys",
    "Spec",
    "SpecError",
    "StoreError",
    "Sweep",
    "check_scheduler",
    "completed",
    "make_spec",
    "run",
]

#: Dask's local schedulers, by name.
LOCAL = ("threads", "synchronous", "processes")
#: The address schemes of ``dask.distributed``; all but ``inproc`` need host:port.
_SCHEMES = ("tcp", "tls", "inproc", "ucx", "ws", "wss")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_UNITS = "nats per step"
#: The attributes of the ``regime`` variable: CF flags naming :data:`bptt_check.maps.REGIMES`.
REGIME_ATTRS = {"flag_values": list(range(len(REGIMES))), "flag_meanings": " ".join(REGIMES)}
_DONE = "1 once the point's chunk is written: a sweep resumes from the chunks not done"


class SpecError(ValueError):
    """An argument or spec key that cannot be run; the message names it."""


class StoreError(ValueError):
    """A store (or output folder) the sweep may not write: checked before any work."""


@dataclass(frozen=True)
class Keys:
    """How the caller spells the fields a message names: Python arguments or TOML keys."""

    kind: str
    axes: tuple[str, str]
    fixed: str  # a format of the parameter's name
    table: str  # what ``fixed`` must be


PYTHON = Keys("kind", ("axes[0]", "axes[1]"), "fixed[{!r}]", "a dict of parameter values")
TOML = Keys("map", ("x.name", "y.name"), "fixed.{}", "a table ([fixed] with a value per parameter)")


@dataclass(frozen=True)
class Spec:
    """A validated sweep (:func:`make_spec`): the map ``map`` (a key of
    :data:`bptt_check.maps.MAPS`) over the grid ``x`` × ``y`` of the parameters ``x_name``,
    ``y_name``, the others at ``fixed``; ``name`` labels it (the command's folder)."""

    name: str
    map: str
    n: int
    m: int
    T: int
    warmup: int | None
    B: int
    seed: int
    chunk: int
    x_name: str
    x: tuple[float, ...]
    y_name: str
    y: tuple[float, ...]
    fixed: dict[str, float]

    def identity(self) -> str:
        """The spec as canonical JSON: what a resumed store must have been started with."""
        fields = {key: getattr(self, key) for key in self.__dataclass_fields__}
        return json.dumps(fields | {"x": list(self.x), "y": list(self.y)}, sort_keys=True)


def _integer(key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise SpecError(f"{key} must be an integer >= {low}, got {value!r}")
    return int(value)


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise SpecError(f"{key} must be a finite number, got {value!r}")
    if not np.isfinite(value):
        raise SpecError(f"{key} must be a finite number, got {value!r}")
    return float(value)


def _values(key: str, values: Any) -> tuple[float, ...]:
    """An axis's values: a non-empty 1-D sequence of distinct finite numbers."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise SpecError(f"{key} must be a 1-D sequence of numbers, got {values!r}") from None
    if array.ndim != 1 or not len(array) or not np.all(np.isfinite(array)):
        raise SpecError(f"{key} must be a non-empty 1-D sequence of finite numbers")
    if len(np.unique(array)) != len(array):
        raise SpecError(f"{key} must not repeat a value (they label the map's axis)")
    return tuple(float(v) for v in array)


def _axes(kind: str, axes: Any, keys: Keys) -> tuple[str, str]:
    """The two varied parameters; an axis given as None varies the map's default coordinate."""
    if axes is None:
        axes = (None, None)
    if not isinstance(axes, tuple | list) or len(axes) != 2:
        raise SpecError(f"axes must be a pair of names of {list(PARAMETERS[kind])}, got {axes!r}")
    names = tuple(MAPS[kind][i] if a is None else a for i, a in enumerate(axes))
    for key, name in zip(keys.axes, names, strict=True):
        if name not in PARAMETERS[kind]:
            known = list(PARAMETERS[kind])
            raise SpecError(f"{key} must be one of {known} for {keys.kind} {kind!r}, got {name!r}")
    if names[0] == names[1]:
        raise SpecError(f"{keys.axes[1]} must differ from {keys.axes[0]}, both are {names[0]!r}")
    return names[0], names[1]


def _fixed(kind: str, axes: tuple[str, str], fixed: Any, keys: Keys) -> dict[str, float]:
    """The value of every parameter not on an axis: ``fixed``, else its default."""
    fixed = {} if fixed is None else fixed
    if not isinstance(fixed, Mapping):
        raise SpecError(f"fixed must be {keys.table}, got {fixed!r}")
    others = [name for name in PARAMETERS[kind] if name not in axes]
    for name, value in fixed.items():  # in the caller's order: the first bad one is named
        if name not in others:
            key = keys.fixed.format(name)
            raise SpecError(f"{key} is not a parameter left fixed (those are: {others})")
        _number(keys.fixed.format(name), value)
    return {name: float(fixed.get(name, PARAMETERS[kind][name])) for name in others}


def make_spec(
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
    axes: tuple[str | None, str | None] | None = None,
    fixed: Mapping[str, float] | None = None,
    name: str | None = None,
    keys: Keys = PYTHON,
) -> Spec:
    """The sweep of :func:`bptt_check.maps.lyapunov_map`'s arguments, validated: raises
    :class:`SpecError` naming the argument (spelled as ``keys`` says) for anything that
    cannot be run.  ``name`` (default ``kind``) must be usable as a folder name.

    >>> make_spec("lstm", [1.0], [0.0], fixed={"cell_bias": "a"})
    Traceback (most recent call last):
    ...
    bptt_check.sweep.SpecError: fixed['cell_bias'] must be a finite number, got 'a'
    """
    if not isinstance(kind, str) or kind not in MAPS:
        raise SpecError(f"{keys.kind} must be one of {sorted(MAPS)}, got {kind!r}")
    name = kind if name is None else name
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SpecError(f"name must be letters, digits, '_', '.', '-' (a folder), got {name!r}")
    sizes = {
        key: _integer(key, value, low)
        for key, value, low in (("n", n, 1), ("m", m, 1), ("T", T, 1), ("B", B, 1))
    }
    seed, chunk = _integer("seed", seed, 0), _integer("chunk", chunk, 1)
    if warmup is not None:
        warmup = _integer("warmup", warmup, 0)
        if warmup >= sizes["T"]:
            raise SpecError(f"warmup must be < T = {sizes['T']}, got {warmup}")
    x_name, y_name = _axes(kind, axes, keys)
    return Spec(
        name=name,
        map=kind,
        warmup=warmup,
        seed=seed,
        chunk=chunk,
        x_name=x_name,
        x=_values("x", x),
        y_name=y_name,
        y=_values("y", y),
        fixed=_fixed(kind, (x_name, y_name), fixed, keys),
        **sizes,
    )


def check_scheduler(scheduler: Any, key: str = "scheduler") -> None:
    """Refuse a ``scheduler`` that names no Dask scheduler, with a :class:`SpecError` naming
    ``key``: accepted are None (local threads), ``"threads"``, ``"synchronous"``,
    ``"processes"``, a ``dask.distributed`` address (``tcp://host:port``, ``host:port``,
    ``tls://…``, ``inproc://…``) and, from Python, a ``distributed.Client``."""
    if scheduler is None or (isinstance(scheduler, str) and scheduler in LOCAL):
        return
    if _is_client(scheduler) and key == "scheduler":
        return
    if isinstance(scheduler, str):
        from distributed.comm.addressing import parse_address, parse_host_port

        with contextlib.suppress(ValueError):  # distributed's own parser decides
            scheme, location = parse_address(scheduler)
            if scheme in _SCHEMES and (scheme == "inproc" or parse_host_port(location)[0]):
                return
    if key == "scheduler":
        accepted = (
            "None (this machine's threads), 'threads', 'synchronous', 'processes', a "
            "dask.distributed scheduler address such as 'tcp://127.0.0.1:8786', or a "
            "distributed.Client"
        )
    else:
        accepted = (
            "threads, synchronous, processes or a dask.distributed scheduler address such as "
            "tcp://127.0.0.1:8786"
        )
    raise SpecError(f"{key} must be {accepted}; got {scheduler!r}")


def _is_client(scheduler: Any) -> bool:
    if not type(scheduler).__module__.startswith("distributed"):
        return False  # distributed is imported only for what may be one of its clients
    from distributed import Client

    return isinstance(scheduler, Client)


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
