"""What a gradient check is given: a :class:`Problem` (a scalar loss of named arrays at a point,
with the gradient to check) and, for the BPTT-aware check, a :class:`BPTT` attachment that
:meth:`numeric.Model.problem` fills.  Every input is validated here: a ValueError names the
argument and what was expected."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

from .._validation import first_nonfinite, not_finite

__all__ = ["BPTT", "Problem"]

Arrays = Mapping[str, np.ndarray]
_to_mpf = np.vectorize(mpmath.mpf, otypes=[object])


@dataclass(frozen=True)
class BPTT:
    """What the derived backward program knows beyond the total gradient (eq. (4)-(6)).

    ``gradient_of`` runs the derived gradient on float64 or mpmath arrays of the point's
    shapes; ``loss_with_offsets`` adds ``offsets[(node, t)]`` to a node at step t (0-based);
    ``nodes[node]`` is the adjoint of that node at every step (T, B, size); ``contributions
    [p]`` each step's share of ∂L/∂p (T, *shape); ``outer[weight]`` is (affine node, operand
    values (T, B, cols)) and ``bias[b]`` the affine node of a bias: how a step's share of a
    parameter gradient follows from the node adjoints."""

    gradient_of: Callable[[Arrays], dict[str, np.ndarray]] = field(repr=False)
    loss_with_offsets: Callable[[Mapping[tuple[str, int], np.ndarray]], Any] = field(repr=False)
    nodes: dict[str, np.ndarray] = field(repr=False)
    contributions: dict[str, np.ndarray] = field(repr=False)
    outer: dict[str, tuple[str, np.ndarray]] = field(repr=False)
    bias: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class Problem:
    """A scalar loss of named arrays at a point, with the gradient to check.

    ``loss`` takes a dict of arrays shaped like ``point`` and returns a real scalar;
    ``gradient`` is a dict with the same keys and shapes (float64, float32 or float16: a
    lower-precision gradient is checked with that dtype's rounding budget).  ``bptt`` is the
    optional derived per-step data (:class:`BPTT`) the per-step check needs."""

    name: str
    point: dict[str, np.ndarray]
    loss: Callable[[Arrays], Any]
    gradient: dict[str, np.ndarray]
    bptt: BPTT | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a string, got {type(self.name).__name__}")
        point = check_point(self.point)
        if not callable(self.loss):
            raise ValueError(
                f"loss must be a function of a dict of arrays, got {type(self.loss).__name__}"
            )
        object.__setattr__(self, "point", point)
        object.__setattr__(self, "gradient", check_gradient_arrays(self.gradient, point))


def require_problem(problem: Any, check: str) -> None:
    """``problem`` is a :class:`Problem`, else a ValueError naming ``check``."""
    if not isinstance(problem, Problem):
        raise ValueError(
            f"{check} takes a numeric.checks.Problem (numeric.Model.problem, or "
            f"Problem(name, point, loss, gradient)), got {type(problem).__name__}; for a plain "
            "function use numeric.checks.check_gradient"
        )


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    return int(seed)


def check_point(point: Any) -> dict[str, np.ndarray]:
    """``point`` as a dict of finite float64 arrays keyed by names."""
    if not isinstance(point, Mapping) or not point:
        raise ValueError(
            f"point must be a non-empty dict of arrays keyed by names, got {type(point).__name__}"
        )
    out = {}
    for key, value in point.items():
        if not isinstance(key, str):
            raise ValueError(f"point must be keyed by strings, got the key {key!r}")
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"point[{key!r}] must be a numeric array: {error}") from None
        if array.dtype.kind not in "iuf":
            raise ValueError(
                f"point[{key!r}] must be a real numeric array, got dtype {array.dtype}"
            )
        array = array.astype(np.float64)
        if (bad := first_nonfinite(array)) is not None:
            raise ValueError(not_finite(f"point[{key!r}]", array, bad))
        out[key] = array
    return out


def check_gradient_arrays(
    gradient: Any, point: Mapping[str, np.ndarray], label: str = "gradient"
) -> dict[str, np.ndarray]:
    """``gradient`` with exactly the keys of ``point``, each of the same shape, in a real
    floating dtype (integers become float64); NaN entries are kept (they fail the check)."""
    if not isinstance(gradient, Mapping):
        raise ValueError(
            f"{label} must be a dict of arrays with keys {sorted(point)}, "
            f"got {type(gradient).__name__}"
        )
    missing = sorted(set(point) - set(gradient), key=str)
    extra = sorted(set(gradient) - set(point), key=str)
    if missing or extra:
        detail = "; ".join(
            p for p in (missing and f"missing {missing}", extra and f"unknown {extra}") if p
        )
        raise ValueError(f"{label} must have the keys of the point {sorted(point)}: {detail}")
    out = {}
    for key, shape in ((k, v.shape) for k, v in point.items()):
        value = gradient[key]
        if isinstance(value, str | bytes) or value is None:
            raise ValueError(f"{label}[{key!r}] must be a numeric array of shape {shape}")
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{label}[{key!r}] must be a numeric array: {error}") from None
        if array.dtype.kind in "iu":
            array = array.astype(np.float64)
        if array.dtype.kind != "f":
            raise ValueError(
                f"{label}[{key!r}] must be a real floating array (float64, float32 or "
                f"float16), got dtype {array.dtype}"
            )
        if array.shape != shape:
            hint = ""
            if shape[:1] == (1,) and array.shape == shape[1:]:
                hint = f" (the point is batched: pass {label}[{key!r}][None])"
            elif array.shape[1:] == shape and array.shape[:1] == (1,):
                hint = f" (the point is unbatched: pass {label}[{key!r}][0])"
            raise ValueError(
                f"{label}[{key!r}] must have shape {shape} like point[{key!r}], "
                f"got shape {array.shape}{hint}"
            )
        out[key] = array
    return out


def scalar(value: Any, what: str = "loss") -> float:
    """A loss value as a float: a real, finite scalar, else ValueError naming ``what``."""
    if isinstance(value, mpmath.mpf):
        value = float(value)
    if np.ndim(value) != 0 or not isinstance(np.asarray(value).item(), numbers.Number):
        raise ValueError(
            f"{what} must return a real scalar, got "
            + (f"shape {np.shape(value)}" if np.ndim(value) else type(value).__name__)
        )
    number = np.asarray(value).item()
    if isinstance(number, complex):
        if number.imag != 0:
            raise ValueError(f"{what} must return a real scalar at a real point, got {number}")
        number = number.real
    number = float(number)
    if not math.isfinite(number):
        raise ValueError(f"{what} returned {number} at the point: it must be finite there")
    return number


def value(problem: Problem) -> float:
    """L at the problem's point, validated."""
    return scalar(problem.loss({k: v.copy() for k, v in problem.point.items()}))


def direction(point: Arrays, seed: int) -> dict[str, np.ndarray]:
    """One seeded Gaussian direction with the point's keys and shapes."""
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(v.shape) for name, v in point.items()}


def complex_safe(problem: Problem, L: float, seed: int = 0) -> tuple[bool, str]:
    """Whether complex step is right for this loss: it evaluates at a complex point without
    error or ComplexWarning, its real part is L, and Im L(θ + ihd)/h agrees with a central
    difference along the same d.  Returns (safe, reason)."""
    if problem.bptt is not None:
        return True, "a numeric.Model loss: complex-safe by construction"
    d = direction(problem.point, seed)
    h = 1e-30
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            z = problem.loss({k: v + 1j * h * d[k] for k, v in problem.point.items()})
            z = complex(np.asarray(z).item()) if np.ndim(z) == 0 else None
    except Exception as error:  # noqa: BLE001 - any failure means: not complex-safe
        return False, f"the loss fails at a complex point ({type(error).__name__}: {error})"
    if z is None or not math.isfinite(z.real) or not math.isfinite(z.imag):
        return False, "the loss gives no finite complex scalar at a complex point"
    if abs(z.real - L) > 1e-10 * max(1.0, abs(L)):
        return False, "the real part at a complex point differs from L"
    scale = max(1.0, max(float(np.abs(v).max(initial=0)) for v in problem.point.values()))
    e = np.finfo(float).eps ** (1 / 3) * scale
    up = scalar(problem.loss({k: v + e * d[k] for k, v in problem.point.items()}))
    down = scalar(problem.loss({k: v - e * d[k] for k, v in problem.point.items()}))
    central = (up - down) / (2 * e)
    step = z.imag / h
    if abs(step - central) > 1e-4 * max(abs(step), abs(central)) + 1e-8 * max(1.0, abs(L)) / e:
        return False, (
            f"complex step along d ({step:.6g}) disagrees with central differences "
            f"({central:.6g}): the loss drops the imaginary part (abs, real, a comparison)"
        )
    return True, (
        "the loss is complex-safe: complex step along a seeded direction agrees with central "
        "differences"
    )


def mpmath_safe(problem: Problem, L: float) -> tuple[bool, str]:
    """Whether the loss evaluates on object arrays of mpmath numbers (and agrees with L)."""
    if problem.bptt is not None:
        return True, "a numeric.Model loss: evaluates in mpmath"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = problem.loss({k: _to_mpf(v) for k, v in problem.point.items()})
        got = mpmath.mpf(got) if np.ndim(got) == 0 else None
    except Exception as error:  # noqa: BLE001 - any failure means: not written for mpmath
        return False, f"{type(error).__name__}: {error}"
    if got is None or not mpmath.isfinite(got):
        return False, "it gives no finite scalar on mpmath arrays"
    if abs(float(got) - L) > 1e-10 * max(1.0, abs(L)):
        return False, "its value on mpmath arrays differs from L"
    return True, "the loss evaluates on mpmath object arrays"


def require_mpmath(problem: Problem, L: float, check: str) -> None:
    safe, reason = mpmath_safe(problem, L)
    if not safe:
        raise ValueError(
            f"{check} needs a loss written for object arrays of mpmath numbers (mpmath.exp, "
            "mpmath.tanh through np.vectorize or a loop; NumPy's ufuncs np.exp, np.tanh "
            f"cannot take them); this loss cannot ({reason}). Use method='complex_step' or "
            "'central_difference' for a plain NumPy loss"
        )


def require_complex(problem: Problem, L: float, check: str, seed: int = 0) -> None:
    safe, reason = complex_safe(problem, L, seed)
    if not safe:
        raise ValueError(
            f"{check} needs a complex-safe loss (analytic, no abs/real/comparisons on values); "
            f"this one is not: {reason}. Use central_difference for it"
        )
