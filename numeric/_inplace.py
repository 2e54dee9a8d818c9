"""Elementwise kernels that write into buffers they are given: no allocation per call.

:func:`compile_inplace` turns derived SymPy expressions (after common subexpression
elimination) into a Python function of NumPy ufunc calls with ``out=``: every subexpression
goes into a scratch buffer that is reused from call to call, and every output is written into
the array the caller passes.  Allocating fresh arrays at every time step makes the allocator
hand memory back and fault it in again, which costs more than the arithmetic at RNN sizes.

Only float64 needs this; complex step and mpmath use the lambdified kernels.  Expressions with
anything but +, ×, integer powers, σ, tanh, exp and log are refused (the caller falls back).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp

__all__ = ["INPLACE_FROM", "compile_inplace"]

#: Entries per node array from which float64 kernels write in place, for the BPTT engine and
#: the Lyapunov stepper alike: measured at every size from 32 entries up, the in-place kernel
#: costs less than the lambdified one, which allocates its results and copies them.
INPLACE_FROM = 0


class _Unsupported(Exception):
    pass


class _Emitter:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.scratch = 0
        self.overflows = False  # whether σ's e^{-x} may overflow (to inf, correctly)

    def temp(self) -> str:
        self.scratch += 1
        return f"s[{self.scratch - 1}]"

    def value(self, expr: sp.Expr, names: dict[sp.Symbol, str]) -> str:
        """A name or literal holding ``expr``."""
        if expr in names:
            return names[expr]
        if expr.is_Number:
            return repr(float(expr))
        target = self.temp()
        self.into(expr, target, names)
        return target

    def into(self, expr: sp.Expr, target: str, names: dict[sp.Symbol, str]) -> None:
        """Lines that leave ``expr`` in the array ``target``."""
        emit = self.lines.append
        if expr in names or expr.is_Number:
            emit(f"np.copyto({target}, {self.value(expr, names)})")
        elif isinstance(expr, sp.Add):
            constant, rest = expr.as_coeff_Add()
            plus = [t for t in sp.Add.make_args(rest) if not t.could_extract_minus_sign()]
            minus = [-t for t in sp.Add.make_args(rest) if t.could_extract_minus_sign()]
            if plus:
                start = self.value(plus[0], names)
                if len(plus) > 1:
                    emit(f"np.add({start}, {self.value(plus[1], names)}, out={target})")
                elif minus:
                    emit(f"np.subtract({start}, {self.value(minus.pop(0), names)}, out={target})")
                else:
                    emit(f"np.copyto({target}, {start})")
                for term in plus[2:]:
                    emit(f"np.add({target}, {self.value(term, names)}, out={target})")
            else:  # c - x (- y ...): start from the constant
                emit(
                    f"np.subtract({float(constant)!r}, {self.value(minus.pop(0), names)}, "
                    f"out={target})"
                )
                constant = sp.S.Zero
            for term in minus:
                emit(f"np.subtract({target}, {self.value(term, names)}, out={target})")
            if constant != 0:
                emit(f"np.add({target}, {float(constant)!r}, out={target})")
        elif isinstance(expr, sp.Mul):
            coefficient, rest = expr.as_coeff_Mul()
            factors = list(sp.Mul.make_args(rest))
            first = self.value(factors[0], names)
            if len(factors) > 1:
                emit(f"np.multiply({first}, {self.value(factors[1], names)}, out={target})")
                first = target
            for factor in factors[2:]:
                emit(f"np.multiply({target}, {self.value(factor, names)}, out={target})")
            if coefficient == -1:
                emit(f"np.negative({first}, out={target})")
            elif coefficient != 1:
                emit(f"np.multiply({first}, {float(coefficient)!r}, out={target})")
            elif first != target:
                emit(f"np.copyto({target}, {first})")
        elif isinstance(expr, sp.Pow) and expr.exp.is_Integer:
            base = self.value(expr.base, names)
            power = int(expr.exp)
            if power == 2:
                emit(f"np.multiply({base}, {base}, out={target})")
            elif power == -1:
                emit(f"np.reciprocal({base}, out={target})")
            else:
                emit(f"np.power({base}, {float(power)!r}, out={target})")
        elif isinstance(expr, sp.Function) and len(expr.args) == 1:
            argument = self.value(expr.args[0], names)
            name = type(expr).__name__
            if name in ("sigma", "delta"):  # σ(x) = 1 / (1 + e^{-x}); e^{-x} = inf is right
                self.overflows = True
                emit(f"np.negative({argument}, out={target})")
                emit(f"np.exp({target}, out={target})")
                emit(f"np.add({target}, 1.0, out={target})")
                emit(f"np.reciprocal({target}, out={target})")
            elif name in ("tanh", "exp", "log"):
                emit(f"np.{name}({argument}, out={target})")
            else:
                raise _Unsupported(name)
        else:
            raise _Unsupported(type(expr).__name__)


def compile_inplace(inputs: Sequence[str], exprs: Sequence[sp.Expr]) -> tuple[Callable, int] | None:
    """``(function, scratch count)`` with ``function(inputs, outs, scratch)`` writing each
    expression into ``outs[i]``; None when an expression uses something it cannot write."""
    replacements, reduced = sp.cse(list(exprs), symbols=sp.numbered_symbols("_cse"))
    emitter = _Emitter()
    names = {sp.Symbol(name): f"a[{i}]" for i, name in enumerate(inputs)}
    # an output that is a common subexpression is computed in its output array, not copied
    direct: dict[sp.Expr, str] = {}
    for i, expr in enumerate(reduced):
        direct.setdefault(expr, f"o[{i}]")
    try:
        for symbol, expr in replacements:
            if symbol in direct:
                emitter.into(expr, direct[symbol], names)
                names[symbol] = direct[symbol]
            else:
                names[symbol] = emitter.value(expr, names)
        for i, expr in enumerate(reduced):
            if names.get(expr) != f"o[{i}]":
                emitter.into(expr, f"o[{i}]", names)
    except _Unsupported:
        return None
    lines = emitter.lines or ["pass"]
    if emitter.overflows:  # e^{-x} = inf inside σ(x) for x < -709 is right: silenced
        lines = ['with np.errstate(over="ignore"):', *(f"    {line}" for line in lines)]
    body = "\n".join(f"    {line}" for line in lines)
    source = f"def kernel(a, o, s):\n{body}\n"
    namespace: dict = {"np": np}
    exec(compile(source, "<bptt-check in-place kernel>", "exec"), namespace)  # noqa: S102
    return namespace["kernel"], emitter.scratch
