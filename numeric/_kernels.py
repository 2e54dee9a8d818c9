"""Compiling SymPy expressions from :mod:`derivations` into array functions.

One :class:`Kernel` is a group of elementwise expressions lambdified together with common
subexpression elimination; it runs on float64 and complex128 arrays (complex step) through
NumPy and on object arrays of ``mpmath.mpf`` (high precision) through mpmath.  The only
functions implemented here are the activations themselves, never a derivative: σ is the
logistic function of :class:`derivations.activations.sigma`, evaluated without overflow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import mpmath
import numpy as np
import sympy as sp

__all__ = ["Kernel", "sigmoid"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^{-x}) for real or complex arrays (eq. (1), (2), (8), (9), (12)).

    Real x: e^{-x} overflows to inf for x < -709 and 1/(1 + inf) = 0 is the correct limit, so
    that overflow is expected and silenced; relative accuracy is kept on both tails.  Complex x
    (complex step): branches on the real part, each the same analytic function, never overflow.
    """
    x = np.asarray(x)
    if x.dtype.kind == "c":
        positive = x.real >= 0
        e = np.exp(np.where(positive, -x, x))
        return np.where(positive, 1 / (1 + e), e / (1 + e))
    with np.errstate(over="ignore"):
        e = np.exp(-x)
    e += 1
    return np.reciprocal(e, out=e)


def _mp_sigmoid(x: mpmath.mpf) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-x))


_to_mpf = np.vectorize(mpmath.mpf, otypes=[object])

_NUMPY_MODULES = [{"sigma": sigmoid, "delta": sigmoid}, "numpy"]
_MPMATH_MODULES = [{"sigma": _mp_sigmoid, "delta": _mp_sigmoid}, "mpmath"]


@dataclass(frozen=True)
class Kernel:
    """Elementwise expressions ``outputs[i] = exprs[i]`` of the named ``inputs``, compiled once."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    exprs: tuple[sp.Expr, ...] = field(repr=False)

    @classmethod
    def build(cls, exprs: Mapping[str, sp.Expr]) -> Kernel:
        symbols = set().union(*(sp.sympify(e).free_symbols for e in exprs.values()))
        inputs = tuple(sorted(s.name for s in symbols))
        return cls(inputs, tuple(exprs), tuple(sp.sympify(e) for e in exprs.values()))

    def _lambdify(self, modules: list, cse: bool) -> Callable:
        args = [sp.Symbol(name) for name in self.inputs]
        return sp.lambdify(args, list(self.exprs), modules=modules, cse=cse)

    @cached_property
    def numpy(self) -> Callable[..., Sequence[np.ndarray]]:
        return self._lambdify(_NUMPY_MODULES, cse=True)

    @cached_property
    def mpmath(self) -> Callable[..., tuple]:
        scalar = self._lambdify(_MPMATH_MODULES, cse=True)
        ufunc = np.frompyfunc(scalar, max(len(self.inputs), 1), 1)

        def evaluate(*arrays: np.ndarray) -> list[np.ndarray]:
            packed = ufunc(*arrays)  # an object array of lists, one list per entry
            return [
                np.frompyfunc(lambda entry, i=i: entry[i], 1, 1)(packed).astype(object)
                for i in range(len(self.outputs))
            ]

        return evaluate

    @cached_property
    def inplace(self) -> tuple[Callable, int] | None:
        """The float64 kernel writing into given buffers (:mod:`numeric._inplace`)."""
        from ._inplace import compile_inplace

        return compile_inplace(self.inputs, self.exprs)

    @cached_property
    def _constant(self) -> tuple[int, ...]:
        """Outputs that do not depend on every input's shape (constants), to broadcast."""
        return tuple(i for i, e in enumerate(self.exprs) if len(e.free_symbols) == 0)

    def run(self, arrays: Sequence[np.ndarray], high_precision: bool = False) -> list:
        """The outputs for ``arrays`` given in the order of ``self.inputs``; ``high_precision``
        when any of them holds mpmath numbers."""
        if high_precision:  # a float left among mpf numbers would round 1 − y to float64
            arrays = [a if np.asarray(a).dtype == object else _to_mpf(a) for a in arrays]
            results = self.mpmath(*arrays)
        else:
            results = self.numpy(*arrays)
        if self._constant:
            shape = np.broadcast_shapes(*(np.shape(a) for a in arrays)) if arrays else ()
            results = [
                np.broadcast_to(r, shape) if i in self._constant else r
                for i, r in enumerate(results)
            ]
        return results

    def __call__(self, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        arrays = [values[name] for name in self.inputs]
        high_precision = any(np.asarray(a).dtype == object for a in arrays)
        return dict(zip(self.outputs, self.run(arrays, high_precision), strict=True))
