"""Lyapunov exponents over a grid of LSTMs: one batched run against a Python loop over points.

    python benchmarks/lyapunov_grid.py              # 64 × 64 = 4,096 points, n = 8, T = 1,000
    python benchmarks/lyapunov_grid.py --growth     # also ln ‖J_T ⋯ J_1‖₂ (an N × N frame)
    python benchmarks/lyapunov_grid.py --side 32 --T 500 --jax   # and JAX's vmap of the run

The grid is a map of the article's LSTM (eq. (8)-(13)): recurrent scale × forget bias b_f,
each point its own weights (scale · W_g for a seeded base W_g, b_f added to the forget gate),
B = 4 input seeds and starts.  ``numeric.lyapunov`` gets all points at once (params with a
leading grid axis G = 4,096); the loop calls it once per point.  The loop is timed on a subset
of the points (64 by default) and extrapolated to the whole grid — said so in the output — and
its exponents are checked to equal the batched ones.  Peak memory (tracemalloc) of the batched
run at T = 100 and at the full T shows it does not grow with T.  Everything runs on one thread
(the machine is shared; two-thread timings swing).  With ``--jax`` (k = 1, no growth), the
same run as JAX writes it, ``jit(vmap(vmap(scan(step + jvp))))`` over the grid and the batch
(:func:`jax_lambda`), is timed beside ours and its λ_1 compared with ours.
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
    " intra_op_parallelism_threads=1"
).strip()

import argparse  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

from derivations import cells  # noqa: E402
from numeric import Model, lyapunov  # noqa: E402


def grid(model: Model, side: int, n: int, m: int, seed: int = 0) -> tuple[dict, np.ndarray]:
    """side × side parameter sets: recurrent scale in [0.5, 16] (log-spaced) × b_f in [-4, 4]."""
    base = model.init(n, m, seed=seed)
    scales = np.geomspace(0.5, 16.0, side)
    forget = np.linspace(-4.0, 4.0, side)
    S, F = (a.ravel() for a in np.meshgrid(scales, forget, indexing="ij"))
    params = {}
    for name, value in base.items():
        if name.startswith("W_"):
            params[name] = S[:, None, None] * value
        else:
            params[name] = np.broadcast_to(value, (len(S), *value.shape)).copy()
    params["b_f"] = params["b_f"] + F[:, None]
    return params, np.stack([S, F], axis=1)


def jax_lambda(params: dict, xs: np.ndarray, state0: dict, warmup: int):
    """λ_1 of every grid point and batch entry, (G, B), by JAX: the LSTM step (eq. (8)-(13)),
    its Jacobian applied to one tangent vector by ``jax.jvp``, the vector renormalised each
    step (Benettin with k = 1), from the same seeded start vector as ``numeric.lyapunov``;
    returns a function that runs it (compiled on its first call)."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    n = state0["h"].shape[-1]
    start = np.random.default_rng(0).standard_normal((2 * n, 1))[:, 0]
    start = start / np.linalg.norm(start)  # the frame is (C, h), as the cell's states

    def step(p, C, h, x):
        hx = jnp.concatenate([h, x])
        gate = {g: p[f"W_{g}"] @ hx + p[f"b_{g}"] for g in "ifco"}
        C = jax.nn.sigmoid(gate["f"]) * C + jax.nn.sigmoid(gate["i"]) * jnp.tanh(gate["c"])
        return C, jax.nn.sigmoid(gate["o"]) * jnp.tanh(C)

    def one(p, x, C, h):  # one grid point, one batch entry: x (T, m)
        def body(carry, inputs):
            C, h, v, total = carry
            x_t, t = inputs
            (C2, h2), (vC, vh) = jax.jvp(lambda C, h: step(p, C, h, x_t), (C, h), (v[:n], v[n:]))
            w = jnp.concatenate([vC, vh])
            r = jnp.linalg.norm(w)
            total = total + jnp.where(t >= warmup, jnp.log(r), 0.0)
            return (C2, h2, w / r, total), None

        T = x.shape[0]
        carry = (C, h, jnp.asarray(start), jnp.asarray(0.0))
        (_, _, _, total), _ = jax.lax.scan(body, carry, (x, jnp.arange(T)))
        return total / (T - warmup)

    over_batch = jax.vmap(one, in_axes=(None, 1, 0, 0))
    over_grid = jax.jit(jax.vmap(over_batch, in_axes=(0, None, None, None)))
    arrays = {k: jnp.asarray(v) for k, v in params.items()}
    x, C0, h0 = (jnp.asarray(a) for a in (xs, state0["C"], state0["h"]))
    return lambda: np.asarray(jax.block_until_ready(over_grid(arrays, x, C0, h0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", type=int, default=64, help="grid side (G = side²)")
    parser.add_argument("--n", type=int, default=8, help="hidden units")
    parser.add_argument("--T", type=int, default=1000, help="time steps")
    parser.add_argument("--B", type=int, default=4, help="input seeds and starts per point")
    parser.add_argument("--loop", type=int, default=64, help="points timed in the Python loop")
    parser.add_argument("--growth", action="store_true", help="also the finite-T growth")
    parser.add_argument("--jax", action="store_true", help="also JAX's vmap of the run")
    args = parser.parse_args()

    model, m = Model(cells.lstm()), 1
    params, points = grid(model, args.side, args.n, m)
    G = len(points)
    rng = np.random.default_rng(1)
    xs = rng.normal(size=(args.T, args.B, m))
    state0 = {"C": rng.normal(size=(args.B, args.n)), "h": rng.normal(size=(args.B, args.n))}
    options = {"k": 1, "growth": args.growth}  # warmup: the default, T // 10
    print(
        f"LSTM n = {args.n}, m = {m}, G = {G} grid points, B = {args.B}, T = {args.T}, "
        f"k = 1, growth = {args.growth}; one thread"
    )
    lyapunov(model, {k: v[:2] for k, v in params.items()}, xs[:5], state0)  # compile once

    start = time.perf_counter()
    batched = lyapunov(model, params, xs, state0, **options)
    t_batched = time.perf_counter() - start
    print(f"batched, all {G} points in one call:        {t_batched:9.1f} s")
    if args.jax and not args.growth:
        run = jax_lambda(params, xs, state0, batched.warmup)
        run()  # compiles
        start = time.perf_counter()
        theirs = run()
        t_jax = time.perf_counter() - start
        gap = np.abs(theirs - batched.lambda_max).max()
        print(
            f"JAX jit(vmap(vmap(scan(step + jvp)))):      {t_jax:9.1f} s; ours / JAX "
            f"{t_batched / t_jax:.2f}; largest |λ_ours - λ_JAX| {gap:.1e}"
        )

    subset = np.random.default_rng(2).choice(G, size=min(args.loop, G), replace=False)
    start = time.perf_counter()
    looped = [
        lyapunov(model, {k: v[g] for k, v in params.items()}, xs, state0, **options) for g in subset
    ]
    t_loop = time.perf_counter() - start
    t_all = t_loop / len(subset) * G
    print(
        f"loop, one call per point: {len(subset)} points took {t_loop:.1f} s; "
        f"extrapolated to {G}: {t_all:9.1f} s"
    )
    print(f"speed-up of the batched run:               {t_all / t_batched:9.1f}x")
    worst = max(
        np.abs(one.exponents - batched.exponents[g]).max()
        for g, one in zip(subset, looped, strict=True)
    )
    print(f"largest |λ_batched - λ_loop| on the subset: {worst:.1e}")

    peaks = {}
    for T in (100, args.T):
        tracemalloc.start()
        lyapunov(model, params, xs[:T], state0, **options)
        peaks[T] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(
        "peak memory of the batched run (tracemalloc): "
        + ", ".join(f"T = {T}: {peak / 2**20:.1f} MiB" for T, peak in peaks.items())
    )

    labels = batched.classify()
    shares = {label: float(np.mean(labels == label)) for label in np.unique(labels)}
    print("map: " + ", ".join(f"{label} {share:.0%}" for label, share in shares.items()))


if __name__ == "__main__":
    main()
