"""Time the Lyapunov maps (bptt_check.maps): the five kinds at n = 1 and n = 8.

    python benchmarks/lyapunov_maps.py                     # Dask's local threads, in memory
    python benchmarks/lyapunov_maps.py --scheduler tcp://127.0.0.1:8786
    python benchmarks/lyapunov_maps.py --store /tmp/maps   # each into a zarr store, resumable

Each map is 32 × 32 grid points, T = 500, B = 4 seeded inputs and starts, run by the one sweep
of ``bptt_check.sweep`` (that of ``bptt-check map``).  Prints the time of each and the share
of its points in each regime of ``numeric.Spectrum.classify``.  With ``--store`` a second run
over the same folder resumes: it computes nothing and times only opening the stores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bptt_check.maps import REGIMES, lyapunov_map

GRIDS = {
    "elman-sigmoid": (np.geomspace(0.5, 32, 32), np.linspace(0, 4, 32)),
    "elman-tanh": (np.geomspace(0.125, 8, 32), np.linspace(0, 4, 32)),
    "lstm": (np.geomspace(0.125, 16, 32), np.linspace(-4, 6, 32)),
    "lstm-1997": (np.geomspace(0.125, 16, 32), np.linspace(-4, 6, 32)),
    "gru": (np.geomspace(0.125, 16, 32), np.linspace(-4, 6, 32)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scheduler", default=None, help="a dask.distributed address")
    parser.add_argument("--T", type=int, default=500)
    parser.add_argument("--B", type=int, default=4)
    parser.add_argument("--store", default=None, help="a folder for the maps' zarr stores")
    args = parser.parse_args()
    lyapunov_map("lstm", [1.0], [0.0], n=1, T=10, B=1)  # imports and compilation, untimed
    for kind, (x, y) in GRIDS.items():
        for n in (1, 8):
            start = time.perf_counter()
            store = None if args.store is None else Path(args.store) / f"{kind}-n{n}.zarr"
            ds = lyapunov_map(
                kind, x, y, n=n, T=args.T, B=args.B, scheduler=args.scheduler, store=store
            )
            elapsed = time.perf_counter() - start
            codes = ds.regime.values
            shares = ", ".join(f"{r} {np.mean(codes == i):.0%}" for i, r in enumerate(REGIMES))
            print(
                f"{kind:14s} n = {n}: {len(x)} x {len(y)} points, T = {args.T}, B = {args.B}: "
                f"{elapsed:6.1f} s   {shares}",
                flush=True,
            )


if __name__ == "__main__":
    main()
