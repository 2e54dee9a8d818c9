"""numeric.checks.check_gradient on plain Python losses: every method passes a right gradient
and rejects a wrong one, or says up front why it cannot run; bad input is a ValueError naming
the argument."""

import mpmath
import numpy as np
import pytest

from numeric import checks

RNG = np.random.default_rng(0)
POINT = {"W": RNG.uniform(-1, 1, (3, 3)), "b": RNG.uniform(-1, 1, 3)}
X = RNG.uniform(-1, 1, (4, 3))


def loss(p):
    """A plain NumPy loss: Σ tanh(X Wᵀ + b)²."""
    return np.sum(np.tanh(X @ p["W"].T + p["b"]) ** 2)


def gradient(p):
    h = np.tanh(X @ p["W"].T + p["b"])
    a_bar = 2 * h * (1 - h**2)
    return {"W": a_bar.T @ X, "b": a_bar.sum(0)}


def mp_loss(p):
    """The same loss for object arrays of mpmath numbers."""
    z = X @ p["W"].T + p["b"]
    return sum(mpmath.tanh(v) ** 2 for v in np.ravel(z))


def kinked(p):
    """Not complex-safe: abs drops the imaginary part."""
    return np.sum(np.abs(X @ p["W"].T + p["b"]))


def kinked_gradient(p):
    s = np.sign(X @ p["W"].T + p["b"])
    return {"W": s.T @ X, "b": s.sum(0)}


RIGHT = gradient(POINT)
WRONG = dict(RIGHT, W=RIGHT["W"] * (1 + 1e-6))


@pytest.mark.parametrize(
    "method", ["auto", "complex_step", "central_difference", "direction", "taylor"]
)
def test_every_method_works_on_a_plain_numpy_loss(method):
    assert checks.check_gradient(loss, POINT, RIGHT, method=method)
    # Taylor in float64 (the loss takes no mpmath arrays) resolves ~1e-5 relative, not 1e-6
    wrong = WRONG if method != "taylor" else dict(RIGHT, W=RIGHT["W"] * (1 + 1e-4))
    assert not checks.check_gradient(loss, POINT, wrong, method=method)
    assert not checks.check_gradient(mp_loss, POINT, WRONG, method=method)


def test_mpmath_needs_a_loss_for_object_arrays_and_says_so():
    with pytest.raises(ValueError, match="object arrays of mpmath numbers"):
        checks.check_gradient(loss, POINT, RIGHT, method="mpmath")
    assert checks.check_gradient(mp_loss, POINT, RIGHT, method="mpmath")
    assert not checks.check_gradient(mp_loss, POINT, WRONG, method="mpmath")


def test_auto_picks_complex_step_for_an_analytic_loss_and_central_differences_otherwise():
    report = checks.check_gradient(loss, POINT, RIGHT)
    assert report.check == "complex-step" and "complex-safe" in report.summary
    g = kinked_gradient(POINT)
    report = checks.check_gradient(kinked, POINT, g)
    assert report.check == "central-difference" and "disagrees" in report.summary
    assert report
    assert not checks.check_gradient(kinked, POINT, dict(g, b=g["b"] + 1e-3))
    with pytest.raises(ValueError, match="complex-safe"):
        checks.check_gradient(kinked, POINT, g, method="complex_step")


def test_rtol_and_atol():
    assert checks.check_gradient(loss, POINT, WRONG, rtol=1e-5)
    report = checks.check_gradient(loss, POINT, WRONG, atol=1e-3)
    assert report and report.worst.decided == "atol"


def test_a_float32_gradient_is_checked_with_its_own_budget():
    rounded = {k: v.astype(np.float32) for k, v in RIGHT.items()}
    assert checks.check_gradient(loss, POINT, rounded)
    assert not checks.check_gradient(loss, POINT, {k: v * 1.001 for k, v in rounded.items()})


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((42, POINT, RIGHT), "loss must be a function"),
        ((lambda p: X @ p["W"], POINT, RIGHT), "loss must return a real scalar"),
        ((lambda p: np.nan * loss(p), POINT, RIGHT), "loss returned nan"),
        ((loss, POINT, {"W": RIGHT["W"]}), r"gradient must have the keys .* missing \['b'\]"),
        ((loss, POINT, dict(RIGHT, c=1.0)), r"unknown \['c'\]"),
        ((loss, POINT, dict(RIGHT, W=RIGHT["W"][:2])), r"gradient\['W'\] must have shape"),
        ((loss, POINT, dict(RIGHT, b=RIGHT["b"][None])), r"the point is unbatched"),
        ((loss, POINT, dict(RIGHT, b=RIGHT["b"] * 1j)), r"real floating"),
        ((loss, {"W": "x"}, RIGHT), r"point\['W'\] must be a real numeric array"),
        ((loss, [1.0], RIGHT), "point must be a non-empty dict"),
    ],
)
def test_bad_input_is_a_value_error_naming_the_argument(args, match):
    with pytest.raises(ValueError, match=match):
        checks.check_gradient(*args)


def test_unknown_method_and_bad_tolerances_are_value_errors():
    with pytest.raises(ValueError, match="method must be one of"):
        checks.check_gradient(loss, POINT, RIGHT, method="autograd")
    with pytest.raises(ValueError, match="rtol"):
        checks.check_gradient(loss, POINT, RIGHT, rtol=-1.0)
    with pytest.raises(ValueError, match="atol"):
        checks.check_gradient(loss, POINT, RIGHT, atol=float("nan"))


def test_a_model_problem_names_a_missing_state_and_an_unbatched_gradient():
    from numeric import lstm

    rng = np.random.default_rng(1)
    params = {f"W_{g}": rng.uniform(-1, 1, (2, 3)) for g in "ifco"}
    params |= {f"b_{g}": rng.uniform(-1, 1, 2) for g in "ifco"}
    xs, h0, c0, dH = rng.uniform(-1, 1, (3, 1)), np.zeros(2), np.zeros(2), rng.normal(size=(3, 2))
    problem = lstm.problem(params, xs, h0, c0, dH)  # the problem's arrays are batched
    unbatched = lstm.vjp(params, xs, h0, c0, dH)
    with pytest.raises(ValueError, match=r"gradient\['c0'\].*the point is batched"):
        checks.direction(problem, unbatched)
    without_h0 = {k: v for k, v in problem.gradient.items() if k != "h0"}
    with pytest.raises(ValueError, match=r"missing \['h0'\]"):
        checks.complex_step(problem, without_h0)
    assert checks.direction(problem, {k: v[None] if k in ("h0", "c0") else v
                                      for k, v in unbatched.items()})  # fmt: skip


@pytest.mark.parametrize(
    "check",
    [
        checks.complex_step,
        checks.central_difference,
        checks.direction,
        checks.taylor,
        checks.high_precision,
        checks.per_step,
    ],
)
def test_every_check_names_a_problem_that_is_not_one(check):
    with pytest.raises(ValueError, match=f"{check.__name__} takes a numeric.checks.Problem"):
        check({"W": POINT["W"]})
