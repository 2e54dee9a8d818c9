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

The sweep is :func:`bptt_check.sweep.run`, the same as :func:`bptt_check.maps.lyapunov_map`'s
(one validation, one set of errors): the grid is cut into rectangular chunks of at most
``chunk`` points, each one batched :func:`bptt_check.maps.point_runs` call run by Dask, on this
machine's threads by default or on a ``dask.distributed`` cluster given by its address.  Each
finished chunk is written at once into the zarr store ``DIR/map.zarr`` (labelled arrays:
:func:`xarray.open_zarr`), then marked complete in its ``done`` variable; running the same spec
again resumes, computing only the chunks not marked.  A point's numbers depend on the spec
only: not on the scheduler, the chunking, or how often the sweep was interrupted.

The output folder ``DIR`` (``-o``, default ``bptt-map-NAME``) is checked before any work
(:func:`output_folder`): it must be new (in a writable folder), empty, or the folder of an
earlier run of the same spec — holding only ``map.zarr``, ``spec.toml`` and ``summary.txt`` —
which is then resumed.  A file, a folder holding anything else, a folder that cannot be
written and a store of another spec are refused with one line (exit status 2): a map never
lands among a user's other files, and never mixes two specs.

>>> spec = parse_spec(BUILTINS["lstm-n1"], "builtin:lstm-n1")
>>> spec.map, spec.n, len(spec.x), len(spec.y), spec.x_name, spec.y_name
('lstm', 1, 32, 32, 'recurrent_scale', 'forget_bias')

Exit status: 0 when the sweep completed; 1 when it failed (a chunk raised, the cluster could
not be reached; the chunks written are kept, and the message says whether there is anything to
resume); 2 for a usage error (a bad spec, option or output folder) with a one-line message
naming the key or the path; 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import textwrap
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import maps
from .map_spec import (
    TOML,
    Spec,
    SpecError,
    check_integer,
    check_number,
    check_scheduler,
    make_spec,
)
from .sweep import StoreError, Sweep
from .sweep import completed as _completed
from .sweep import run as _run

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
#: What a folder of an earlier run holds: its store, its spec and its summary.
OWN = ("map.zarr", "spec.toml", "summary.txt")


class UsageError(Exception):
    """A problem with the command line or the output folder: exit status 2."""


def _axis(key: str, table: Any) -> tuple[str | None, np.ndarray]:
    """The parameter (None: the map's default coordinate) and values of the axis ``key``
    ("x" or "y"): explicit values, or a linear or log range."""
    if not isinstance(table, Mapping):
        raise SpecError(f"{key} must be a table ([{key}] with name and values or a range)")
    unknown = sorted(set(table) - _AXIS)
    if unknown:
        raise SpecError(f"{key}.{unknown[0]} is not a key of an axis (known: {sorted(_AXIS)})")
    ranged = [k for k in ("start", "stop", "count", "spacing") if k in table]
    if "values" in table:
        if ranged:
            raise SpecError(f"{key}.values and {key}.{ranged[0]} exclude each other: give one")
        values = table["values"]
        if not isinstance(values, list) or not values:
            raise SpecError(f"{key}.values must be a non-empty list of numbers, got {values!r}")
        return table.get("name"), np.array(
            [check_number(f"{key}.values[{i}]", v) for i, v in enumerate(values)]
        )
    for part in ("start", "stop", "count"):
        if part not in table:
            raise SpecError(f"{key}.{part} is missing (give start, stop, count or values)")
    start, stop = (
        check_number(f"{key}.start", table["start"]),
        check_number(f"{key}.stop", table["stop"]),
    )
    count = check_integer(f"{key}.count", table["count"], 1)
    spacing = table.get("spacing", "linear")
    if spacing == "linear":
        return table.get("name"), np.linspace(start, stop, count)
    if spacing == "log":
        if start <= 0 or stop <= 0:
            raise SpecError(f"{key}.start and {key}.stop must be > 0 for spacing = 'log'")
        return table.get("name"), np.geomspace(start, stop, count)
    raise SpecError(f"{key}.spacing must be 'linear' or 'log', got {spacing!r}")


def parse_spec(text: str, source: str = "spec") -> Spec:
    """The sweep described by the TOML ``text`` (the format of the module docstring), validated.

    ``source`` names where it came from: its stem is the default ``name``.  The TOML is read
    here (tables, ranges); every field is then checked by the sweep's one validation
    (:func:`bptt_check.map_spec.make_spec`), as :func:`bptt_check.maps.lyapunov_map`'s arguments
    are.  Raises :class:`SpecError` naming the key for anything that cannot be run.
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
    (x_name, x), (y_name, y) = _axis("x", data["x"]), _axis("y", data["y"])
    sizes = {key: data[key] for key in ("n", "m", "T", "B", "seed", "warmup") if key in data}
    return make_spec(
        data["map"],
        x,
        y,
        chunk=data.get("chunk", 64),
        axes=(x_name, y_name),
        fixed=data.get("fixed"),
        name=data.get("name", Path(source.removeprefix("builtin:")).stem),
        keys=TOML,
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


def _plural(count: int, noun: str) -> str:
    """``1 chunk``, ``2 chunks``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def output_folder(directory: str | os.PathLike[str]) -> Path:
    """The folder a sweep writes into, checked before any work (:class:`UsageError`).

    Accepted: a new folder (its parent a writable folder), an empty folder, or the folder of an
    earlier run (holding only ``map.zarr``, ``spec.toml``, ``summary.txt``); the store in it
    is then checked to hold the same spec (resumed) by :func:`bptt_check.sweep.run`.
    Refused: a file, a folder holding anything else, a folder that cannot be written.
    """
    from .output import OutputError, folder_target

    given = os.fspath(directory)
    if os.path.isdir(given):
        try:
            names = os.listdir(given)
        except OSError as error:  # a folder that cannot be read cannot be resumed either
            raise UsageError(f"cannot read {given}: {error.strerror or error}") from None
        foreign = sorted(name for name in names if name not in OWN)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise UsageError(
                f"{given} holds files that are not a map's ({shown}): give a new or empty "
                "folder, or the folder of an earlier run of this spec, as -o"
            )
    try:
        return folder_target(given, set(OWN))
    except OutputError as error:
        raise UsageError(str(error)) from None


def sweep(
    spec: Spec, directory: str | Path, *, scheduler: Any = None, progress: bool = True
) -> Sweep:
    """Run ``spec`` into ``directory``/map.zarr, resuming from the chunks already complete:
    :func:`bptt_check.sweep.run` into the folder :func:`output_folder` accepts.

    ``scheduler``: None (Dask's local threads), ``"synchronous"``, ``"threads"``,
    ``"processes"``, a ``dask.distributed`` scheduler address or Client.  ``progress``: a
    progress bar (tqdm) on stderr.  Raises :class:`UsageError` before any work when the folder
    or its store cannot be used (a file, other files, another spec, not writable).
    """
    target = output_folder(directory)
    created = not target.exists()
    try:
        target.mkdir(exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create {directory}: {error.strerror or error}") from None
    store = target / "map.zarr"
    try:
        return _run(
            spec,
            store,
            scheduler=scheduler,
            progress=progress,
            subject=str(Path(directory) / "map.zarr"),
            advice="remove it or use another -o to start afresh",
        )
    except StoreError as error:
        if created:
            with contextlib.suppress(OSError):
                target.rmdir()  # the folder made for this run, left empty
        raise UsageError(str(error)) from None


def summary(spec: Spec, result: Sweep) -> str:
    """Points per regime, the chunks computed and resumed, and the time."""
    codes = result.dataset.regime.values
    points = codes.size
    chunks = result.computed + result.resumed
    lines = [
        f"{spec.name}: map {spec.map}, n = {spec.n}, m = {spec.m}, T = {spec.T}, "
        f"B = {spec.B}, seed = {spec.seed}: {len(spec.x)} x {len(spec.y)} = "
        f"{_plural(points, 'point')} in {_plural(chunks, 'chunk')} ({result.computed} computed, "
        f"{result.resumed} already done), {result.seconds:.1f} s"
    ]
    if spec.fixed:
        lines.append("  fixed: " + ", ".join(f"{k} = {v:g}" for k, v in spec.fixed.items()))
    for code, regime in enumerate(maps.REGIMES):
        count = int(np.sum(codes == code))
        lines.append(f"  {regime:<12s} {count:7d}  {count / points:6.1%}")
    lines.append(f"wrote {result.store} (xarray.open_zarr(path, consolidated=False))")
    return "\n".join(lines)


def _points(spec: Spec) -> str:
    """``32 x 32 points``, ``1 x 1 point``."""
    plural = "" if len(spec.x) * len(spec.y) == 1 else "s"
    return f"{len(spec.x)} x {len(spec.y)} point{plural}"


def _listing() -> str:
    lines = []
    for name, text in BUILTINS.items():
        spec = parse_spec(text, f"builtin:{name}")
        lines.append(
            f"builtin:{name:14s} {spec.map}, n = {spec.n}: {spec.x_name} [{spec.x[0]:g}, "
            f"{spec.x[-1]:g}] x {spec.y_name} [{spec.y[0]:g}, {spec.y[-1]:g}], "
            f"{_points(spec)}, T = {spec.T}, B = {spec.B}"
        )
    return "\n".join(lines)


def _parameters() -> str:
    """Each map's parameters (:data:`bptt_check.maps.PARAMETERS`), its default axes first."""
    lines = []
    for kind, axes in maps.MAPS.items():
        names = [*axes, *(name for name in maps.PARAMETERS[kind] if name not in axes)]
        lines.append(
            textwrap.fill(
                ", ".join(names),
                79,
                initial_indent=f"  {kind + ':':15s}",
                subsequent_indent=" " * 17,
            )
        )
    return "\n".join(lines)


_HELP = """\
The spec (TOML; --show prints a built-in's):
  name = "my-map"  optional (default: the file's stem); names the folder
  map = "lstm"     {maps}
  n = 8            hidden size; also m = 1 (inputs), T = 500 (steps), warmup
                   (default T // 10), B = 4 (seeded runs per point), seed = 0,
                   chunk = 64 (points per chunk)
  [x], [y]         name = a parameter of the map (default: its axes) and
                   values = [...], or start, stop, count, spacing = "log"
                   or "linear" (default)
  [fixed]          the parameters not varied (default 1 for recurrent_scale
                   and input_scale, 0 for a bias)

The parameters of each map (its default axes first):
{parameters}

-o DIR (default bptt-map-NAME) must be a new folder, an empty one, or the
folder of an earlier run of the same spec (holding only map.zarr, spec.toml,
summary.txt), which is then resumed: only the chunks not marked done are
computed.  A file, a folder holding other files, a folder that cannot be
written, or a store of another spec is refused before any work.

Exit status: 0 done; 1 the sweep failed (a chunk raised, the cluster could not
be reached; the chunks written are kept); 2 a usage error (spec, option or
folder), in one line; 130 interrupted (Ctrl-C).
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``map`` on the CLI's subcommands."""
    parser = commands.add_parser(
        "map",
        help="a Lyapunov map (lambda_max over a grid) as a resumable Dask sweep",
        description="Run the sweep of SPEC.toml (or builtin:NAME, see --list) into DIR/map.zarr,\n"
        "chunk by chunk; re-running resumes from the chunks already written.",
        epilog=_HELP.format(maps=" | ".join(maps.MAPS), parameters=_parameters()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("spec", nargs="?", metavar="SPEC.toml", help="a spec or builtin:NAME")
    parser.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        default=None,
        help="the folder of map.zarr, spec.toml and summary.txt (default: bptt-map-NAME): "
        "new, empty, or an earlier run of this spec",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="threads (default), synchronous, processes, or a dask.distributed scheduler "
        "address such as tcp://127.0.0.1:8786",
    )
    parser.add_argument("--list", action="store_true", help="list the built-in maps")
    parser.add_argument("--show", action="store_true", help="print the spec's TOML and stop")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(run=run)


def _resume(spec: Spec, directory: str) -> str:
    """What a failed or interrupted sweep left: chunks to resume from, or nothing."""
    done, total = _completed(spec, Path(directory) / "map.zarr")
    if not done:
        return " (no chunk was written)"
    return f" (re-run to resume: {done} of {_plural(total, 'chunk')} are written in {directory})"


def run(args: argparse.Namespace) -> int:
    """Run ``bptt-check map``; return the exit status."""
    from .output import OutputError, file_target, write_text

    try:
        if args.list:
            print(_listing())
            return 0
        if args.spec is None:
            raise UsageError("a spec is needed: SPEC.toml or builtin:NAME (see --list)")
        try:
            check_scheduler(args.scheduler, "--scheduler")
            spec, text = load_spec(args.spec)
        except SpecError as error:
            where = "" if str(error).startswith("--scheduler") else f"{args.spec}: "
            raise UsageError(f"{where}{error}") from None
        if args.show:
            print(text, end="")
            return 0
        directory = args.output or f"bptt-map-{spec.name}"
        try:
            result = sweep(spec, directory, scheduler=args.scheduler, progress=not args.no_progress)
        except UsageError:
            raise
        except KeyboardInterrupt:
            print(f"bptt-check map: interrupted{_resume(spec, directory)}", file=sys.stderr)
            return 130
        except Exception as error:  # the sweep failed: one line, the chunks written are kept
            message = str(error).splitlines()[0] if str(error) else ""
            print(
                f"bptt-check map: the sweep failed: {type(error).__name__}: {message}"
                f"{_resume(spec, directory)}",
                file=sys.stderr,
            )
            return 1
        report = summary(spec, result)
        try:  # each file whole or not at all: a temporary file beside it, then renamed
            write_text(file_target(Path(directory) / "spec.toml"), text)
            write_text(file_target(Path(directory) / "summary.txt"), report + "\n")
        except (OSError, OutputError) as error:
            print(f"bptt-check map: cannot write in {directory}: {error}", file=sys.stderr)
            return 1
        print(report)
        return 0
    except UsageError as error:
        print(f"bptt-check map: {error}", file=sys.stderr)
        return 2
