r"""Gradient checks of the derived BPTT (eq. (4)-(6), (8)-(13)) against independent references.

Every check takes a :class:`Problem` — a scalar loss of named arrays with the derived gradient
at a point — and, optionally, another gradient to check in its place (your own code's, or a
deliberately wrong one).  Each returns a :class:`Report` of :class:`Comparison` rows: the
analytic and reference values, absolute and relative error, the tolerance and why it is that
tolerance, and where: parameter, index, time step.

* :func:`complex_step` — Im L(θ + i h e_k)/h, exact to rounding (the cells are analytic);
* :func:`central_difference` — step per parameter from its scale, tolerance from an error
  estimate (two step sizes), so it still sees a 1e-6 relative error;
* :func:`direction` — one seeded random direction, O(1) forward passes whatever the number of
  parameters, compared by inner product with the gradient;
* :func:`taylor` — |L(θ+hd) − L(θ) − h⟨g,d⟩| shrinks at rate 2 only when g is right;
* :func:`high_precision` — the same derived expressions in mpmath against ``mpmath.diff``;
* :func:`per_step` — BPTT-aware: the adjoints δ_t, ā_t and each step's share of every
  parameter gradient, with tolerances relative to that step's own scale.  A global tolerance
  accepts a backward pass that drops every path older than a few steps whenever the gradient
  vanishes; this one does not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

__all__ = [
    "Comparison",
    "Problem",
    "Report",
    "central_difference",
    "complex_step",
    "direction",
    "high_precision",
    "per_step",
    "taylor",
]

EPS = float(np.finfo(np.float64).eps)
_to_mpf = np.vectorize(mpmath.mpf, otypes=[object])
Arrays = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Comparison:
    """One analytic value against its reference, with the tolerance and the reason for it."""

    check: str
    parameter: str
    index: tuple[int, ...] | None
    step: int | None  # time step t, counted from 1, for per-step comparisons
    analytic: float
    reference: float
    tolerance: float
    why: str

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.reference)

    @property
    def rel_error(self) -> float:
        scale = max(abs(self.reference), abs(self.analytic))
        return self.abs_error / scale if scale else 0.0

    @property
    def passed(self) -> bool:
        return self.abs_error <= self.tolerance

    @property
    def ratio(self) -> float:
        """|error| / tolerance (inf for an error against a zero tolerance)."""
        error, tol = float(self.abs_error), float(self.tolerance)
        if error == 0:
            return 0.0
        return math.exp(math.log(error) - math.log(tol)) if tol > 0 else math.inf

    def __str__(self) -> str:
        where = self.parameter + ("" if self.index is None else str(list(self.index)))
        when = "" if self.step is None else f" at t={self.step}"
        return (
            f"{self.check}: {where}{when}: analytic {self.analytic:.17g}, reference "
            f"{self.reference:.17g}, |err| {self.abs_error:.3g} vs tol {self.tolerance:.3g}"
            f" ({self.why})"
        )


@dataclass(frozen=True)
class Report:
    """All comparisons of one check; ``passed`` when every one is within its tolerance."""

    check: str
    comparisons: tuple[Comparison, ...]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.comparisons)

    @property
    def failures(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if not c.passed)

    @property
    def worst(self) -> Comparison:
        """The comparison closest to (or furthest past) its tolerance."""
        return max(self.comparisons, key=lambda c: c.ratio)

    def __str__(self) -> str:
        status = "passed" if self.passed else f"FAILED {len(self.failures)} of"
        return f"{self.check}: {status} {len(self.comparisons)} comparisons; worst: {self.worst}"


@dataclass(frozen=True)
class Problem:
    """A scalar loss of named arrays (parameters and initial states) at a point, with the
    derived gradient and, for the BPTT-aware check, the derived per-step quantities.

    ``loss`` evaluates on float64, complex128 or mpmath-object arrays of the same shapes;
    ``loss_with_offsets`` adds ``offsets[(node, t)]`` to a node at step t (see
    :meth:`numeric._engine.Plan.forward`); ``gradient_of`` runs the derived gradient on any
    such arrays; ``outer[weight]`` is (affine node, operand values (T, B, cols)) and
    ``bias[b]`` the affine node of a bias, which give each step's reference share of the
    parameter gradients from the reference node adjoints."""

    name: str
    point: dict[str, np.ndarray]
    loss: Callable[[Arrays], Any]
    gradient: dict[str, np.ndarray]
    gradient_of: Callable[[Arrays], dict[str, np.ndarray]] = field(repr=False)
    loss_with_offsets: Callable[[Mapping[tuple[str, int], np.ndarray]], Any] = field(repr=False)
    nodes: dict[str, np.ndarray] = field(repr=False)
    contributions: dict[str, np.ndarray] = field(repr=False)
    outer: dict[str, tuple[str, np.ndarray]] = field(repr=False)
    bias: dict[str, str] = field(repr=False)


def _entries(point: Arrays):
    for name, value in point.items():
        for index in np.ndindex(value.shape):
            yield name, index


def _moved(point: Arrays, name: str, index: tuple[int, ...], delta: Any, dtype=None) -> dict:
    moved = {k: (v.astype(dtype) if dtype is not None else v.copy()) for k, v in point.items()}
    moved[name][index] = moved[name][index] + delta
    return moved


def _truncation(h: float, loss: float) -> float:
    """Bound on the O(h²) error of a complex step (h² times a third derivative, taken as at
    most 1e3 max(1, |L|)): 1e-57 for h = 1e-30, so it matters only where the whole gradient of
    a parameter is that small."""
    return 1e3 * h * h * max(1.0, loss)


def complex_step(
    problem: Problem, gradient: Arrays | None = None, h: float = 1e-30, rtol: float = 1e-12
) -> Report:
    """Each gradient entry against Im L(θ + i h e_k)/h: no subtraction, so exact to rounding;
    tolerance ``rtol`` × the largest reference entry of that parameter."""
    gradient = problem.gradient if gradient is None else gradient
    value_at = abs(complex(problem.loss(problem.point)))
    rows = []
    for name, value in problem.point.items():
        reference = np.empty(value.shape)
        for index in np.ndindex(value.shape):
            moved = _moved(problem.point, name, index, 1j * h, np.complex128)
            reference[index] = np.imag(problem.loss(moved)) / h
        tol = rtol * np.abs(reference).max() + _truncation(h, value_at)
        why = f"complex step, exact to rounding: {rtol:g} × max |∂L/∂{name}| + O(h²) truncation"
        rows += [
            Comparison(
                "complex-step",
                name,
                index,
                None,
                float(gradient[name][index]),
                float(reference[index]),
                tol,
                why,
            )
            for index in np.ndindex(value.shape)
        ]
    return Report("complex-step", tuple(rows))


def central_difference(
    problem: Problem, gradient: Arrays | None = None, safety: float = 10.0
) -> Report:
    """Each entry against (L(θ+h e) − L(θ−h e))/2h with h = ε^{1/3} max(1, max|θ_p|) per
    parameter p.  The tolerance is an error budget: ``safety`` × (the change between steps h
    and 2h, which estimates truncation, plus the rounding ε|L|/h)."""
    gradient = problem.gradient if gradient is None else gradient
    value_at = abs(float(problem.loss(problem.point)))
    rows = []
    for name, value in problem.point.items():
        h = EPS ** (1 / 3) * max(1.0, float(np.abs(value).max()))

        def difference(step: float, name: str = name, index: tuple = ()) -> float:
            up = problem.loss(_moved(problem.point, name, index, step))
            down = problem.loss(_moved(problem.point, name, index, -step))
            return float(up - down) / (2 * step)

        for index in np.ndindex(value.shape):
            fine, coarse = difference(h, name, index), difference(2 * h, name, index)
            tol = safety * (abs(fine - coarse) + EPS * max(1.0, value_at) / h)
            why = f"error budget, h = {h:.2g}: {safety:g} × (|D(h) − D(2h)| + ε|L|/h)"
            rows.append(
                Comparison(
                    "central-difference",
                    name,
                    index,
                    None,
                    float(gradient[name][index]),
                    fine,
                    tol,
                    why,
                )
            )
    return Report("central-difference", tuple(rows))


def _direction(problem: Problem, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(value.shape) for name, value in problem.point.items()}


def direction(
    problem: Problem,
    gradient: Arrays | None = None,
    seed: int = 0,
    h: float = 1e-30,
    rtol: float = 1e-12,
) -> Report:
    """⟨g, d⟩ along one seeded Gaussian direction d against the complex-step directional
    derivative Im L(θ + i h d)/h: one forward pass, whatever the number of parameters."""
    gradient = problem.gradient if gradient is None else gradient
    d = _direction(problem, seed)
    moved = {k: v + 1j * h * d[k] for k, v in problem.point.items()}
    reference = float(np.imag(problem.loss(moved)) / h)
    terms = [np.asarray(gradient[k]) * d[k] for k in problem.point]
    analytic = float(sum(t.sum() for t in terms))
    value_at = abs(complex(problem.loss(problem.point)))
    tol = rtol * sum(float(np.abs(t).sum()) for t in terms) + _truncation(h, value_at)
    why = f"complex step along d (seed {seed}): {rtol:g} × Σ|g_i d_i| + O(h²) truncation"
    return Report(
        "direction", (Comparison("direction", "all", None, None, analytic, reference, tol, why),)
    )


def taylor(
    problem: Problem,
    gradient: Arrays | None = None,
    seed: int = 0,
    min_rate: float = 1.8,
    dps: int = 30,
) -> Report:
    """The remainder r(h) = |L(θ+hd) − L(θ) − h⟨g,d⟩| for h = 2^-2 … 2^-40 (scaled by 1/|d|):
    it falls at rate 2 when g is right and at rate 1 when it is not.  No step to choose: the
    loss is evaluated in mpmath at ``dps`` digits, so rounding stays far below r, and the rate
    is the median of the last five halvings above 10^{-(dps-5)} |L| — where a wrong gradient's
    linear term has taken over."""
    gradient = problem.gradient if gradient is None else gradient
    d = _direction(problem, seed)
    with mpmath.workdps(dps):
        point = {k: _to_mpf(v) for k, v in problem.point.items()}
        norm = mpmath.sqrt(sum(mpmath.mpf(float((v**2).sum())) for v in d.values()))
        slope = sum(
            mpmath.mpf(float(x)) * mpmath.mpf(float(y))
            for k in problem.point
            for x, y in zip(np.ravel(gradient[k]), np.ravel(d[k]), strict=True)
        )
        L0 = problem.loss(point)
        residuals = []
        for k in range(2, 41):
            h = mpmath.mpf(2) ** -k / norm
            moved = {name: v + h * _to_mpf(d[name]) for name, v in point.items()}
            residuals.append(abs(problem.loss(moved) - L0 - h * slope))
        floor = mpmath.mpf(10) ** -(dps - 5) * max(1, abs(L0))
        rates = [
            float(mpmath.log(a / b, 2))
            for a, b in zip(residuals, residuals[1:], strict=False)
            if a > floor and b > floor
        ]
    if len(rates) >= 3:
        rate = float(np.median(rates[-5:]))
        why = (
            f"median remainder rate of the last {min(len(rates), 5)} of {len(rates)} "
            f"halvings above rounding (mpmath, {dps} digits; ≥ {min_rate})"
        )
    elif all(r <= floor for r in residuals):  # L is linear along d: g·d predicts it exactly
        rate = 2.0
        why = f"the remainder is 0 to {dps} digits at every h: the first-order term is exact"
    elif dps < 120:  # a remainder that falls under rounding within a few halvings: more digits
        return taylor(problem, gradient, seed, min_rate, 2 * dps)
    else:
        rate = 0.0
        why = f"only {len(rates)} halvings above rounding: too few to read a rate"
    # a rate above 2 (the quadratic term vanishes along d) is as right as 2: compare min(rate, 2)
    why = f"{why}; observed rate {rate:.3g}"
    return Report(
        "taylor",
        (Comparison("taylor", "all", None, None, min(rate, 2.0), 2.0, 2.0 - min_rate, why),),
    )


def high_precision(
    problem: Problem, gradient: Arrays | None = None, dps: int = 50, rtol: float | None = None
) -> Report:
    """The derived gradient evaluated in mpmath at ``dps`` digits (the same expressions, through
    mpmath) against ``mpmath.diff`` of the loss, entry by entry.  Tolerance: 10^{-(dps-10)},
    or 1e-13 for a float64 ``gradient`` you pass, or ``rtol``, times the parameter's largest
    entry; plus the working precision 10^{-dps} max(1, |L|) for a gradient that is 0 up to
    rounding."""
    if rtol is None:  # a float64 gradient given by the caller can only be right to rounding
        rtol = 10.0 ** -(dps - 10) if gradient is None else 1e-13
    rows = []
    with mpmath.workdps(dps):
        point = {k: _to_mpf(v) for k, v in problem.point.items()}
        derived = (
            problem.gradient_of(point)
            if gradient is None
            else {k: np.asarray(v, dtype=object) for k, v in gradient.items()}
        )
        for name, value in point.items():
            reference = np.empty(value.shape, dtype=object)
            for index in np.ndindex(value.shape):

                def along(s, name=name, index=index):
                    return problem.loss(_moved(point, name, index, s))

                reference[index] = mpmath.diff(along, 0)
            scale = max(abs(r) for r in reference.flat)
            tol = rtol * scale + mpmath.mpf(10) ** -dps * max(1, abs(problem.loss(point)))
            why = f"mpmath at {dps} digits: {rtol:.0e} × max |∂L/∂{name}| + 1e-{dps} max(1, |L|)"
            for index in np.ndindex(value.shape):
                analytic, ref = derived[name][index], reference[index]
                rows.append(
                    _MpComparison(
                        "high-precision",
                        name,
                        index,
                        None,
                        float(analytic),
                        float(ref),
                        float(tol),
                        why,
                        abs(analytic - ref),
                    )
                )
    return Report("high-precision", tuple(rows))


@dataclass(frozen=True)
class _MpComparison(Comparison):
    """A comparison whose error was measured in mpmath (float64 cannot hold a 1e-45 error)."""

    mp_error: Any = None

    @property
    def abs_error(self) -> float:
        return float(self.mp_error)


def per_step(
    problem: Problem,
    nodes: Arrays | None = None,
    contributions: Arrays | None = None,
    h: float = 1e-30,
    rtol: float = 1e-10,
) -> Report:
    """BPTT-aware: at every step t, the adjoints of the outputs and affine nodes (δ_t, ā_t)
    against complex-step derivatives in an offset at that step, and each step's share of every
    parameter gradient against the one built from the reference adjoints — each with a
    tolerance ``rtol`` × that step's own largest reference value."""
    nodes = problem.nodes if nodes is None else nodes
    contributions = problem.contributions if contributions is None else contributions
    value_at = abs(complex(problem.loss(problem.point)))
    rows = []
    references: dict[str, np.ndarray] = {}
    for node, adjoint in problem.nodes.items():
        reference = np.empty(adjoint.shape)
        for t in range(adjoint.shape[0]):
            for index in np.ndindex(adjoint.shape[1:]):
                offset = np.zeros(adjoint.shape[1:], np.complex128)
                offset[index] = 1j * h
                reference[(t, *index)] = np.imag(problem.loss_with_offsets({(node, t): offset})) / h
        references[node] = reference
        # each sample b of each step t at its own scale: one sample's adjoint may be far
        # smaller than another's in the same batch
        scale = np.abs(reference).max(axis=-1)  # (T, B)
        why = f"complex step: {rtol:g} × max |∂L/∂{node}| of that step and sample + O(h²)"
        rows += [
            Comparison(
                "per-step",
                f"∂L/∂{node}",
                index,
                t + 1,
                float(nodes[node][(t, *index)]),
                float(reference[(t, *index)]),
                rtol * scale[(t, *index[:-1])] + _truncation(h, value_at),
                why,
            )
            for t in range(adjoint.shape[0])
            for index in np.ndindex(adjoint.shape[1:])
        ]
    shares = {
        w: np.einsum("tbi,tbj->tij", references[node], operand)
        for w, (node, operand) in problem.outer.items()
    }
    shares |= {b: references[node].sum(axis=1) for b, node in problem.bias.items()}
    for name, share in shares.items():
        for t in range(share.shape[0]):
            tol = rtol * np.abs(share[t]).max() + _truncation(h, value_at)
            why = f"step t={t + 1}'s share of ∂L/∂{name}: {rtol:g} × its own max"
            rows += [
                Comparison(
                    "per-step",
                    name,
                    index,
                    t + 1,
                    float(contributions[name][(t, *index)]),
                    float(share[(t, *index)]),
                    tol,
                    why,
                )
                for index in np.ndindex(share.shape[1:])
            ]
    return Report("per-step", tuple(rows))
