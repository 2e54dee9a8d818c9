"""LSTM VJP speed against torch on the CPU, and against the float64 matmul peak.

    pip install -e ".[bench]"        # torch==2.13.0, the CPU wheel
    python benchmarks/lstm_vjp.py

Every library runs on one thread (the machine is shared; two-thread timings swing).  Prints,
for each size, the best of several runs of ``numeric.lstm.vjp`` and of torch ``nn.LSTM``
forward + backward on the same float64 data (with a check that both give the same gradient),
the ratio, and our matmul FLOP rate as a share of a 1024 × 1024 float64 matmul.  Then the
first call in a fresh process (derivation and compilation included), and the random-direction
gradient check against ``torch.autograd.gradcheck`` in its default mode on the same model.
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

from numeric import checks, lstm  # noqa: E402

torch.set_num_threads(1)
SIZES = [(10, 1, 4, 3), (100, 32, 64, 32), (200, 64, 128, 64)]  # (T, B, n, m)


def best(function, repeats: int) -> float:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_peak() -> float:
    a = np.random.default_rng(0).normal(size=(1024, 1024))
    return 2 * 1024**3 / best(lambda: a @ a, 10) / 1e9


def problem(T: int, B: int, n: int, m: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    params = {f"W_{g}": rng.uniform(-0.3, 0.3, (n, n + m)) for g in "ifco"}
    params |= {f"b_{g}": rng.uniform(-0.3, 0.3, n) for g in "ifco"}
    return (
        params,
        rng.normal(size=(T, B, m)),
        rng.normal(size=(B, n)),
        rng.normal(size=(B, n)),
        rng.normal(size=(T, B, n)),
    )


def torch_lstm(params: dict, n: int, m: int) -> torch.nn.LSTM:
    """nn.LSTM with our weights: its gates are (i, f, g, o); our W_g acts on [h; x]."""
    module = torch.nn.LSTM(m, n).double()
    with torch.no_grad():
        module.weight_ih_l0.copy_(
            torch.tensor(np.vstack([params[f"W_{g}"][:, n:] for g in "ifco"]))
        )
        module.weight_hh_l0.copy_(
            torch.tensor(np.vstack([params[f"W_{g}"][:, :n] for g in "ifco"]))
        )
        module.bias_ih_l0.copy_(torch.tensor(np.concatenate([params[f"b_{g}"] for g in "ifco"])))
        module.bias_hh_l0.zero_()
    return module


def flops(T: int, B: int, n: int, m: int) -> float:
    """Matmul FLOPs of forward + backward: input and recurrent projections, the pull-back
    through W^(h), and the weight gradients."""
    return 2 * T * B * 4 * n * (m + n + n + (n + m))


def measure(T: int, B: int, n: int, m: int, peak: float) -> None:
    params, xs, h0, c0, dH = problem(T, B, n, m)
    repeats = 30 if T * B * n < 10_000 else 7
    ours = best(lambda: lstm.vjp(params, xs, h0, c0, dH), repeats)
    module = torch_lstm(params, n, m)
    x, g = torch.tensor(xs), torch.tensor(dH)
    h, c = torch.tensor(h0)[None].requires_grad_(), torch.tensor(c0)[None].requires_grad_()

    def torch_vjp():
        module.zero_grad()
        H, _ = module(x, (h, c))
        (H * g).sum().backward()

    theirs = best(torch_vjp, repeats)
    grads = lstm.vjp(params, xs, h0, c0, dH)
    torch_vjp()
    diff = np.abs(
        np.vstack([grads[f"W_{k}"][:, :n] for k in "ifco"]) - module.weight_hh_l0.grad.numpy()
    ).max()
    rate = flops(T, B, n, m) / ours / 1e9
    print(
        f"{str((T, B, n, m)):>18} {ours * 1e3:9.2f} {theirs * 1e3:9.2f} "
        f"{theirs / ours:10.2f} {rate:8.1f} {rate / peak:8.0%}  {diff:.1e}"
    )


def speed() -> None:
    peak = matmul_peak()
    print(f"float64 matmul peak (1024 x 1024, 1 thread): {peak:.1f} GFLOP/s")
    print(
        f"{'T, B, n, m':>18} {'ours ms':>9} {'torch ms':>9} {'torch/ours':>10} "
        f"{'GFLOP/s':>8} {'of peak':>8}  max |grad diff|"
    )
    for size in SIZES:
        measure(*size, peak)


def first_call() -> None:
    code = (
        "import time; start = time.perf_counter()\n"
        "import numpy as np\n"
        "from numeric import lstm\n"
        "rng = np.random.default_rng(0)\n"
        "p = {f'W_{g}': rng.normal(size=(4, 7)) for g in 'ifco'}\n"
        "p |= {f'b_{g}': np.zeros(4) for g in 'ifco'}\n"
        "lstm.vjp(p, rng.normal(size=(10, 1, 3)), np.zeros((1, 4)), np.zeros((1, 4)),\n"
        "         rng.normal(size=(10, 1, 4)))\n"
        "print(time.perf_counter() - start)\n"
    )
    seconds = float(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )
    print(f"first vjp call in a fresh process (imports, derivation, compilation): {seconds:.2f} s")


def gradient_checks() -> None:
    T, B, n, m = 10, 1, 4, 3
    params, xs, h0, c0, dH = problem(T, B, n, m)
    ours_total = best(lambda: checks.direction(lstm.problem(params, xs, h0, c0, dH)), 10)
    built = lstm.problem(params, xs, h0, c0, dH)
    report = checks.direction(built)
    ours_check = best(lambda: checks.direction(built), 30)
    module = torch_lstm(params, n, m)
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
        f"gradient check, LSTM T={T} n={n} m={m}: ours (checks.direction, one complex "
        f"forward pass) {ours_check * 1e3:.2f} ms, {ours_total * 1e3:.2f} ms with the derived "
        f"gradient; torch.autograd.gradcheck (default) {theirs * 1e3:.1f} ms, "
        f"{forward_calls} forward calls: {theirs / ours_total:.0f}x ({report.passed=})"
    )


if __name__ == "__main__":
    print(
        "BLAS:",
        [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()],
    )
    speed()
    first_call()
    gradient_checks()
