"""VJP speed of the derived BPTT against torch and JAX on the CPU: LSTM, GRU and Elman rows.

    pip install -e ".[bench,fast]"   # torch==2.13.0 (the CPU wheel), jax, numba
    taskset -c 1 python benchmarks/vjp.py            # every cell: lstm, gru, elman
    taskset -c 1 python benchmarks/vjp.py gru elman  # some of them

Every library runs on one thread (the machine is shared; two-thread timings swing), float64.
For each cell and size (T, B, n, m) it prints the best of several alternating runs of our
VJP, of the NumPy interpreter alone, of torch's module forward + backward of Σ out ⊙ dH and of
JAX's ``jit(value_and_grad)`` over a ``lax.scan`` of the cell (what a researcher writes in 20
lines: :func:`jax_vjp`) on the same data and weights (gradients compared once: the largest
difference over every weight, bias and the initial state, against torch and against JAX),
the ratios ours / JAX and ours / torch (below 1: ours is faster), and our matmul FLOP rate as
a share of a 1024 × 1024 float64 matmul.  Ours is :meth:`numeric.Model.vjp` with
``backend="auto"`` (after one call pinned to numba, so that its compiled code is cached: auto
then runs it where it pays, small steps; the column says which ran):

* LSTM: ``numeric.lstm.vjp`` (``Model(cells.lstm())``) against ``nn.LSTM``;
* GRU: ``Model(cells.gru("torch"))`` against ``nn.GRU``;
* Elman: ``Model(cells.elman("tanh", bias=True))`` against ``nn.RNN(nonlinearity="tanh")``.

Then the first VJP call of a cell in a fresh process (imports, derivation and compilation
included) with nothing cached ("auto": the interpreter), the time numba takes to compile the
cell in a fresh process, and the first call pinned to numba once that code is cached (numba's
import and loading the machine code); and, for the LSTM,
the random-direction gradient check against ``torch.autograd.gradcheck`` in its default mode.
The checkout this file lives in is the one measured, installed or not.  OpenBLAS reads
OPENBLAS_CORETYPE when it loads: the kernel it picked is printed; unset the variable to let it
choose the machine's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
# XLA on one thread as well
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
    " intra_op_parallelism_threads=1"
).strip()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's packages, not an installed copy

import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

from derivations import cells  # noqa: E402
from numeric import Model, checks, lstm  # noqa: E402

jax.config.update("jax_enable_x64", True)
torch.set_num_threads(1)
SIZES = [(10, 1, 4, 3), (50, 1, 8, 4), (100, 32, 64, 32), (200, 64, 128, 64)]  # (T, B, n, m)


def best_of(functions: list[Callable], repeats: int) -> list[float]:
    """The best time of each over ``repeats`` rounds, all alternating (drift hits them all)."""
    for function in functions:
        function()
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeats):
        for function, record in zip(functions, times, strict=True):
            start = time.perf_counter()
            function()
            record.append(time.perf_counter() - start)
    return [min(record) for record in times]


def best_pair(ours: Callable, theirs: Callable, repeats: int) -> tuple[float, float]:
    first, second = best_of([ours, theirs], repeats)
    return first, second


def best(function: Callable, repeats: int) -> float:
    return best_of([function], repeats)[0]


def matmul_peak() -> float:
    a = np.random.default_rng(0).normal(size=(1024, 1024))
    return 2 * 1024**3 / best(lambda: a @ a, 10) / 1e9


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.ascontiguousarray(array))


@dataclass
class Setup:
    """One cell at one size: our VJP (on a given backend), torch's forward + backward, the
    gradient difference (call after both ran), and JAX's VJP with its gradients in our names."""

    ours: Callable[[str], object]
    theirs: Callable[[], None]
    difference: Callable[[], float]
    jax: Callable[[], tuple[dict, dict]] | None = None


def jax_vjp(step: Callable, params: dict, xs, state0: tuple, dS) -> Callable[[], tuple]:
    """``jit(value_and_grad)`` of Σ_t ⟨dS_t, s_t⟩ over ``lax.scan(step)`` from ``state0``,
    with respect to the parameters and the initial state; returns a function giving the
    gradients as NumPy arrays ({name: array}, (initial-state gradients))."""

    def loss(p, s0):
        _, outs = jax.lax.scan(lambda s, x: step(p, s, x), s0, xs)
        return jnp.sum(outs * dS)

    compiled = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    p = {k: jnp.asarray(v) for k, v in params.items()}
    s0 = tuple(jnp.asarray(s) for s in state0)
    xs, dS = jnp.asarray(xs), jnp.asarray(dS)

    def run():
        value, (grads, initial) = compiled(p, s0)
        jax.block_until_ready((value, grads, initial))
        return grads, initial

    return run


def _jax_difference(grads: dict, initial: tuple, jax_run: Callable) -> float:
    theirs, theirs0 = jax_run()
    pairs = [(grads[k], np.asarray(v)) for k, v in theirs.items()]
    pairs += [(a, np.asarray(b)) for a, b in zip(initial, theirs0, strict=True)]
    return max(float(np.abs(np.asarray(a) - b).max()) for a, b in pairs)


def _torch_vjp(module: torch.nn.Module, xs, state0, dH):
    """forward + backward of Σ out ⊙ dH through ``module`` from ``state0`` (tensors, leaves)."""
    x, g = torch.tensor(xs), torch.tensor(dH)

    def run() -> None:
        module.zero_grad()
        for s in state0 if isinstance(state0, tuple) else (state0,):
            s.grad = None
        out, _ = module(x, state0)
        (out * g).sum().backward()

    return run


def _largest(pairs) -> float:
    return max(float(np.abs(np.asarray(a) - b.detach().numpy()).max()) for a, b in pairs)


def lstm_setup(T: int, B: int, n: int, m: int, seed: int = 0) -> Setup:
    """nn.LSTM's gates are (i, f, g, o); our W_g acts on [h; x], h first."""
    rng = np.random.default_rng(seed)
    params = {f"W_{g}": rng.uniform(-0.3, 0.3, (n, n + m)) for g in "ifco"}
    params |= {f"b_{g}": rng.uniform(-0.3, 0.3, n) for g in "ifco"}
    xs, h0, c0, dH = (rng.normal(size=s) for s in ((T, B, m), (B, n), (B, n), (T, B, n)))
    module = torch.nn.LSTM(m, n).double()
    with torch.no_grad():
        module.weight_ih_l0.copy_(_tensor(np.vstack([params[f"W_{g}"][:, n:] for g in "ifco"])))
        module.weight_hh_l0.copy_(_tensor(np.vstack([params[f"W_{g}"][:, :n] for g in "ifco"])))
        module.bias_ih_l0.copy_(_tensor(np.concatenate([params[f"b_{g}"] for g in "ifco"])))
        module.bias_hh_l0.zero_()
    h, c = (_tensor(s)[None].requires_grad_() for s in (h0, c0))
    ours = lambda backend="auto": lstm.vjp(params, xs, h0, c0, dH, backend=backend)  # noqa: E731

    def step(p, state, x):
        h, C = state
        hx = jnp.concatenate([h, x], axis=-1)
        gate = {g: hx @ p[f"W_{g}"].T + p[f"b_{g}"] for g in "ifco"}
        C = jax.nn.sigmoid(gate["f"]) * C + jax.nn.sigmoid(gate["i"]) * jnp.tanh(gate["c"])
        h = jax.nn.sigmoid(gate["o"]) * jnp.tanh(C)
        return (h, C), h

    jax_run = jax_vjp(step, params, xs, (h0, c0), dH)

    def jax_difference() -> float:
        grads = ours()
        return _jax_difference(grads, (grads["h0"], grads["c0"]), jax_run)

    def difference() -> float:
        grads = ours()
        stack = lambda part: np.vstack([grads[f"W_{g}"][:, part] for g in "ifco"])  # noqa: E731
        bias = np.concatenate([grads[f"b_{g}"] for g in "ifco"])
        return _largest(
            [
                (stack(slice(n, None)), module.weight_ih_l0.grad),
                (stack(slice(None, n)), module.weight_hh_l0.grad),
                (bias, module.bias_ih_l0.grad),
                (bias, module.bias_hh_l0.grad),
                (grads["h0"], h.grad[0]),
                (grads["c0"], c.grad[0]),
            ]
        )

    return Setup(ours, _torch_vjp(module, xs, (h, c), dH), difference, (jax_run, jax_difference))


def gru_setup(T: int, B: int, n: int, m: int, seed: int = 0) -> Setup:
    """nn.GRU's rows are (r, z, n); its two biases of r (and of z) add up to our b_r (b_z), so
    torch's hidden biases of r and z are zero and b_hn is its hidden bias of n."""
    model = Model(cells.gru("torch"))
    params = model.init(n=n, m=m, seed=seed)
    rng = np.random.default_rng(seed + 1)
    xs, h0, dH = (rng.normal(size=s) for s in ((T, B, m), (B, n), (T, B, n)))
    module = torch.nn.GRU(m, n).double()
    with torch.no_grad():
        module.weight_ih_l0.copy_(_tensor(np.vstack([params[k] for k in ("W_ir", "W_iz", "W_in")])))
        module.weight_hh_l0.copy_(_tensor(np.vstack([params[k] for k in ("W_hr", "W_hz", "W_hn")])))
        module.bias_ih_l0.copy_(
            _tensor(np.concatenate([params[k] for k in ("b_r", "b_z", "b_in")]))
        )
        module.bias_hh_l0.copy_(_tensor(np.concatenate([np.zeros(2 * n), params["b_hn"]])))
    h = _tensor(h0)[None].requires_grad_()
    ours = lambda backend="auto": model.vjp(params, xs, {"h": h0}, {"h": dH}, backend=backend)  # noqa: E731, E501

    def step(p, state, x):
        (h,) = state
        r = jax.nn.sigmoid(x @ p["W_ir"].T + h @ p["W_hr"].T + p["b_r"])
        z = jax.nn.sigmoid(x @ p["W_iz"].T + h @ p["W_hz"].T + p["b_z"])
        nc = jnp.tanh(x @ p["W_in"].T + p["b_in"] + r * (h @ p["W_hn"].T + p["b_hn"]))
        h = (1 - z) * nc + z * h
        return (h,), h

    jax_run = jax_vjp(step, params, xs, (h0,), dH)

    def jax_difference() -> float:
        grads, initial = ours()
        return _jax_difference(grads, (initial["h"],), jax_run)

    def difference() -> float:
        grads, initial = ours()
        rz = np.concatenate([grads["b_r"], grads["b_z"]])
        return _largest(
            [
                (np.vstack([grads[k] for k in ("W_ir", "W_iz", "W_in")]), module.weight_ih_l0.grad),
                (np.vstack([grads[k] for k in ("W_hr", "W_hz", "W_hn")]), module.weight_hh_l0.grad),
                (np.concatenate([rz, grads["b_in"]]), module.bias_ih_l0.grad),
                (np.concatenate([rz, grads["b_hn"]]), module.bias_hh_l0.grad),
                (initial["h"], h.grad[0]),
            ]
        )

    return Setup(ours, _torch_vjp(module, xs, h, dH), difference, (jax_run, jax_difference))


def elman_setup(T: int, B: int, n: int, m: int, seed: int = 0) -> Setup:
    """nn.RNN: S_t = tanh(U x_t + b + W S_{t-1}), its hidden bias zero."""
    model = Model(cells.elman("tanh", bias=True))
    params = model.init(n=n, m=m, seed=seed)
    rng = np.random.default_rng(seed + 1)
    xs, s0, dS = (rng.normal(size=s) for s in ((T, B, m), (B, n), (T, B, n)))
    module = torch.nn.RNN(m, n, nonlinearity="tanh").double()
    with torch.no_grad():
        module.weight_ih_l0.copy_(_tensor(params["U"]))
        module.weight_hh_l0.copy_(_tensor(params["W"]))
        module.bias_ih_l0.copy_(_tensor(params["b"]))
        module.bias_hh_l0.zero_()
    s = _tensor(s0)[None].requires_grad_()
    ours = lambda backend="auto": model.vjp(params, xs, {"S": s0}, {"S": dS}, backend=backend)  # noqa: E731, E501

    def step(p, state, x):
        (S,) = state
        S = jnp.tanh(S @ p["W"].T + x @ p["U"].T + p["b"])
        return (S,), S

    jax_run = jax_vjp(step, params, xs, (s0,), dS)

    def jax_difference() -> float:
        grads, initial = ours()
        return _jax_difference(grads, (initial["S"],), jax_run)

    def difference() -> float:
        grads, initial = ours()
        return _largest(
            [
                (grads["U"], module.weight_ih_l0.grad),
                (grads["W"], module.weight_hh_l0.grad),
                (grads["b"], module.bias_ih_l0.grad),
                (grads["b"], module.bias_hh_l0.grad),
                (initial["S"], s.grad[0]),
            ]
        )

    return Setup(ours, _torch_vjp(module, xs, s, dS), difference, (jax_run, jax_difference))


#: name: (setup, gate count, torch module, the cell for the first call)
CELLS = {
    "lstm": (lstm_setup, 4, "nn.LSTM", "cells.lstm()"),
    "gru": (gru_setup, 3, "nn.GRU", 'cells.gru("torch")'),
    "elman": (elman_setup, 1, "nn.RNN", 'cells.elman("tanh", bias=True)'),
}
#: cells whose first call is timed, each in a fresh process
FIRST_CALLS = (
    'cells.gru("torch")',
    'cells.gru("cho")',
    'cells.elman("tanh", bias=True)',
    "cells.lstm(forget_gate=False)",
    "cells.lstm()",
)


def flops(T: int, B: int, n: int, m: int, gates: int) -> float:
    """Matmul FLOPs of forward + backward: input and recurrent projections, the pull-back
    through the recurrent weights, and the weight gradients."""
    return 2 * T * B * gates * n * (m + n + n + (n + m))


def speed(name: str, peak: float) -> None:
    setup, gates, peer, _ = CELLS[name]
    print(
        f"\n{name}: ours (numeric) against torch {peer} and JAX jit(value_and_grad(scan)), float64"
    )
    print(
        f"{'T, B, n, m':>18} {'ours ms':>9} {'ran':>6} {'numpy ms':>9} {'torch ms':>9} "
        f"{'jax ms':>8} {'ours/jax':>8} {'ours/torch':>10} {'GFLOP/s':>8} {'of peak':>8}"
        "  max |grad diff| torch, jax"
    )
    for T, B, n, m in SIZES:
        case = setup(T, B, n, m)
        repeats = 200 if T * B * n < 10_000 else 15 if T * B * n < 1_000_000 else 7
        case.ours("numba")  # compiles (or loads) the compiled loops: "auto" may then run them
        ran = _ran(case)
        jax_run, jax_difference = case.jax
        ours, numpy_only, theirs, jax_time = best_of(
            [case.ours, lambda case=case: case.ours("numpy"), case.theirs, jax_run], repeats
        )
        case.theirs()
        diff = case.difference()
        rate = flops(T, B, n, m, gates) / ours / 1e9
        print(
            f"{str((T, B, n, m)):>18} {ours * 1e3:9.3f} {ran:>6} {numpy_only * 1e3:9.3f} "
            f"{theirs * 1e3:9.3f} {jax_time * 1e3:8.3f} {ours / jax_time:8.2f} "
            f"{ours / theirs:10.2f} {rate:8.1f} {rate / peak:8.0%}  {diff:.1e}, "
            f"{jax_difference():.1e}",
            flush=True,
        )


def _ran(case: Setup) -> str:
    """Which backend "auto" picked for this case's call."""
    from numeric import _compiled

    picked = []
    original = _compiled.Program.forward

    def spy(self, *args, **kwargs):
        picked.append(True)
        return original(self, *args, **kwargs)

    _compiled.Program.forward = spy
    try:
        case.ours()
    finally:
        _compiled.Program.forward = original
    return "numba" if picked else "numpy"


def first_call(cell: str, cache: str, backend: str = "auto") -> float:
    """Seconds from a fresh interpreter's start to the end of its first VJP of ``cell`` on
    ``backend``, with the compiled code cached in ``cache`` (an empty directory: nothing)."""
    code = (
        "import time; start = time.perf_counter()\n"
        "import numpy as np\n"
        "from derivations import cells\n"
        "from numeric import Model\n"
        f"model = Model({cell}, backend={backend!r})\n"
        "params = model.init(n=4, m=3, seed=0)\n"
        "state0 = {name: np.zeros((1, 4)) for name, _ in model.states}\n"
        "seeds = {model.states[-1][0]: np.ones((10, 1, 4))}\n"
        "model.vjp(params, np.ones((10, 1, 3)), state0, seeds)\n"
        "print(time.perf_counter() - start)\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "BPTT_CHECK_CACHE": cache}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environment
    )
    return float(done.stdout)


def _compile(cell: str, cache: str) -> float:
    """Compile ``cell``'s loops into ``cache`` in a fresh process: the seconds it took."""
    code = (
        "import time\n"
        "import numpy as np\n"
        "from derivations import cells\n"
        "from numeric import Model\n"
        f"model = Model({cell}, backend='numba')\n"
        "params = model.init(n=4, m=3, seed=0)\n"
        "state0 = {name: np.zeros((1, 4)) for name, _ in model.states}\n"
        "seeds = {model.states[-1][0]: np.ones((10, 1, 4))}\n"
        "start = time.perf_counter()\n"
        "model.vjp(params, np.ones((10, 1, 3)), state0, seeds)\n"
        "print(time.perf_counter() - start)\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "BPTT_CHECK_CACHE": cache}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environment
    )
    return float(done.stdout)


def gradient_checks() -> None:
    T, B, n, m = 10, 1, 4, 3
    rng = np.random.default_rng(0)
    params = {f"W_{g}": rng.uniform(-0.3, 0.3, (n, n + m)) for g in "ifco"}
    params |= {f"b_{g}": rng.uniform(-0.3, 0.3, n) for g in "ifco"}
    xs, h0, c0, dH = (rng.normal(size=s) for s in ((T, B, m), (B, n), (B, n), (T, B, n)))
    ours_total = best(lambda: checks.direction(lstm.problem(params, xs, h0, c0, dH)), 10)
    built = lstm.problem(params, xs, h0, c0, dH)
    report = checks.direction(built)
    ours_check = best(lambda: checks.direction(built), 30)
    module = torch.nn.LSTM(m, n).double()
    x = torch.tensor(xs)
    h, c = torch.tensor(h0)[None], torch.tensor(c0)[None]
    names = [name for name, _ in module.named_parameters()]
    calls = 0

    def outputs(*weights):
        nonlocal calls
        calls += 1
        state = dict(zip(names, weights, strict=True))
        return torch.func.functional_call(module, state, (x, (h, c)))[0]

    inputs = tuple(p.detach().clone().requires_grad_() for p in module.parameters())
    assert torch.autograd.gradcheck(outputs, inputs)
    forward_calls = calls
    theirs = best(lambda: torch.autograd.gradcheck(outputs, inputs), 5)
    print(
        f"\ngradient check, LSTM T={T} n={n} m={m}: ours (checks.direction, one complex "
        f"forward pass) {ours_check * 1e3:.2f} ms, {ours_total * 1e3:.2f} ms with the derived "
        f"gradient; torch.autograd.gradcheck (default) {theirs * 1e3:.1f} ms, "
        f"{forward_calls} forward calls: {theirs / ours_total:.0f}x ({report.passed=})"
    )


def main(names: list[str]) -> None:
    unknown = sorted(set(names) - set(CELLS))
    if unknown:
        raise SystemExit(f"unknown cells {unknown}: choose from {sorted(CELLS)}")
    names = names or list(CELLS)
    blas = [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()]
    forced = {
        v: os.environ[v] for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ
    }
    print("BLAS:", blas, f"forced by {forced}" if forced else "(kernel chosen by OpenBLAS)")
    import numba

    print(
        f"numpy {np.__version__}, torch {torch.__version__}, jax {jax.__version__}, "
        f"numba {numba.__version__}, one thread each"
    )
    print("load average (1, 5, 15 min) at the start: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    peak = matmul_peak()
    print(f"float64 matmul peak (1024 x 1024, 1 thread): {peak:.1f} GFLOP/s")
    for name in names:
        speed(name, peak)
    print(
        "\nfirst vjp call in a fresh process (imports, derivation, compilation), T=10 n=4 m=3;"
        " auto with nothing cached; compiling; numba with its code cached:"
    )
    for cell in FIRST_CALLS:
        with tempfile.TemporaryDirectory() as cache:
            cold = first_call(cell, cache)
            compile_seconds = _compile(cell, cache)
            warm = first_call(cell, cache, "numba")
        seconds = f"{cold:.2f} s; compiling {compile_seconds:.1f} s; numba, cached {warm:.2f} s"
        print(f"  {cell:<32} {seconds}")
    if "lstm" in names:
        gradient_checks()
    print("load average (1, 5, 15 min) at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main(sys.argv[1:])
