"""bptt_check.meanfield: the mean-field edge of chaos of a random tanh RNN, against quadrature of
its own (the trapezoid rule on a fine grid, a fixed-point iteration) and against
numeric.lyapunov at n = 256, where the theory should hold to a few hundredths of a nat."""

import numpy as np
import pytest

from bptt_check import meanfield
from derivations import cells
from numeric import Model, lyapunov

#: How close λ_max at n = 256 (T = 200, 2 runs) must be to the n → ∞ theory, in nats per
#: step: finite-width corrections and the runs' spread are both about 0.01 here.
TOLERANCE = 0.03


def expectation(f, q):
    """E[f(a)], a ~ N(0, q), by the trapezoid rule over ±14 standard deviations."""
    a = np.linspace(-14 * np.sqrt(q) - 40, 14 * np.sqrt(q) + 40, 40_001)
    density = np.exp(-(a**2) / (2 * q)) / np.sqrt(2 * np.pi * q)
    return np.trapezoid(f(a) * density, a)


def exponent_by_iteration(g, sigma_x, steps=400):
    q = 1.0 + g**2
    for _ in range(steps):  # the map is a contraction at these g: iterate it from above
        q = g**2 * expectation(lambda a: np.tanh(a) ** 2, q) + sigma_x**2
    return 0.5 * np.log(g**2 * expectation(lambda a: (1 - np.tanh(a) ** 2) ** 2, q))


@pytest.mark.parametrize("g, sigma_x", [(1.5, 0.0), (2.0, 0.5), (4.0, 1.0), (8.0, 0.3)])
def test_the_exponent_agrees_with_an_iteration_and_quadrature_of_our_own(g, sigma_x):
    assert meanfield.exponent(g, sigma_x) == pytest.approx(
        exponent_by_iteration(g, sigma_x, 60), abs=1e-7
    )


def test_below_the_edge_without_input_the_exponent_is_ln_g_and_the_edge_is_at_1():
    for g in (0.25, 0.5, 0.9):
        assert meanfield.exponent(g, 0.0) == pytest.approx(np.log(g), abs=1e-12)
    assert meanfield.edge(0.0) == pytest.approx(1.0, abs=1e-6)
    assert meanfield.exponent(1.2, 0.0) > 0 > meanfield.exponent(0.99, 0.0)


def test_input_suppresses_chaos():
    edges = [meanfield.edge(s) for s in (0.0, 0.1, 0.3, 0.5, 1.0, 1.5)]
    assert all(b > a for a, b in zip(edges, edges[1:], strict=False))
    assert edges[-2] == pytest.approx(1.8556, abs=1e-3)
    for s, g in zip((0.1, 1.0), (edges[1], edges[-2]), strict=True):
        assert meanfield.exponent(g, s) == pytest.approx(0.0, abs=1e-9)


def test_the_edge_against_numeric_lyapunov_at_n_256():
    """Seeds of this test's own (not the verdict's): W_0 ~ N(0, 1/n), U = σ_x I, x_t ~ N(0, I);
    points on both sides of the edge, without input and with."""
    n, T, B = 256, 200, 2
    rng = np.random.default_rng(2026)
    W0 = rng.normal(size=(n, n)) / np.sqrt(n)
    points = [(1.5, 0.0), (2.5, 0.0), (1.0, 0.5), (2.0, 0.5), (2.0, 1.0)]
    runs = rng.normal(size=(T, B, n))
    xs = np.concatenate([runs * s for _, s in points], axis=1)  # every point's runs side by side
    params = {"W": np.stack([g * W0 for g, _ in points]), "U": np.eye(n)}
    start = {"S": rng.uniform(-1, 1, (len(points) * B, n))}
    lam = lyapunov(Model(cells.elman("tanh")), params, xs, start, growth=False).lambda_max
    for i, (g, s) in enumerate(points):  # point i is grid point i on its own runs
        measured = lam[i, i * B : (i + 1) * B].mean()
        assert measured == pytest.approx(meanfield.exponent(g, s), abs=TOLERANCE), (g, s)


def test_the_verdicts_curve_follows_the_theory_at_n_256():
    from bptt_check.verdicts import verify

    v = verify(["vanish-explode"])[0]
    curve = v.item("edge_of_chaos_n256")
    gains = np.array(curve.x.values)
    measured = [line for line in curve.series if not line.theory]
    theory = [line for line in curve.series if line.theory]
    assert len(measured) == len(theory) == 3
    worst = 0.0
    for line, std in zip(measured, (0.0, 0.5, 1.0), strict=True):
        y = np.array(line.y)
        at = ~np.isnan(y)
        assert at.sum() == 5
        expected = [meanfield.exponent(g, std) for g in gains[at]]
        worst = max(worst, float(np.abs(y[at] - expected).max()))
    assert worst <= TOLERANCE
    assert v.item("mean_field_deviation").value == pytest.approx(worst, rel=1e-12)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: meanfield.exponent(-1.0, 0.0), "g must be a finite number >= 0"),
        (lambda: meanfield.variance(1.0, float("nan")), "sigma_x must be a finite number"),
        (lambda: meanfield.exponent(1.0, 0.0, "relu"), "activation must be one of"),
    ],
    ids=["negative gain", "nan input std", "unknown activation"],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_sigmoid_network_against_an_iteration_of_our_own():
    """σ's E[σ²] = ½ − ¼ E[sech²(a/2)] and σ'² = sech⁴(a/2)/16, against σ itself."""

    def sigma(a):
        return 1 / (1 + np.exp(-a))

    q = 1.0
    for _ in range(80):
        q = 12.0**2 * expectation(lambda a: sigma(a) ** 2, q) + 0.5**2
    own = 0.5 * np.log(12.0**2 * expectation(lambda a: (sigma(a) * (1 - sigma(a))) ** 2, q))
    assert meanfield.variance(12.0, 0.5, "sigmoid") == pytest.approx(q, rel=1e-6)
    assert meanfield.exponent(12.0, 0.5, "sigmoid") == pytest.approx(own, abs=1e-7)
    assert meanfield.edge(0.0, "sigmoid") == pytest.approx(10.149, abs=1e-3)
