r"""σ in floating point: where the computed σ(x) becomes exactly 1, and whether it can exceed 1
or give NaN (the premise "σ never exceeds 1" of the argument after eq. (14)).

Each formula is evaluated in the given precision (float16, float32, float64) on the whole
float grid by bisection over the bit patterns of positive floats, so the threshold is the
exact smallest representable x, not an estimate.

>>> saturation_threshold(np.float32)
np.float32(16.635532)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["FORMULAS", "extremes", "saturation_threshold"]

Formula = Callable[[np.ndarray], np.ndarray]

#: Common ways to compute σ, each evaluated entirely in the precision of its argument.
FORMULAS: dict[str, Formula] = {
    "1/(1+exp(-x))": lambda x: 1 / (1 + np.exp(-x)),
    "exp(x)/(1+exp(x))": lambda x: np.exp(x) / (1 + np.exp(x)),
    "(1+tanh(x/2))/2": lambda x: (1 + np.tanh(x / 2)) / 2,
}

_BITS = {
    np.dtype(np.float16): np.uint16,
    np.dtype(np.float32): np.uint32,
    np.dtype(np.float64): np.uint64,
}


def _evaluate(formula: Formula, x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):  # overflow to inf is part of what is measured
        return formula(x)


def saturation_threshold(dtype: type = np.float64, formula: str = "1/(1+exp(-x))") -> np.floating:
    """The smallest positive x of ``dtype`` at which ``formula`` gives exactly 1."""
    dtype = np.dtype(dtype)
    unsigned = _BITS[dtype]
    function = FORMULAS[formula]
    low = np.array(0, dtype).view(unsigned)  # σ(0) = 1/2 < 1
    high = np.array(np.finfo(dtype).max, dtype).view(unsigned)

    def past(bits) -> bool:  # 1, or NaN where a formula overflows first (then inf/inf)
        value = _evaluate(function, np.array(bits).view(dtype))
        return bool(value == 1 or np.isnan(value))

    while int(high) - int(low) > 1:  # bit patterns of positive floats are ordered like floats
        middle = unsigned(int(low) + (int(high) - int(low)) // 2)
        high, low = (middle, low) if past(middle) else (high, middle)
    x = np.array(high).view(dtype)[()]
    if _evaluate(function, x) != 1:
        raise ValueError(f"{formula} gives NaN before it reaches 1 in {dtype}")
    return x


def extremes(dtype: type = np.float64, formula: str = "1/(1+exp(-x))") -> dict[str, float | bool]:
    """The largest value and whether NaN appears, over every float of ``dtype`` from -max to
    max sampled densely (all of float16; 2^16 + 1 points spread over the others)."""
    dtype = np.dtype(dtype)
    if dtype == np.float16:
        x = np.arange(2**16, dtype=np.uint16).view(np.float16)
        x = x[np.isfinite(x)]
    else:
        big = np.finfo(dtype).max
        with np.errstate(over="ignore"):  # geomspace's own power() may overflow at the end
            x = np.concatenate(
                [
                    np.linspace(-100, 100, 2**16 + 1, dtype=dtype),
                    np.geomspace(100, big, 512, dtype=dtype),
                    -np.geomspace(100, big, 512, dtype=dtype),
                ]
            )
    y = _evaluate(FORMULAS[formula], x)
    return {
        "max": float(np.nanmax(y)),
        "exceeds_one": bool(np.nanmax(y) > 1),
        "nan": bool(np.isnan(y).any()),
    }
