r"""Gradient checks against independent references, entry by entry or along a direction.

* :func:`complex_step` — Im L(θ + i h e_k)/h, exact to rounding (for an analytic loss);
* :func:`central_difference` — step per parameter from its scale, tolerance from an error
  estimate (two step sizes), so it still sees a 1e-6 relative error;
* :func:`direction` — one seeded random direction, O(1) forward passes whatever the number of
  parameters, compared by inner product with the gradient;
* :func:`taylor` — |L(θ+hd) − L(θ) − h⟨g,d⟩| shrinks at rate 2 only when g is right;
* :func:`high_precision` — mpmath at ``dps`` digits against ``mpmath.diff`` of the loss;
* :func:`check_gradient` — any of these on a plain Python loss of a dict of arrays.

Tolerances follow :mod:`numeric.checks.tolerance`: a relative part plus a rounding floor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import mpmath
import numpy as np

from . import problem as _p
from .problem import Problem
from .report import Comparison, Report, row
from .tolerance import (
    EPS,
    FLOOR,
    PATH,
    bptt_rounding,
    describe,
    dtype_name,
    eps_of,
    floor,
    rtol_for,
)

__all__ = [
    "central_difference",
    "check_gradient",
    "complex_step",
    "direction",
    "high_precision",
    "taylor",
]

Arrays = Mapping[str, np.ndarray]
_to_mpf = np.vectorize(mpmath.mpf, otypes=[object])


def _gradient(problem: Problem, gradient: Arrays | None, check: str) -> dict[str, np.ndarray]:
    _p.require_problem(problem, check)
    if gradient is None:
        return problem.gradient
    return _p.check_gradient_arrays(gradient, problem.point)


def _moved(point: Arrays, name: str, index: tuple[int, ...], delta: Any, dtype=None) -> dict:
    moved = {k: (v.astype(dtype) if dtype is not None else v.copy()) for k, v in point.items()}
    moved[name][index] = moved[name][index] + delta
    return moved


def _precision(problem: Problem, name: str, eps: float) -> np.ndarray | float | None:
    """The rounding budget of a float32/float16 gradient of a derived BPTT (a problem with
    the ``bptt`` attachment), entry by entry: :func:`tolerance.bptt_rounding` of the
    parameter's shares, PATH ε T max|∂L/∂s_0| for an initial state.  None in float64 or for a
    plain loss, whose computation is unknown (it keeps 100 ε × its scale)."""
    if eps <= EPS or problem.bptt is None:
        return None
    shares = problem.bptt.contributions.get(name)
    if shares is not None:
        return bptt_rounding(shares, eps)
    T = next(iter(problem.bptt.contributions.values())).shape[0]
    return PATH * eps * T * float(np.abs(problem.gradient[name]).max(initial=0))


def _at(precision, index):
    return precision[index] if isinstance(precision, np.ndarray) else precision


def _judged(r: float, eps: float, what: str, precision: float | None) -> str:
    """The tolerance's reason, naming the precision it was judged at."""
    if precision is None:
        return describe(r, eps, what)
    return (
        describe(r, EPS, what)
        + f" + {dtype_name(eps)} BPTT {PATH:g}ε Σ_t (T−t+1)|share_t| + ε Σ_t max|share_t| "
        f"(judged at {dtype_name(eps)})"
    )


def _truncation(h: float, loss: float) -> float:
    """Bound on the O(h²) error of a complex step (h² times a third derivative, taken as at
    most 1e3 max(1, |L|)): 1e-57 for h = 1e-30, so it matters only where the whole gradient of
    a parameter is that small."""
    return 1e3 * h * h * max(1.0, loss)


def complex_step(
    problem: Problem, gradient: Arrays | None = None, h: float = 1e-30, rtol: float | None = None
) -> Report:
    """Each gradient entry against Im L(θ + i h e_k)/h: no subtraction, so exact to rounding;
    tolerance ``rtol`` (1e-12 in float64) × the largest reference entry of that parameter
    plus the rounding floor."""
    g = _gradient(problem, gradient, "complex_step")
    L = _p.value(problem)
    _p.require_complex(problem, L, "complex_step")
    rows = []
    for name, value in problem.point.items():
        reference = np.empty(value.shape)
        for index in np.ndindex(value.shape):
            moved = _moved(problem.point, name, index, 1j * h, np.complex128)
            reference[index] = np.imag(problem.loss(moved)) / h
        eps = eps_of(g[name])
        precision = _precision(problem, name, eps)
        r = rtol_for(rtol, 1e-12, eps if precision is None else EPS)
        relative = r * np.abs(reference).max(initial=0)
        rounding = floor(eps, L, g[name])
        why = "complex step: " + _judged(r, eps, f"max |∂L/∂{name}|", precision) + " + O(h²)"
        for index in np.ndindex(value.shape):
            terms = {
                "relative": relative,
                "rounding": rounding[index],
                "truncation": _truncation(h, abs(L)),
            }
            if precision is not None:
                terms["precision"] = _at(precision, index)
            rows.append(
                row("complex-step", name, index, None, g[name][index], reference[index], terms, why)
            )
    return Report("complex-step", tuple(rows))


def central_difference(
    problem: Problem,
    gradient: Arrays | None = None,
    safety: float = 10.0,
    rtol: float | None = None,
) -> Report:
    """Each entry against (L(θ+h e) − L(θ−h e))/2h with h = ε^{1/3} max(1, max|θ_p|) per
    parameter p.  The tolerance is an error budget: ``safety`` × (the change between steps h
    and 2h, which estimates truncation, plus the rounding ε|L|/h), plus the gradient's own
    rounding floor (and ``rtol`` × scale for a float32/float16 gradient)."""
    g = _gradient(problem, gradient, "central_difference")
    L = _p.value(problem)
    rows = []
    for name, value in problem.point.items():
        h = EPS ** (1 / 3) * max(1.0, float(np.abs(value).max(initial=0)))

        def difference(step: float, name: str = name, index: tuple = ()) -> float:
            up = _p.scalar(problem.loss(_moved(problem.point, name, index, step)))
            down = _p.scalar(problem.loss(_moved(problem.point, name, index, -step)))
            return (up - down) / (2 * step)

        eps = eps_of(g[name])
        precision = _precision(problem, name, eps)
        r = rtol_for(rtol, 0.0, eps if precision is None else EPS)
        fine = np.empty(value.shape)
        spread = np.empty(value.shape)
        for index in np.ndindex(value.shape):
            fine[index] = difference(h, name, index)
            spread[index] = abs(fine[index] - difference(2 * h, name, index))
        relative = r * np.abs(fine).max(initial=0)
        rounding = floor(eps, L, g[name]) + safety * EPS * max(1.0, abs(L)) / h
        budget = _judged(r, eps, f"max |∂L/∂{name}|", precision)
        if r == 0:  # a float64 gradient: no relative part, only the budget and the floor
            budget = budget.split(" + ", 1)[1]
        why = f"error budget, h = {h:.2g}: {safety:g} × (|D(h) − D(2h)| + ε|L|/h) + {budget}"
        for index in np.ndindex(value.shape):
            terms = {
                "truncation": safety * spread[index],
                "rounding": rounding[index],
                "relative": relative,
            }
            if precision is not None:
                terms["precision"] = _at(precision, index)
            rows.append(
                row(
                    "central-difference", name, index, None, g[name][index], fine[index], terms, why
                )
            )
    return Report("central-difference", tuple(rows))


def _slope_floor(g: Arrays, d: Arrays, L: float) -> tuple[float, float, float]:
    """⟨g, d⟩, Σ|g_i d_i| and the rounding floor of ⟨g, d⟩: Σ_i floor_i |d_i|."""
    analytic = sum(float((np.asarray(g[k], np.float64) * d[k]).sum()) for k in d)
    magnitude = sum(float(np.abs(np.asarray(g[k], np.float64) * d[k]).sum()) for k in d)
    rounding = sum(float((floor(eps_of(g[k]), L, g[k]) * np.abs(d[k])).sum()) for k in d)
    return analytic, magnitude, rounding


def direction(
    problem: Problem,
    gradient: Arrays | None = None,
    seed: int = 0,
    h: float = 1e-30,
    rtol: float | None = None,
) -> Report:
    """⟨g, d⟩ along one seeded Gaussian direction d against the complex-step directional
    derivative Im L(θ + i h d)/h: one forward pass, whatever the number of parameters.
    Tolerance ``rtol`` × Σ|g_i d_i| plus the rounding floor Σ_i floor_i |d_i|."""
    g = _gradient(problem, gradient, "direction")
    seed = _p.check_seed(seed)
    L = _p.value(problem)
    _p.require_complex(problem, L, "direction", seed)
    d = _p.direction(problem.point, seed)
    moved = {k: v + 1j * h * d[k] for k, v in problem.point.items()}
    reference = float(np.imag(problem.loss(moved)) / h)
    analytic, magnitude, rounding = _slope_floor(g, d, L)
    eps = max(eps_of(v) for v in g.values())
    precisions = {k: _precision(problem, k, eps_of(g[k])) for k in d}
    known = all(p is not None for p in precisions.values()) and eps > EPS
    r = rtol_for(rtol, 1e-12, EPS if known else eps)
    terms = {"relative": r * magnitude, "rounding": rounding, "truncation": _truncation(h, abs(L))}
    if known:  # each parameter's budget times Σ|d| over its entries
        terms["precision"] = sum(float((p * np.abs(d[k])).sum()) for k, p in precisions.items())
    why = (
        f"complex step along d (seed {seed}): "
        + _judged(r, eps, "Σ|g_i d_i|", 0.0 if known else None)
        + " + O(h²)"
    )
    return Report(
        "direction", (row("direction", "all", None, None, analytic, reference, terms, why),)
    )


def taylor(
    problem: Problem,
    gradient: Arrays | None = None,
    seed: int = 0,
    min_rate: float = 1.8,
    dps: int = 30,
) -> Report:
    """The remainder r(h) = |L(θ+hd) − L(θ) − h⟨g,d⟩| for h = 2^-2 … 2^-40 (scaled by 1/|d|):
    it falls at rate 2 when g is right and at rate 1 when it is not.  The rate is the median of
    the last five halvings above the floor: the loss's rounding (10^{-(dps-5)}|L| in mpmath at
    ``dps`` digits for a loss that takes mpmath arrays, 16 ε|L| in float64 for a plain NumPy
    loss) plus h × the rounding floor of ⟨g, d⟩ (a float32 gradient is right only to its ε).
    In float64 the window between truncation and rounding is narrow: it resolves errors of
    about 1e-5 relative; in mpmath, 1e-6 and below."""
    g = _gradient(problem, gradient, "taylor")
    seed = _p.check_seed(seed)
    L = _p.value(problem)
    d = _p.direction(problem.point, seed)
    _, _, slope_floor = _slope_floor(g, d, L)
    if _p.mpmath_safe(problem, L)[0]:
        return _taylor_mp(problem, g, d, seed, min_rate, dps, slope_floor)
    norm = float(np.sqrt(sum(float((v**2).sum()) for v in d.values())))
    slope = sum(float((np.asarray(g[k], np.float64) * d[k]).sum()) for k in d)
    residuals, floors = [], []
    for k in range(2, 41):
        h = 2.0**-k / norm
        moved = {name: v + h * d[name] for name, v in problem.point.items()}
        Lh = _p.scalar(problem.loss(moved))
        residuals.append(abs(Lh - L - h * slope))
        floors.append(FLOOR * EPS * (abs(L) + abs(Lh)) + h * slope_floor)
    return _verdict(residuals, floors, min_rate, "float64 (the loss takes no mpmath arrays)")


def _taylor_mp(problem, g, d, seed, min_rate, dps, slope_floor) -> Report:
    with mpmath.workdps(dps):
        point = {k: _to_mpf(v) for k, v in problem.point.items()}
        norm = mpmath.sqrt(sum(mpmath.mpf(float((v**2).sum())) for v in d.values()))
        slope = sum(
            mpmath.mpf(float(x)) * mpmath.mpf(float(y))
            for k in problem.point
            for x, y in zip(np.ravel(g[k]), np.ravel(d[k]), strict=True)
        )
        L0 = problem.loss(point)
        residuals, floors = [], []
        base = mpmath.mpf(10) ** -(dps - 5) * max(1, abs(L0))
        for k in range(2, 41):
            h = mpmath.mpf(2) ** -k / norm
            moved = {name: v + h * _to_mpf(d[name]) for name, v in point.items()}
            residuals.append(abs(problem.loss(moved) - L0 - h * slope))
            floors.append(base + h * slope_floor)
        above = [r > f for r, f in zip(residuals, floors, strict=True)]
        pairs = sum(a and b for a, b in zip(above, above[1:], strict=False))
    if pairs < 3 and any(above) and dps < 120:  # fell under rounding within a few halvings
        return _taylor_mp(problem, g, d, seed, min_rate, 2 * dps, slope_floor)
    return _verdict(residuals, floors, min_rate, f"mpmath, {dps} digits")


def _verdict(residuals, floors, min_rate, how) -> Report:
    above = [r > f for r, f in zip(residuals, floors, strict=True)]
    rates = [
        float(mpmath.log(a / b, 2))
        for a, b, keep_a, keep_b in zip(residuals, residuals[1:], above, above[1:], strict=False)
        if keep_a and keep_b
    ]
    if len(rates) >= 3:
        rate = float(np.median(rates[-5:]))
        why = (
            f"median remainder rate of the last {min(len(rates), 5)} of {len(rates)} "
            f"halvings above rounding ({how}; ≥ {min_rate})"
        )
    elif not any(above):  # L is linear along d to rounding: g·d predicts it exactly
        rate = 2.0
        why = f"the remainder is below rounding at every h ({how}): the first-order term is exact"
    else:
        rate = 0.0
        why = f"only {len(rates)} halvings above rounding ({how}): too few to read a rate"
    why = f"{why}; observed rate {rate:.3g}"
    # a rate above 2 (the quadratic term vanishes along d) is as right as 2: compare min(rate, 2)
    terms = {"rate": 2.0 - min_rate}
    return Report("taylor", (row("taylor", "all", None, None, min(rate, 2.0), 2.0, terms, why),))


def high_precision(
    problem: Problem, gradient: Arrays | None = None, dps: int = 50, rtol: float | None = None
) -> Report:
    """The gradient against ``mpmath.diff`` of the loss at ``dps`` digits, entry by entry.  With
    the BPTT attachment and no ``gradient``, the derived gradient is itself evaluated in mpmath
    (tolerance 10^{-(dps-10)} × the parameter's largest entry + 10^{-dps} max(1, |L|));
    a float gradient (yours, or a plain problem's) is right only to its rounding: 1e-13 (or
    100 ε of a lower precision) × scale + the rounding floor.  Needs a loss that evaluates on
    object arrays of mpmath numbers (every numeric.Model loss does)."""
    _p.require_problem(problem, "high_precision")
    L = _p.value(problem)
    _p.require_mpmath(problem, L, "high_precision")
    derived = gradient is None and problem.bptt is not None
    g = None if derived else _gradient(problem, gradient, "high_precision")
    rows = []
    with mpmath.workdps(dps):
        point = {k: _to_mpf(v) for k, v in problem.point.items()}
        analytic = (
            problem.bptt.gradient_of(point)
            if derived
            else {k: np.asarray(v, dtype=np.float64).astype(object) for k, v in g.items()}
        )
        mp_value = abs(problem.loss(point))
        for name, value in point.items():
            reference = np.empty(value.shape, dtype=object)
            for index in np.ndindex(value.shape):

                def along(s, name=name, index=index):
                    return problem.loss(_moved(point, name, index, s))

                reference[index] = mpmath.diff(along, 0)
            scale = max(abs(r) for r in reference.flat)
            working = float(mpmath.mpf(10) ** -dps * max(1, mp_value))
            if derived:
                eps, r = 0.0, (10.0 ** -(dps - 10) if rtol is None else rtol)
                why = f"mpmath at {dps} digits: {r:.0e} × max |∂L/∂{name}| + 1e-{dps} max(1, |L|)"
            else:
                eps = eps_of(g[name])
                precision = _precision(problem, name, eps)
                r = rtol_for(rtol, 1e-13, eps if precision is None else EPS)
                why = f"mpmath at {dps} digits: " + _judged(r, eps, f"max |∂L/∂{name}|", precision)
            for index in np.ndindex(value.shape):
                a, ref = analytic[name][index], reference[index]
                terms = {"relative": float(r * scale), "working precision": working}
                if not derived:
                    terms["rounding"] = float(floor(eps, L, float(a)))
                    if precision is not None:
                        terms["precision"] = float(_at(precision, index))
                c = row("high-precision", name, index, None, a, ref, terms, why)
                fields_ = {f.name: getattr(c, f.name) for f in fields(Comparison)}
                rows.append(_MpComparison(**fields_, mp_error=abs(a - ref)))
    return Report("high-precision", tuple(rows))


@dataclass(frozen=True)
class _MpComparison(Comparison):
    """A comparison whose error was measured in mpmath (float64 cannot hold a 1e-45 error)."""

    mp_error: Any = None

    @property
    def abs_error(self) -> float:
        return float(self.mp_error)


METHODS: dict[str, Callable[..., Report]] = {
    "complex_step": complex_step,
    "central_difference": central_difference,
    "direction": direction,
    "taylor": taylor,
    "high_precision": high_precision,
    "mpmath": high_precision,
}


def check_gradient(
    loss: Callable[[Arrays], Any],
    point: Mapping[str, Any],
    gradient: Mapping[str, Any],
    *,
    method: str = "auto",
    rtol: float | None = None,
    atol: float | None = None,
    seed: int = 0,
) -> Report:
    """Check ``gradient`` (a dict of arrays) of any Python ``loss`` of a dict of arrays at
    ``point``.  ``method``: ``"auto"`` (complex step when the loss is complex-safe — probed
    along a seeded direction — else central differences), ``"complex_step"``,
    ``"central_difference"``, ``"direction"``, ``"taylor"`` or ``"mpmath"`` (needs a loss
    written for object arrays of mpmath numbers).  ``rtol`` replaces the method's relative
    tolerance, ``atol`` adds an absolute one.

    >>> import numpy as np
    >>> loss = lambda p: np.sum(np.tanh(p["w"]) ** 2)
    >>> w = np.array([0.5, -1.0])
    >>> right = {"w": 2 * np.tanh(w) / np.cosh(w) ** 2}
    >>> bool(check_gradient(loss, {"w": w}, right))
    True
    >>> bool(check_gradient(loss, {"w": w}, {"w": 2 * np.tanh(w)}))
    False
    """
    if not callable(loss):
        raise ValueError(f"loss must be a function of a dict of arrays, got {type(loss).__name__}")
    if method != "auto" and method not in METHODS:
        raise ValueError(f"method must be one of {['auto', *METHODS]}, got {method!r}")
    if atol is not None and (not np.isfinite(atol) or atol < 0):
        raise ValueError(f"atol must be a finite number >= 0, got {atol!r}")
    seed = _p.check_seed(seed)
    problem = Problem(getattr(loss, "__name__", "loss"), point, loss, gradient)
    L = _p.value(problem)
    summary = ""
    if method == "auto":
        safe, reason = _p.complex_safe(problem, L, seed)
        method = "complex_step" if safe else "central_difference"
        summary = f"method auto: {method.replace('_', ' ')} ({reason})"
    check = METHODS[method]
    kwargs: dict[str, Any] = {}
    if method in ("direction", "taylor"):
        kwargs["seed"] = seed
    if rtol is not None and method != "taylor":
        kwargs["rtol"] = rtol
    report = check(problem, **kwargs)
    if atol:
        report = Report(
            report.check,
            tuple(
                row(
                    c.check,
                    c.parameter,
                    c.index,
                    c.step,
                    c.analytic,
                    c.reference,
                    {**dict(c.terms), "atol": atol},
                    f"{c.why} + atol {atol:g}",
                )
                for c in report.comparisons
            ),
        )
    return Report(report.check, report.comparisons, summary) if summary else report
