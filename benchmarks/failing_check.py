"""A failing ``check_vjp`` against a passing one: the cost of the case the checker exists for.

    python benchmarks/failing_check.py              # GRU, m = 8, B = 8 at several (n, T)
    python benchmarks/failing_check.py 32:200       # one (n, T)

The hand-written GRU BPTT is ``tests/data/gru_bptt.py`` (torch's convention,
``derivations.cells.gru("torch")``): ``vjp`` is right, ``buggy_vjp`` has the update gate's
sign flipped.  For each size it prints the best of a few runs of what a user pays —
:func:`numeric.checks.check_vjp`, ``report.message(10)`` and ``report.step_table()`` (what
``bptt-check check`` prints) — for the correct and the buggy gradient, their ratio
failing / passing, and the peak memory of one failing check (tracemalloc).  One thread.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's packages, not an installed copy

import importlib.util  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

import numeric  # noqa: E402
from derivations import cells  # noqa: E402
from numeric import checks  # noqa: E402

SIZES = ((16, 10), (24, 10), (16, 20), (32, 20), (32, 60))
M, B = 8, 8


def _user_code():
    spec = importlib.util.spec_from_file_location("gru_bptt", ROOT / "tests/data/gru_bptt.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inputs(model: numeric.Model, n: int, T: int):
    rng = np.random.default_rng(0)
    params = model.init(n=n, m=M, seed=0)
    xs = rng.normal(size=(T, B, M))
    state0 = {"h": rng.normal(size=(B, n)) / 2}
    cotangents = {"h": rng.normal(size=(T, B, n))}
    return params, xs, state0, cotangents


def _once(model, vjp, args) -> tuple[float, bool]:
    start = time.perf_counter()
    report = checks.check_vjp(model, vjp, *args)
    report.message(10)
    report.step_table()
    return time.perf_counter() - start, report.passed


def main(sizes) -> None:
    user = _user_code()
    model = numeric.Model(cells.gru("torch"))
    print(f"GRU (torch), m = {M}, B = {B}: check_vjp + message(10) + step_table, best of runs")
    print(f"{'n':>3} {'T':>4} {'passing s':>10} {'failing s':>10} {'ratio':>6} {'peak MB':>8}")
    for n, T in sizes:
        args = _inputs(model, n, T)
        repeats = 3 if n * T <= 640 else 1
        passing, failing = [], []
        for _ in range(repeats):  # alternating, so a busy moment hits both
            seconds, ok = _once(model, user.vjp, args)
            assert ok, "the correct GRU BPTT must pass"
            passing.append(seconds)
            seconds, ok = _once(model, user.buggy_vjp, args)
            assert not ok, "the buggy GRU BPTT must fail"
            failing.append(seconds)
        tracemalloc.start()
        _once(model, user.buggy_vjp, args)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        p, f = min(passing), min(failing)
        print(f"{n:>3} {T:>4} {p:>10.2f} {f:>10.2f} {f / p:>6.2f} {peak:>8.0f}")


if __name__ == "__main__":
    chosen = [tuple(int(v) for v in arg.split(":")) for arg in sys.argv[1:]] or SIZES
    main(chosen)
