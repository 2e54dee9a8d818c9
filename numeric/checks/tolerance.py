r"""The tolerance model of every check: a relative part and a rounding floor.

    tolerance = rtol × scale  +  C ε (magnitudes that entered)  [+ truncation of the method]

* ``rtol`` is the check's own (1e-12 for complex step in float64); for a float32 or float16
  gradient it is at least 100 ε of that dtype: a lower-precision gradient is checked against
  the float64 reference with its own budget, neither refused nor failed at 1e-12;
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

__all__ = ["EPS", "FLOOR", "OWN", "eps_of", "floor", "rtol_for"]

EPS = float(np.finfo(np.float64).eps)
FLOOR = 16.0  # C of the float64 reference's part, C ε64 |L|
OWN = 4.0  # C' of the gradient's own part, C' ε (|L| + |g|)


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
