r"""Gradient checks of the derived BPTT (eq. (4)-(6), (8)-(13)) and of your own gradients.

Every check returns a :class:`Report` of :class:`Comparison` rows: the analytic and reference
values, the error, the tolerance, its reason and the term that decided it, and where:
parameter, index, time step.  ``bool(report)`` is ``report.passed``;
``report.raise_for_failures()`` raises :class:`GradientMismatch` (an ``AssertionError``) with a
table of the worst failures.  A check that compared nothing raises ValueError.

On a plain function: :func:`check_gradient` (``loss`` any Python function of a dict of
arrays).  On a :class:`Problem` (a ``numeric.Model.problem`` or your own):

* :func:`complex_step` — Im L(θ + i h e_k)/h, exact to rounding (the cells are analytic);
* :func:`central_difference` — step per parameter from its scale, tolerance from an error
  estimate (two step sizes), so it still sees a 1e-6 relative error;
* :func:`direction` — one seeded random direction, O(1) forward passes whatever the number of
  parameters, compared by inner product with the gradient;
* :func:`taylor` — |L(θ+hd) − L(θ) − h⟨g,d⟩| shrinks at rate 2 only when g is right;
* :func:`high_precision` — mpmath against ``mpmath.diff`` of the loss;
* :func:`per_step` — BPTT-aware: the adjoints δ_t, ā_t and each step's share of every
  parameter gradient, with tolerances relative to that step's own scale.

On a hand-written backward pass: :func:`check_vjp` compares it with the derived
``Model.vjp`` and localizes the first wrong parameter, entry and time step.

Tolerances (:mod:`numeric.checks.tolerance`): rtol × scale + a rounding floor from the
dtype's ε and the magnitudes that entered; float32/float16 gradients get their own budget.
"""

from .problem import BPTT, Problem
from .references import (
    central_difference,
    check_gradient,
    complex_step,
    direction,
    high_precision,
    taylor,
)
from .report import Comparison, GradientMismatch, Report
from .steps import per_step
from .tolerance import EPS
from .vjp import check_vjp

__all__ = [
    "BPTT",
    "EPS",
    "Comparison",
    "GradientMismatch",
    "Problem",
    "Report",
    "central_difference",
    "check_gradient",
    "check_vjp",
    "complex_step",
    "direction",
    "high_precision",
    "per_step",
    "taylor",
]
