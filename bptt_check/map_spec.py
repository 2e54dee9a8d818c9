r"""What a Lyapunov map's sweep is, validated once: :func:`make_spec` and :func:`check_scheduler`.

:func:`bptt_check.maps.lyapunov_map` and ``bptt-check map`` (its TOML spec,
:func:`bptt_check.map_command.parse_spec`) both describe a sweep by the same fields — the map
(a key of :data:`bptt_check.maps.MAPS`), sizes n, m, steps T and warmup, runs B, seed, chunk,
the two varied parameters with their values and the fixed others — and both are checked here,
once, before any work.  A field that cannot be run is a :class:`SpecError` (a ValueError)
naming it in the caller's words (:class:`Keys`): ``kind``, ``axes[1]``, ``fixed['cell_bias']`` from
Python; ``map``, ``y.name``, ``fixed.cell_bias`` from a TOML spec.

>>> make_spec("lstm", [1.0], [0.0], axes=("forget_bias", "forget_bias"))
Traceback (most recent call last):
...
bptt_check.map_spec.SpecError: axes[1] must differ from axes[0], both are 'forget_bias'
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .maps import MAPS, PARAMETERS

__all__ = [
    "LOCAL",
    "PYTHON",
    "TOML",
    "Keys",
    "Spec",
    "SpecError",
    "check_integer",
    "check_number",
    "check_scheduler",
    "make_spec",
]

#: Dask's local schedulers, by name.
LOCAL = ("threads", "synchronous", "processes")
#: The address schemes of ``dask.distributed``; all but ``inproc`` need host:port.
_SCHEMES = ("tcp", "tls", "inproc", "ucx", "ws", "wss")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class SpecError(ValueError):
    """An argument or spec key that cannot be run; the message names it."""


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


def check_integer(key: str, value: Any, low: int) -> int:
    """``value`` as an int >= ``low``, else a :class:`SpecError` naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise SpecError(f"{key} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_number(key: str, value: Any) -> float:
    """``value`` as a finite float (not a bool), else a :class:`SpecError` naming ``key``."""
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
        check_number(keys.fixed.format(name), value)
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
    bptt_check.map_spec.SpecError: fixed['cell_bias'] must be a finite number, got 'a'
    """
    if not isinstance(kind, str) or kind not in MAPS:
        raise SpecError(f"{keys.kind} must be one of {sorted(MAPS)}, got {kind!r}")
    name = kind if name is None else name
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SpecError(f"name must be letters, digits, '_', '.', '-' (a folder), got {name!r}")
    sizes = {
        key: check_integer(key, value, low)
        for key, value, low in (("n", n, 1), ("m", m, 1), ("T", T, 1), ("B", B, 1))
    }
    seed, chunk = check_integer("seed", seed, 0), check_integer("chunk", chunk, 1)
    if warmup is not None:
        warmup = check_integer("warmup", warmup, 0)
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
