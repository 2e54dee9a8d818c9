"""derivations.activations: σ and tanh know their derivatives exactly (eq. (7), (14))."""

import mpmath
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from derivations.activations import delta, sigma

x = sp.Symbol("x", real=True)


def test_sigma_derivative_is_sigma_times_one_minus_sigma():
    assert sp.diff(sigma(x), x) == sigma(x) * (1 - sigma(x))


def test_sigma_derivative_agrees_with_the_exp_form():
    exp_form = 1 / (1 + sp.exp(-x))
    assert sp.simplify(sp.diff(sigma(x), x).rewrite(sp.exp) - sp.diff(exp_form, x)) == 0


def test_tanh_derivative_is_one_minus_tanh_squared():
    assert sp.diff(sp.tanh(x), x) == 1 - sp.tanh(x) ** 2


def test_delta_is_sigma_under_another_name():
    assert sp.latex(delta(x)) == r"\delta\left(x\right)"
    assert sp.latex(sigma(x)) == r"\sigma\left(x\right)"
    assert delta(x).rewrite(sp.exp) == sigma(x).rewrite(sp.exp)
    assert sp.diff(delta(x), x) == delta(x) * (1 - delta(x))


def test_sigma_of_zero_is_one_half():
    assert sigma(0) == sp.Rational(1, 2)


def test_sigma_is_positive_for_real_arguments():
    assert sigma(x).is_positive
    assert sigma(x).is_real


@given(st.floats(-50, 50, allow_nan=False))
def test_sigma_evalf_matches_mpmath_to_40_digits(value):
    with mpmath.workdps(60):
        expected = 1 / (1 + mpmath.exp(-mpmath.mpf(value)))
        got = sigma(sp.Float(value, 60)).evalf(50)
        assert abs(mpmath.mpf(str(got)) - expected) <= mpmath.mpf(10) ** -40 * expected
