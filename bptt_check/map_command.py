r"""``bptt-check map SPEC.toml [-o DIR] [--scheduler ADDRESS]``: a Lyapunov map, resumable.

A map is λ_max of ∂s_T/∂s_0 = J_T ⋯ J_1 (eq. (7), (14)) over a 2-D grid of parameter sets
(:mod:`bptt_check.maps`): where the gradient of eq. (4)-(6) vanishes, explodes or is preserved.
The sweep is described by a TOML spec (:func:`parse_spec`)::

    name = "lstm-small"       # optional: the output folder is bptt-map-<name>
    map = "lstm"              # elman-sigmoid | elman-tanh | lstm | lstm-1997 | gru
    n = 1                     # hidden size (default 8)
    m = 1                     # input size (default 1)
    T = 500                   # steps (default 500); warmup = 50 optional (default T // 10)
    B = 4                     # seeded input sequences and starts per point (default 4)
    seed = 0                  # every random choice (default 0)
    chunk = 64                # grid points per batched call (default 64)

    [x]                       # the first varied parameter: a range ...
    name = "recurrent_scale"
    start = 0.125
    stop = 16
    count = 32
    spacing = "log"           # linear (default) | log

    [y]                       # ... or explicit values
    name = "forget_bias"
    values = [-4, -2, 0, 2, 4, 6]

    [fixed]                   # optional: the parameters not varied (default 0 for biases)
    cell_bias = 0.5

The parameters a map can vary are :data:`bptt_check.maps.PARAMETERS` (``recurrent_scale``,
``input_scale`` for the Elman maps; ``recurrent_scale``, ``forget_bias``, ``input_gate_bias``,
``output_gate_bias``, ``cell_bias`` for the LSTM, the same without ``forget_bias`` for the 1997
LSTM; ``recurrent_scale``, ``reset_gate_bias``, ``update_gate_bias``, ``input_candidate_bias``,
``hidden_candidate_bias`` for the GRU); an axis without ``name`` varies the map's
default coordinate (:data:`bptt_check.maps.MAPS`).

The grid is cut into rectangular chunks of at most ``chunk`` points, each one batched
:func:`numeric.lyapunov` call run by Dask: on this machine's threads by default, or on a
``dask.distributed`` cluster given by its address.  Each finished chunk is written at once into
the zarr store ``DIR/map.zarr`` (labelled arrays: :func:`xarray.open_zarr`), then marked
complete in its ``done`` variable; running the same spec again resumes, computing only the
chunks not marked.  A point's numbers depend on the spec only: not on the scheduler, the
chunking, or how often the sweep was interrupted.

>>> spec = parse_spec(BUILTINS["lstm-n1"], "builtin:lstm-n1")
>>> spec.map, spec.n, len(spec.x), len(spec.y), spec.x_name, spec.y_name
('lstm', 1, 32, 32, 'recurrent_scale', 'forget_bias')

Exit status: 0 when the sweep completed, 1 when it failed (a chunk raised, the cluster could
not be reached), 2 for a usage error (a bad spec, a store holding another sweep) with a
one-line message naming the key.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import maps

if TYPE_CHECKING:  # imported when a sweep runs
    import xarray

__all__ = ["BUILTINS", "Spec", "SpecError", "Sweep", "add_parser", "parse_spec", "run", "sweep"]

_COMMON = """\
m = 1
T = 500
B = 4
seed = 0
chunk = 64
"""

#: The article's maps (issue 12) as TOML specs: ``bptt-check map builtin:NAME``.
BUILTINS: dict[str, str] = {
    "elman-sigmoid": f"""\
# Elman sigma, eq. (1): lambda_max over (||W||_2, ||U||_2); the norm bound certifies
# vanishing below the line gamma ||W||_2 = 1, i.e. ||W||_2 = 4
map = "elman-sigmoid"
n = 8
{_COMMON}
[x]
name = "recurrent_scale"
start = 0.5
stop = 32
count = 32
spacing = "log"

[y]
name = "input_scale"
start = 0
stop = 4
count = 32
""",
    "elman-tanh": f"""\
# Elman tanh, eq. (1): lambda_max over (||W||_2, ||U||_2); gamma ||W||_2 = 1 at ||W||_2 = 1
map = "elman-tanh"
n = 8
{_COMMON}
[x]
name = "recurrent_scale"
start = 0.125
stop = 8
count = 32
spacing = "log"

[y]
name = "input_scale"
start = 0
stop = 4
count = 32
""",
}
for _n in (1, 8):
    BUILTINS[f"lstm-n{_n}"] = f"""\
# LSTM, eq. (8)-(13), {_n} unit{"s" if _n > 1 else ""}: lambda_max over (the spectral norm of every
# recurrent block W_g^(h), the forget bias b_f)
map = "lstm"
n = {_n}
{_COMMON}
[x]
name = "recurrent_scale"
start = 0.125
stop = 16
count = 32
spacing = "log"

[y]
name = "forget_bias"
start = -4
stop = 6
count = 32
"""

BUILTINS["lstm-1997-n8"] = f"""\
# LSTM of 1997, eq. (8)-(13) without the forget gate, 8 units: C_t = C_(t-1) + i_t * C~_t, the
# constant error carousel; lambda_max over (the spectral norm of every recurrent block W_g^(h),
# the input gate bias b_i)
map = "lstm-1997"
n = 8
{_COMMON}
[x]
name = "recurrent_scale"
start = 0.125
stop = 16
count = 32
spacing = "log"

[y]
name = "input_gate_bias"
start = -4
stop = 6
count = 32
"""
BUILTINS["gru-n8"] = f"""\
# GRU (PyTorch's), 8 units: lambda_max over (the spectral norm of W_hr, W_hz, W_hn, the update
# gate bias b_z); z_t near 1 keeps h_t = h_(t-1)
map = "gru"
n = 8
{_COMMON}
[x]
name = "recurrent_scale"
start = 0.125
stop = 16
count = 32
spacing = "log"

[y]
name = "update_gate_bias"
start = -4
stop = 6
count = 32
"""

_TOP = {"name", "map", "n", "m", "T", "warmup", "B", "seed", "chunk", "x", "y", "fixed"}
_AXIS = {"name", "start", "stop", "count", "spacing", "values"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_LOCAL = ("threads", "synchronous", "processes")
_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://\S+|[\w.\-\[\]:]+:\d+")


class SpecError(ValueError):
    """A sweep spec that cannot be run; the message names the key (exit status 2)."""


class UsageError(Exception):
    """A problem with the command line or the output folder: exit status 2."""


@dataclass(frozen=True)
class Spec:
    """A validated sweep: the map ``map`` (a key of :data:`bptt_check.maps.MAPS`) over the
    grid ``x`` × ``y`` of the parameters ``x_name``, ``y_name``, the others at ``fixed``,
    with the arguments of :func:`bptt_check.maps.lyapunov_map`."""

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
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SpecError(f"{key} must be an integer >= {low}, got {value!r}")
    return value


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise SpecError(f"{key} must be a finite number, got {value!r}")
    return float(value)


def _axis(key: str, table: Any, coordinate: str, kind: str) -> tuple[str, tuple[float, ...]]:
    """The parameter and values of the axis ``key`` ("x" or "y"): explicit values, or a
    linear or log range; ``coordinate``: the parameter when the axis names none."""
    if not isinstance(table, Mapping):
        raise SpecError(f"{key} must be a table ([{key}] with name and values or a range)")
    unknown = sorted(set(table) - _AXIS)
    if unknown:
        raise SpecError(f"{key}.{unknown[0]} is not a key of an axis (known: {sorted(_AXIS)})")
    name = table.get("name", coordinate)
    if name not in maps.PARAMETERS[kind]:
        known = list(maps.PARAMETERS[kind])
        raise SpecError(f"{key}.name must be one of {known} for map {kind!r}, got {name!r}")
    ranged = [k for k in ("start", "stop", "count", "spacing") if k in table]
    if "values" in table:
        if ranged:
            raise SpecError(f"{key}.values and {key}.{ranged[0]} exclude each other: give one")
        values = table["values"]
        if not isinstance(values, list) or not values:
            raise SpecError(f"{key}.values must be a non-empty list of numbers, got {values!r}")
        array = np.array([_number(f"{key}.values[{i}]", v) for i, v in enumerate(values)])
    else:
        for part in ("start", "stop", "count"):
            if part not in table:
                raise SpecError(f"{key}.{part} is missing (give start, stop, count or values)")
        start, stop = _number(f"{key}.start", table["start"]), _number(f"{key}.stop", table["stop"])
        count = _integer(f"{key}.count", table["count"], 1)
        spacing = table.get("spacing", "linear")
        if spacing == "linear":
            array = np.linspace(start, stop, count)
        elif spacing == "log":
            if start <= 0 or stop <= 0:
                raise SpecError(f"{key}.start and {key}.stop must be > 0 for spacing = 'log'")
            array = np.geomspace(start, stop, count)
        else:
            raise SpecError(f"{key}.spacing must be 'linear' or 'log', got {spacing!r}")
    if len(np.unique(array)) != len(array):
        raise SpecError(f"{key} must not repeat a value (they label the map's axis)")
    return name, tuple(float(v) for v in array)


def parse_spec(text: str, source: str = "spec") -> Spec:
    """The sweep described by the TOML ``text`` (the format of the module docstring), validated.

    ``source`` names where it came from: its stem is the default ``name``.  Raises
    :class:`SpecError` naming the key for anything that cannot be run.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"not valid TOML: {error}") from None
    unknown = sorted(set(data) - _TOP)
    if unknown:
        raise SpecError(f"{unknown[0]} is not a key of a map spec (known: {sorted(_TOP)})")
    for key in ("map", "x", "y"):
        if key not in data:
            raise SpecError(f"{key} is missing")
    kind = data["map"]
    if kind not in maps.MAPS:
        raise SpecError(f"map must be one of {sorted(maps.MAPS)}, got {kind!r}")
    default = Path(source.removeprefix("builtin:")).stem
    name = data.get("name", default)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SpecError(f"name must be letters, digits, '_', '.', '-' (a folder), got {name!r}")
    sizes = {
        key: _integer(key, data.get(key, value), low)
        for key, value, low in (
            ("n", 8, 1),
            ("m", 1, 1),
            ("T", 500, 1),
            ("B", 4, 1),
            ("seed", 0, 0),
            ("chunk", 64, 1),
        )
    }
    warmup = data.get("warmup")
    if warmup is not None:
        warmup = _integer("warmup", warmup, 0)
        if warmup >= sizes["T"]:
            raise SpecError(f"warmup must be < T = {sizes['T']}, got {warmup}")
    x_name, x = _axis("x", data["x"], maps.MAPS[kind][0], kind)
    y_name, y = _axis("y", data["y"], maps.MAPS[kind][1], kind)
    if x_name == y_name:
        raise SpecError(f"y.name must differ from x.name, both are {x_name!r}")
    fixed = data.get("fixed", {})
    if not isinstance(fixed, Mapping):
        raise SpecError("fixed must be a table ([fixed] with a value per parameter)")
    others = [p for p in maps.PARAMETERS[kind] if p not in (x_name, y_name)]
    for key, value in fixed.items():
        if key not in others:
            raise SpecError(f"fixed.{key} is not a parameter left fixed (those are: {others})")
        _number(f"fixed.{key}", value)
    return Spec(
        name=name,
        map=kind,
        warmup=warmup,
        x_name=x_name,
        x=x,
        y_name=y_name,
        y=y,
        fixed=maps._fixed(kind, (x_name, y_name), fixed),
        **sizes,
    )


def load_spec(source: str) -> tuple[Spec, str]:
    """The spec of ``source`` (a TOML file or ``builtin:NAME``) and its text."""
    if source.startswith("builtin:"):
        name = source.removeprefix("builtin:")
        if name not in BUILTINS:
            raise UsageError(f"no built-in map {name!r} (built-ins: {', '.join(BUILTINS)})")
        text = BUILTINS[name]
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"cannot read {source}: {error.strerror or error}") from None
    return parse_spec(text, source), text


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


def _template(spec: Spec, shape: tuple[int, int]) -> xarray.Dataset:
    """The empty map, chunked like the blocks: NaN, regime 0 and ``done`` False."""
    import dask.array as da
    import xarray as xr

    size, dims, units = (len(spec.x), len(spec.y)), (spec.x_name, spec.y_name), "nats per step"

    def full(value: Any, dtype: Any, extra: tuple[int, ...] = ()) -> Any:
        return da.full(size + extra, value, dtype=dtype, chunks=shape + extra)

    attrs = maps._attrs(spec.map, spec.n, spec.m, spec.T, spec.warmup, spec.B, spec.seed)
    done = "1 once the point's chunk is written: a sweep resumes from the chunks not done"
    return xr.Dataset(
        {
            "lambda_max": (dims, full(np.nan, float), {"units": units}),
            "lambda_se": (dims, full(np.nan, float), {"units": units}),
            "regime": (dims, full(0, np.int8), maps._REGIME_ATTRS),
            "lambda_runs": ((*dims, "run"), full(np.nan, float, (spec.B,)), {"units": units}),
            "done": (dims, full(False, bool), {"description": done}),
        },
        coords={spec.x_name: list(spec.x), spec.y_name: list(spec.y), "run": np.arange(spec.B)},
        attrs=attrs | spec.fixed | {"name": spec.name, "spec": spec.identity()},
    )


def _differing(stored: str, wanted: str) -> str:
    old, new = json.loads(stored), json.loads(wanted)
    return next((key for key in sorted(new) if old.get(key) != new[key]), "?")


@dataclass(frozen=True)
class Sweep:
    """The outcome of :func:`sweep`: the map (with its ``done`` variable), the store, how
    many chunks were computed now and how many were already complete, and the seconds."""

    dataset: xarray.Dataset
    store: Path
    computed: int
    resumed: int
    seconds: float


def _open(spec: Spec, store: Path, shape: tuple[int, int]) -> Any:
    """The zarr group of ``store``: created from the template, or checked to hold ``spec``."""
    import zarr

    if not store.exists():
        _template(spec, shape).to_zarr(store, compute=False, mode="w", consolidated=False)
        return zarr.open_group(store, mode="r+")
    try:
        group = zarr.open_group(store, mode="r+")
        stored = group.attrs["spec"]
    except Exception:  # anything else at that path: not ours to overwrite
        raise UsageError(
            f"{store} exists and is not a map store: remove it or use another -o"
        ) from None
    if stored != spec.identity():
        key = _differing(stored, spec.identity())
        raise UsageError(
            f"{store} holds a sweep of another spec ({key} differs): "
            "remove it or use another -o to start afresh"
        )
    return group


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


def _run_distributed(tasks: list, write: Callable[[int, np.ndarray], None], address: str) -> None:
    """Run ``tasks`` on the ``dask.distributed`` cluster at ``address`` (which stays up)."""
    from distributed import Client, as_completed

    with Client(address, timeout="10s") as client:
        futures = client.compute(tasks)
        index = {future.key: i for i, future in enumerate(futures)}
        for future, result in as_completed(futures, with_results=True):
            write(index[future.key], result)


def sweep(
    spec: Spec, directory: str | Path, *, scheduler: str | None = None, progress: bool = True
) -> Sweep:
    """Run ``spec`` into ``directory``/map.zarr, resuming from the chunks already complete.

    ``scheduler``: None (Dask's local threads), ``"synchronous"``, ``"threads"``,
    ``"processes"`` or a ``dask.distributed`` scheduler address.  ``progress``: a progress
    bar (tqdm) on stderr.  Raises :class:`UsageError` when the store holds another spec.
    """
    import dask
    import xarray as xr
    from tqdm import tqdm

    started = time.perf_counter()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    store = directory / "map.zarr"
    shape, blocks = _blocks(len(spec.x), len(spec.y), spec.chunk)
    group = _open(spec, store, shape)
    done = np.asarray(group["done"][...])
    todo = [block for block in blocks if not done[block].all()]
    xv, yv = np.array(spec.x), np.array(spec.y)
    tasks = []
    for sx, sy in todo:
        a, b = (v.ravel() for v in np.meshgrid(xv[sx], yv[sy], indexing="ij"))
        values = spec.fixed | {spec.x_name: a, spec.y_name: b}
        arguments = (spec.map, spec.n, spec.m, spec.T, spec.B, spec.warmup, spec.seed, values)
        tasks.append(dask.delayed(maps._chunk, pure=True)(*arguments))
    bar = tqdm(
        total=len(blocks),
        initial=len(blocks) - len(todo),
        desc=spec.name,
        unit="chunk",
        file=sys.stderr,
        disable=not progress,
    )

    def write(i: int, runs: np.ndarray) -> None:
        sx, sy = todo[i]
        runs = np.asarray(runs).reshape(sx.stop - sx.start, sy.stop - sy.start, spec.B)
        mean, se, codes = maps._statistics(runs, spec.T, spec.warmup)
        group["lambda_runs"][sx, sy, :] = runs
        group["lambda_max"][sx, sy] = mean
        group["lambda_se"][sx, sy] = se
        group["regime"][sx, sy] = codes
        group["done"][sx, sy] = True  # last: the chunk is complete only once its data is
        bar.update(1)

    with bar:
        if tasks and (scheduler is None or scheduler in _LOCAL):
            _run_local(tasks, write, scheduler or "threads")
        elif tasks:
            _run_distributed(tasks, write, scheduler)
    dataset = xr.open_zarr(store, consolidated=False).load()
    elapsed = time.perf_counter() - started
    return Sweep(dataset, store, len(todo), len(blocks) - len(todo), elapsed)


def summary(spec: Spec, result: Sweep) -> str:
    """Points per regime, the chunks computed and resumed, and the time."""
    codes = result.dataset.regime.values
    points = codes.size
    chunks = result.computed + result.resumed
    lines = [
        f"{spec.name}: map {spec.map}, n = {spec.n}, m = {spec.m}, T = {spec.T}, "
        f"B = {spec.B}, seed = {spec.seed}: {len(spec.x)} x {len(spec.y)} = {points} points "
        f"in {chunks} chunks ({result.computed} computed, {result.resumed} already done), "
        f"{result.seconds:.1f} s"
    ]
    if spec.fixed:
        lines.append("  fixed: " + ", ".join(f"{k} = {v:g}" for k, v in spec.fixed.items()))
    for code, regime in enumerate(maps.REGIMES):
        count = int(np.sum(codes == code))
        lines.append(f"  {regime:<12s} {count:7d}  {count / points:6.1%}")
    lines.append(f"wrote {result.store} (xarray.open_zarr(path, consolidated=False))")
    return "\n".join(lines)


def _listing() -> str:
    lines = []
    for name, text in BUILTINS.items():
        spec = parse_spec(text, f"builtin:{name}")
        lines.append(
            f"builtin:{name:14s} {spec.map}, n = {spec.n}: {spec.x_name} [{spec.x[0]:g}, "
            f"{spec.x[-1]:g}] x {spec.y_name} [{spec.y[0]:g}, {spec.y[-1]:g}], "
            f"{len(spec.x)} x {len(spec.y)} points, T = {spec.T}, B = {spec.B}"
        )
    return "\n".join(lines)


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``map`` on the CLI's subcommands."""
    parser = commands.add_parser(
        "map",
        help="a Lyapunov map (lambda_max over a grid) as a resumable Dask sweep",
        description="Run the sweep of SPEC.toml (or builtin:NAME) into DIR/map.zarr; "
        "re-running resumes from the chunks already written.",
    )
    parser.add_argument("spec", nargs="?", metavar="SPEC.toml", help="a spec or builtin:NAME")
    parser.add_argument(
        "-o", "--output", metavar="DIR", default=None, help="folder (default: bptt-map-NAME)"
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="a dask.distributed scheduler address (default: this machine's threads)",
    )
    parser.add_argument("--list", action="store_true", help="list the built-in maps")
    parser.add_argument("--show", action="store_true", help="print the spec's TOML and stop")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``bptt-check map``; return the exit status."""
    try:
        if args.list:
            print(_listing())
            return 0
        if args.spec is None:
            raise UsageError("a spec is needed: SPEC.toml or builtin:NAME (see --list)")
        scheduler = args.scheduler
        if scheduler is not None and not (scheduler in _LOCAL or _ADDRESS.fullmatch(scheduler)):
            raise UsageError(
                f"--scheduler must be an address such as tcp://127.0.0.1:8786, got {scheduler!r}"
            )
        try:
            spec, text = load_spec(args.spec)
        except SpecError as error:
            raise UsageError(f"{args.spec}: {error}") from None
        if args.show:
            print(text, end="")
            return 0
        directory = Path(args.output or f"bptt-map-{spec.name}")
        try:
            result = sweep(spec, directory, scheduler=scheduler, progress=not args.no_progress)
        except UsageError:
            raise
        except KeyboardInterrupt:
            print(
                f"bptt-check map: interrupted (re-run to resume from the chunks written in "
                f"{directory})",
                file=sys.stderr,
            )
            return 130
        except Exception as error:  # the sweep failed: one line, the chunks written are kept
            message = str(error).splitlines()[0] if str(error) else ""
            print(
                f"bptt-check map: the sweep failed: {type(error).__name__}: {message} "
                f"(re-run to resume from the chunks written in {directory})",
                file=sys.stderr,
            )
            return 1
        (directory / "spec.toml").write_text(text, encoding="utf-8")
        report = summary(spec, result)
        (directory / "summary.txt").write_text(report + "\n", encoding="utf-8")
        print(report)
        return 0
    except UsageError as error:
        print(f"bptt-check map: {error}", file=sys.stderr)
        return 2
