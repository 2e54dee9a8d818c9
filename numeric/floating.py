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

__all__ = ["FORMULAS", "MONOTONE", "extremes", "saturation_threshold", "underflow_threshold"]

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


#: Formulas whose computed value never decreases as x grows (the others are not searchable
#: by bisection: e^x/(1 + e^x) alternates between 1 and 1 - ulp before it reaches 1 for good).
MONOTONE = ("1/(1+exp(-x))", "(1+tanh(x/2))/2")


def _bisect(dtype: np.dtype, function: Formula, low: float, high: float, target: float):
    """The float of ``dtype`` between positive ``low`` and ``high`` where ``function`` first
    equals ``target`` (going up); bit patterns of positive floats are ordered like floats."""
    unsigned = _BITS[dtype]
    low_bits = np.array(low, dtype).view(unsigned)
    high_bits = np.array(high, dtype).view(unsigned)
    while int(high_bits) - int(low_bits) > 1:
        middle = unsigned(int(low_bits) + (int(high_bits) - int(low_bits)) // 2)
        if _evaluate(function, np.array(middle).view(dtype)) == target:
            high_bits = middle
        else:
            low_bits = middle
    return np.array(high_bits).view(dtype)[()]


def saturation_threshold(dtype: type = np.float64, formula: str = "1/(1+exp(-x))") -> np.floating:
    """The smallest positive x of ``dtype`` at which ``formula`` gives exactly 1 (and stays
    1 above it: the formula must be one of :data:`MONOTONE`)."""
    if formula not in MONOTONE:
        raise ValueError(f"{formula!r} is not monotone in floating point; use one of {MONOTONE}")
    dtype = np.dtype(dtype)
    return _bisect(dtype, FORMULAS[formula], 0, np.finfo(dtype).max, 1)


def underflow_threshold(dtype: type = np.float64) -> np.floating:
    """The largest x of ``dtype`` (negative) at which 1/(1 + e^{-x}) is exactly 0: below it
    0 < σ(x) fails in floating point."""
    dtype = np.dtype(dtype)
    mirrored = lambda x: _evaluate(FORMULAS["1/(1+exp(-x))"], -x)  # noqa: E731
    return -_bisect(dtype, mirrored, 0, np.finfo(dtype).max, 0)


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
