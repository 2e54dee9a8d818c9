"""The compiled backend: a plan's fused loops (:mod:`numeric._codegen`) compiled by numba.

The generated module is written once to ``<user cache>/bptt-check/compiled/cell_<hash>.py``,
the hash taken over its source (so over the derived program and the generator), and compiled
with numba's ``cache=True``: a later process loads the machine code from beside it instead of
compiling again.  Set ``BPTT_CHECK_CACHE`` to use another directory.

Which backend runs is decided here (:func:`choose`); a model made without ``backend=`` uses
``BPTT_CHECK_BACKEND`` from the environment, else ``"auto"``:

* ``"numpy"``: the interpreter of :mod:`numeric._engine`, the reference and the fallback;
* ``"numba"``: the compiled loops wherever they apply — float64 or complex128 arrays, a cell
  without reductions, a call without per-step results or offsets — and the interpreter
  elsewhere (mpmath arrays, the checks' offsets and per-step adjoints);
* ``"auto"`` (the default): compiled only where it pays — numba is installed, a step's work
  is small (B × N ≤ :data:`SMALL`, N the total state size: there the interpreter's per-step
  calls are the cost; above it NumPy's vectorised exp and tanh beat numba's scalar ones), and
  either the machine code for this dtype is loaded, or it is on disk and this process has
  interpreted :data:`LOADS_AFTER` steps of the program (loading numba and the code takes
  about as long as a first call on NumPy).  After :data:`PAYS_AFTER` interpreted steps (many
  times what compiling takes) the program is compiled in a background thread while the
  interpreter goes on; calls switch once it is done.  No call ever waits for numba's compiler.
  The switch is counted in steps, not seconds, so a run decides the same way every time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

from ._codegen import Generated, source
from ._engine import Backprop, Plan, Trace
from ._pool import Pool

__all__ = [
    "BACKENDS",
    "LOADS_AFTER",
    "PAYS_AFTER",
    "Program",
    "available",
    "backward",
    "pinned",
    "cache_dir",
    "choose",
    "default_backend",
    "forward",
    "program",
]

#: The values of ``backend=``.
BACKENDS = ("auto", "numpy", "numba")
#: Interpreted steps (summed T) of one program and dtype after which "auto" compiles it in the
#: background: at about 50 µs a step for an LSTM, some 25 s of interpreting, several times
#: what numba takes to compile the two loops (a test suite's many short runs stay below it).
PAYS_AFTER = 500_000
#: Interpreted steps after which "auto" loads machine code cached on disk.
LOADS_AFTER = 5_000
#: Entries per step (B × total state size) up to which "auto" runs the compiled loops.
SMALL = 1024
_DTYPES = (np.dtype(np.float64), np.dtype(np.complex128))
_lock = threading.Lock()


@cache
def available() -> bool:
    """Whether numba (and SciPy, whose BLAS numba's ``np.dot`` calls) can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("numba", "scipy"))


#: The backend :func:`pinned` sets for the models made without one, in this context.
_PINNED: ContextVar[str | None] = ContextVar("bptt_check_backend", default=None)


def default_backend() -> str:
    """The backend of a model made without one: the one :func:`pinned` sets, else
    ``BPTT_CHECK_BACKEND`` if set, else "auto"."""
    return _PINNED.get() or os.environ.get("BPTT_CHECK_BACKEND") or "auto"


@contextmanager
def pinned(backend: str) -> Iterator[None]:
    """Run every model made without ``backend=`` on ``backend`` inside the block (a model's
    own ``backend=``, and a call's, still win).  The application computes its verdicts on the
    reference interpreter this way: same seed, same numbers, whatever is compiled or cached.

    >>> from numeric import Model, backend
    >>> with backend("numpy"):
    ...     pass
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    token = _PINNED.set(backend)
    try:
        yield
    finally:
        _PINNED.reset(token)


def cache_dir() -> Path:
    """Where generated modules and their compiled code live."""
    given = os.environ.get("BPTT_CHECK_CACHE")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bptt-check" / "compiled"


class Program:
    """A plan's generated module, imported (and so compiled or loaded) on first use."""

    def __init__(self, plan: Plan, generated: Generated) -> None:
        self.plan = plan
        self.generated = generated
        self.key = hashlib.sha256(generated.text.encode()).hexdigest()[:20]
        self._module: ModuleType | None = None
        self._ready: set[np.dtype] = set()
        self._on_disk: dict[np.dtype, bool] = {}
        self._compiling: set[np.dtype] = set()
        self.interpreted: dict[np.dtype, int] = {}  # steps run by the interpreter

    @property
    def path(self) -> Path:
        return cache_dir() / f"cell_{self.key}.py"

    def _marker(self, dtype: np.dtype) -> Path:
        return cache_dir() / f"cell_{self.key}.{dtype.name}.compiled"

    def module(self) -> ModuleType:
        with _lock:
            if self._module is None:
                path = self.path
                if not path.exists():
                    try:
                        _write(path, self.generated.text)
                    except OSError:  # the cache cannot be written: this process's own copy
                        path = Path(tempfile.mkdtemp(prefix="bptt-check-")) / path.name
                        _write(path, self.generated.text)
                name = f"_bptt_check_cell_{self.key}"
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
                self._module = module
            return self._module

    def loaded(self, dtype: np.dtype) -> bool:
        """Whether this process has run the machine code for ``dtype``."""
        return dtype in self._ready

    def on_disk(self, dtype: np.dtype) -> bool:
        """Whether machine code for ``dtype`` is cached on disk (looked up once per process,
        so a process decides the same way on every call)."""
        if dtype not in self._on_disk:
            self._on_disk[dtype] = self._marker(dtype).exists()
        return self._on_disk[dtype]

    def _done(self, dtype: np.dtype) -> None:
        if dtype not in self._ready:
            self._ready.add(dtype)
            try:
                self._marker(dtype).touch()
            except OSError:  # a read-only cache: this process still knows
                pass

    def compile_soon(self, dtype: np.dtype, params, sequence, initial) -> None:
        """Compile both loops for ``dtype`` in a background thread (once), on the first step and
        batch entry of a call; :meth:`loaded` is true when done."""
        with _lock:
            if dtype in self._compiling:
                return
            self._compiling.add(dtype)
        sequence = {k: np.array(v[:1, :1]) for k, v in sequence.items()}
        initial = {k: np.array(v[:1]) for k, v in initial.items()}
        params = {k: np.array(v) for k, v in params.items()}

        def compile_both() -> None:
            try:
                states, kept = self.forward(params, sequence, initial, dtype, record=False)
                self.backward(params, sequence, states, kept, {}, dtype, record=False)
            except Exception:  # noqa: BLE001 - numba refused the program: stay interpreted
                return
            self._done(dtype)  # both loops compiled: calls switch now

        threading.Thread(target=compile_both, name=f"numba {self.key}", daemon=True).start()

    # ---- the two loops -----------------------------------------------------------------------
    def forward(
        self,
        params: Mapping[str, np.ndarray],
        sequence: Mapping[str, np.ndarray],
        initial: Mapping[str, np.ndarray],
        dtype: np.dtype,
        record: bool = True,
    ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """State trajectories (T + 1, B, size) per state and kept nodes (T, B, size)."""
        g = self.generated
        arrays = [
            *(params[name] for name in g.params),
            *(sequence[name] for name in g.sequence),
            *(initial[prev] for _, prev in g.state),
        ]
        out = self.module().forward(np.empty(0, dtype), *_as(arrays, dtype))
        if record:
            self._done(dtype)
        count = len(g.state)
        return out[:count], out[count:]

    def backward(
        self,
        params: Mapping[str, np.ndarray],
        sequence: Mapping[str, np.ndarray],
        states: tuple[np.ndarray, ...],
        kept: tuple[np.ndarray, ...],
        cotangents: Mapping[str, np.ndarray],
        dtype: np.dtype,
        record: bool = True,
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Parameter gradients and the adjoints of the previous states (by input name)."""
        g = self.generated
        T, B = states[0].shape[0] - 1, states[0].shape[1]
        seeds = []
        for (new, _), trajectory in zip(g.state, states, strict=True):
            given = cotangents.get(new)
            seeds.append(np.zeros((T, B, trajectory.shape[-1]), dtype) if given is None else given)
        for out in g.direct:
            given = cotangents.get(out)
            size = kept[g.kept.index(out)].shape[-1] if out in g.kept else None
            seeds.append(np.zeros((T, B, size), dtype) if given is None else given)
        arrays = [
            *(params[name] for name in g.params),
            *(sequence[name] for name in g.sequence),
            *states,
            *kept,
            *seeds,
        ]
        out = self.module().backward(np.empty(0, dtype), *_as(arrays, dtype))
        if record:
            self._done(dtype)
        grads = dict(zip(g.params, out[: len(g.params)], strict=True))
        adjoints = {prev: a for (_, prev), a in zip(g.state, out[len(g.params) :], strict=True)}
        return grads, adjoints


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: another process sees all of it or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(text)
    os.replace(partial, path)


def _as(arrays: list, dtype: np.dtype) -> list[np.ndarray]:
    return [np.ascontiguousarray(a, dtype) for a in arrays]


@cache
def program(plan: Plan) -> Program | None:
    """The plan's compiled program, or None when the generator does not cover it."""
    generated = source(plan)
    return None if generated is None else Program(plan, generated)


def choose(plan: Plan, dtype: np.dtype, backend: str, entries: int) -> Program | None:
    """The program to run for a call of ``dtype`` under ``backend`` with ``entries`` state
    entries a step (B × N), or None (the interpreter)."""
    if backend == "numpy" or dtype not in _DTYPES or not available():
        return None
    if backend == "auto" and entries > SMALL:
        return None
    found = program(plan)
    if found is None or backend == "numba":
        return found
    if found.loaded(dtype):
        return found
    if found.interpreted.get(dtype, 0) >= LOADS_AFTER and found.on_disk(dtype):
        return found
    return None


def _dtype(*groups: Mapping[str, np.ndarray]) -> np.dtype:
    return np.result_type(*(a for group in groups for a in group.values()))


def _interpreted(plan: Plan, dtype: np.dtype, steps: int, entries: int, backend: str, call) -> None:
    """Count interpreted steps towards compiling (``"auto"``), where numba would run; start
    compiling in the background once they pay (``call``: the arrays of this call, whose
    first step and batch entry the compiler runs on)."""
    if backend == "auto" and entries <= SMALL and dtype in _DTYPES and available():
        found = program(plan)
        if found is not None:
            found.interpreted[dtype] = found.interpreted.get(dtype, 0) + steps
            if found.interpreted[dtype] >= PAYS_AFTER:
                found.compile_soon(dtype, *call)


@dataclass(frozen=True)
class _Arrays:
    """What the compiled forward pass hands to the compiled backward pass."""

    program: Program
    states: tuple[np.ndarray, ...]
    kept: tuple[np.ndarray, ...]
    sequence: Mapping[str, np.ndarray]


def forward(
    plan: Plan,
    params: Mapping[str, np.ndarray],
    sequence: Mapping[str, np.ndarray],
    initial: Mapping[str, np.ndarray],
    backend: str,
    offsets: Mapping | None = None,
    pool: Pool | None = None,
) -> Trace:
    """:meth:`Plan.forward` on the backend chosen for this call (offsets: the interpreter)."""
    dtype = _dtype(params, sequence, initial)
    T, B = next(iter(sequence.values())).shape[:2] if sequence else (0, 0)
    entries = B * sum(v.shape[-1] for v in initial.values())
    found = None if offsets or not sequence else choose(plan, dtype, backend, entries)
    if found is None:
        trace = plan.forward(params, sequence, initial, offsets, pool)
        _interpreted(plan, dtype, T, entries, backend, (params, sequence, initial))
        return trace
    states, kept = found.forward(params, sequence, initial, dtype)
    g = found.generated
    values = dict(zip(g.kept, kept, strict=True))
    values |= sequence
    final = {}
    for (new, prev), trajectory in zip(g.state, states, strict=True):
        values[new], values[prev] = trajectory[1:], trajectory[:-1]
        final[prev] = trajectory[-1]
    return Trace(values, None, None, final, _Arrays(found, states, kept, sequence))


def backward(
    plan: Plan,
    params: Mapping[str, np.ndarray],
    trace: Trace,
    cotangents: Mapping[str, np.ndarray],
    backend: str,
    wanted: tuple[str, ...] = (),
    per_step: bool = False,
    pool: Pool | None = None,
) -> Backprop:
    """:meth:`Plan.backward` on the compiled backend when the forward pass ran there (and no
    input adjoints or per-step results are asked for), the interpreter otherwise."""
    compiled = trace.compiled
    if isinstance(compiled, _Arrays) and not wanted and not per_step and backend != "numpy":
        dtype = np.result_type(compiled.states[0], *cotangents.values(), *params.values())
        if dtype in _DTYPES:
            grads, adjoints = compiled.program.backward(
                params, compiled.sequence, compiled.states, compiled.kept, cotangents, dtype
            )
            return Backprop(grads, adjoints, {}, {})
    return plan.backward(params, trace, cotangents, wanted, per_step, pool)
