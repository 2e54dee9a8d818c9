r"""The tolerance model of every check: a relative part and a rounding floor.

    tolerance = rtol × scale  +  C ε (magnitudes that entered)  [+ truncation of the method]

* ``rtol`` is the check's own (1e-12 for complex step in float64); for a float32 or float16
  gradient of a plain loss it is at least 100 ε of that dtype: a lower-precision gradient is
  checked against the float64 reference with its own budget, neither refused nor failed at
  1e-12.  Where the computation is known — :func:`numeric.checks.check_vjp` on a BPTT — the
  budget is derived from it instead (:func:`depth_weighted`: ε × the roundings along the
  backward path × the magnitudes that entered), so a 5 % error in float16 fails;
* ``scale`` is the largest reference entry of the same parameter (or of the same step);
* the rounding floor is 16 ε64 |L| (what the float64 loss itself is known to: a derivative
  per unit change of a parameter cannot be resolved below it) plus 4 ε (|L| + |g_i|) with ε
  of the gradient's dtype (rounding of the gradient's own computation and storage).
  It decides where a whole gradient is tiny against the loss — e.g. an RNN whose
  readout weights are 1e-12, where O − y cancels to 4 digits in float64 and the derived
  gradient is right only to 1e-4 relative — and never at ordinary scales, where an error of
  one part in 10⁶ is far above it.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "EPS",
    "FLOOR",
    "OWN",
    "PATH",
    "depth_weighted",
    "dtype_name",
    "eps_of",
    "floor",
    "rtol_for",
]

EPS = float(np.finfo(np.float64).eps)
FLOOR = 16.0  # C of the float64 reference's part, C ε64 |L|
OWN = 4.0  # C' of the gradient's own part, C' ε (|L| + |g|)
PATH = 2.0  # roundings per step along BPTT's backward path: a product and a sum


def depth_weighted(shares: np.ndarray, start: int = 0) -> np.ndarray:
    """Σ_{t ≥ start} (T − t + 1) |share_t| for each entry: a first-order rounding model of a
    gradient computed by BPTT in a lower precision.  Step t's share is made from δ_t, which
    went through T − t + 1 backward steps of PATH roundings each; each rounding adds ε
    relative to what it rounds.  So entry i of the total is right to about
    PATH ε Σ_t (T − t + 1) |share_t,i| — the depth T and the magnitudes that entered — and
    not to 100 ε of its largest entry (10 % in float16, where a 5 % error passed)."""
    T = shares.shape[0]
    depth = np.arange(T, 0, -1, dtype=float).reshape((T,) + (1,) * (shares.ndim - 1))
    return (depth * np.abs(shares))[start:].sum(axis=0)


def bptt_rounding(shares: np.ndarray, eps: float) -> np.ndarray:
    """The rounding budget of each entry of a total Σ_t share_t computed by BPTT in a dtype
    of machine epsilon ``eps``: PATH ε Σ_t (T − t + 1)|share_t| (:func:`depth_weighted`) plus
    ε Σ_t max|share_t| (the inputs rounded to the dtype, one ε per step, spread over every
    entry as a matmul spreads it)."""
    T = shares.shape[0]
    inputs = eps * float(np.abs(shares).reshape(T, -1).max(axis=1, initial=0).sum())
    return PATH * eps * depth_weighted(shares) + inputs


def dtype_name(eps: float) -> str:
    """The dtype a machine epsilon belongs to: float64, float32, float16."""
    for dtype in (np.float64, np.float32, np.float16):
        if eps == float(np.finfo(dtype).eps):
            return np.dtype(dtype).name
    return f"ε={eps:.2g}"


def eps_of(array: np.ndarray) -> float:
    """ε of a gradient's dtype (float64 for anything else)."""
    dtype = np.asarray(array).dtype
    return float(np.finfo(dtype).eps) if dtype.kind == "f" else EPS


def rtol_for(rtol: float | None, default: float, eps: float) -> float:
    """The relative tolerance: the caller's, else the check's default, at least 100 ε of a
    lower-precision gradient's dtype."""
    if rtol is not None:
        if not np.isfinite(rtol) or rtol < 0:
            raise ValueError(f"rtol must be a finite number >= 0, got {rtol!r}")
        return float(rtol)
    return max(default, 100 * eps) if eps > EPS else default


def floor(eps: float, loss: float, gradient: np.ndarray | float) -> np.ndarray | float:
    """The rounding floor 16 ε64 |L| + 4 ε (|L| + |g|) for gradient entries ``gradient`` of a
    dtype with machine epsilon ``eps``."""
    magnitude = np.abs(np.asarray(gradient, dtype=np.float64))
    return FLOOR * EPS * abs(loss) + OWN * eps * (abs(loss) + magnitude)


def describe(rtol: float, eps: float, what: str) -> str:
    """The reason text of a tolerance: its relative part and its floor."""
    dtype = {EPS: "float64", float(np.finfo(np.float32).eps): "float32"}.get(
        eps, "float16" if eps == float(np.finfo(np.float16).eps) else f"ε={eps:.2g}"
    )
    return (
        f"{rtol:g} × {what} + rounding {FLOOR:g}ε64|L| + {OWN:g}ε_{dtype}(|L| + |g|)"
        if eps != EPS
        else f"{rtol:g} × {what} + rounding ε({FLOOR + OWN:g}|L| + {OWN:g}|g|)"
    )
