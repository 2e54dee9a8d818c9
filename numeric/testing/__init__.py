"""Assertions for your own gradients, in the spirit of :mod:`numpy.testing`.

* :func:`assert_gradient` — a gradient (dict of arrays) of any Python loss of a dict of arrays;
* :func:`assert_vjp` — a hand-written BPTT with the signature of :meth:`numeric.Model.vjp`
  against the derived one, localized to a parameter, entry and time step;
* :mod:`numeric.testing.strategies` — Hypothesis strategies for a model's parameters, inputs
  and states at random sizes (needs Hypothesis, a test dependency; ``import numeric`` does not
  import it).

Both assertions raise :class:`numeric.checks.GradientMismatch` (an ``AssertionError``, so
pytest shows it as a failed assertion) with a table of the worst failures, and return the
:class:`numeric.checks.Report` when the check passes.

>>> import numpy as np
>>> loss = lambda p: np.sum(np.sin(p["x"]))
>>> x = np.array([0.1, 0.2])
>>> report = assert_gradient(loss, {"x": x}, {"x": np.cos(x)})
>>> assert_gradient(loss, {"x": x}, {"x": np.sin(x)})
Traceback (most recent call last):
...
numeric.checks.GradientMismatch: complex-step: FAILED 2 of 2 comparisons
...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import checks

__all__ = ["assert_gradient", "assert_vjp"]


def assert_gradient(
    loss: Callable[[Mapping[str, Any]], Any],
    point: Mapping[str, Any],
    gradient: Mapping[str, Any],
    *,
    method: str = "auto",
    rtol: float | None = None,
    atol: float | None = None,
    seed: int = 0,
) -> checks.Report:
    """Raise :class:`~numeric.checks.GradientMismatch` unless ``gradient`` is the gradient of
    ``loss`` at ``point`` (:func:`numeric.checks.check_gradient`, same arguments)."""
    report = checks.check_gradient(
        loss, point, gradient, method=method, rtol=rtol, atol=atol, seed=seed
    )
    return report.raise_for_failures()


def assert_vjp(
    model: Any,
    vjp: Callable,
    params: Mapping[str, Any],
    xs: Any,
    state0: Mapping[str, Any],
    cotangents: Mapping[str, Any],
    *,
    rtol: float | None = None,
) -> checks.Report:
    """Raise :class:`~numeric.checks.GradientMismatch` unless the hand-written ``vjp`` matches
    the derived BPTT of ``model`` (:func:`numeric.checks.check_vjp`, same arguments); the
    message leads with the localized verdict and the first wrong parameter and step."""
    return checks.check_vjp(
        model, vjp, params, xs, state0, cotangents, rtol=rtol
    ).raise_for_failures()
