r"""The mean-field edge of chaos of a random RNN (after eq. (7)): where λ_max crosses 0 as the
width n grows.

For S_t = φ(a_t), a_t = g W S_{t-1} + ξ_t with W_ij ~ N(0, 1/n) and an i.i.d. input drive
ξ_t ~ N(0, σ_x² I) (the RNN of eq. (1) with U X_t = σ_x X_t), the large-n theory of Molgedey,
Schuchhardt & Schuster (1992, "Suppressing chaos in neural networks by noise", Phys. Rev. Lett.
69, 3717) and Cessac (1995, "Increase in complexity in random neural networks", J. Phys. I
France 5, 409) treats each pre-activation as Gaussian, a ~ N(0, q), with the variance at the
fixed point of

    q = g² E[φ(a)²] + σ_x²,

and the top Lyapunov exponent of ∂S_T/∂S_0 = ∏ diag(φ'(a_t)) g W as

    λ = ½ ln(g² E[φ'(a)²])          (tanh: φ'² = sech⁴).

λ < 0 is the ordered phase (the gradient's long-range terms vanish), λ > 0 the chaotic one
(they explode); the edge of chaos is the gain g_c(σ_x) with λ = 0.  At σ_x = 0 the tanh network
has q = 0 and λ = ln g up to g = 1; input raises q, lowers E[sech⁴ a] and moves the edge to
larger g: input suppresses chaos.  The expectations are Gauss–Hermite quadratures
(:func:`numpy.polynomial.hermite_e.hermegauss`, weight e^{-z²/2}).

>>> round(exponent(0.5, 0.0), 12) == round(float(np.log(0.5)), 12)  # q = 0: λ = ln g
True
>>> round(edge(0.0), 6)
1.0
>>> edge(0.5) > edge(0.1) > 1.0  # input moves the edge to larger gain
True
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

__all__ = ["ACTIVATIONS", "edge", "exponent", "variance"]

#: Each activation's E[φ(a)²] and E[φ'(a)²] in terms of S(k, Q) = E[sech^k b], b ~ N(0, Q):
#: tanh² = 1 − sech², tanh'² = sech⁴; σ(a) = (1 + tanh(a/2))/2 gives E[σ²] = ½ − ¼ E[sech²(a/2)]
#: (E[tanh] = 0 by symmetry) and σ'² = sech⁴(a/2)/16.  sech^k decays, so its quadrature is
#: accurate at every q (below).
ACTIVATIONS = {
    "tanh": (lambda q: 1 - _sech(2, q), lambda q: _sech(4, q)),
    "sigmoid": (lambda q: 0.5 - 0.25 * _sech(2, q / 4), lambda q: _sech(4, q / 4) / 16),
}
_DEGREE = 200  # quadrature nodes: within a few ulps of E[sech^k b] for every Q (tested)


@cache
def _nodes() -> tuple[np.ndarray, np.ndarray]:
    z, w = hermegauss(_DEGREE)
    return z, w / np.sqrt(2 * np.pi)  # Σ w f(z) = E[f(z)], z ~ N(0, 1)


def _sech(k: int, Q: float) -> float:
    """S(k, Q) = E[sech^k b], b ~ N(0, Q), by Gauss–Hermite quadrature at the scale
    s = min(√Q, 1): the nodes of N(0, s²) weighted by the density ratio N(0, Q)/N(0, s²), so
    that a wide Gaussian (Q ≫ 1) over the narrow sech^k is still resolved."""
    z, w = _nodes()
    s = min(np.sqrt(Q), 1.0)
    if s == 0:
        return 1.0
    b = s * z
    ratio = (s / np.sqrt(Q)) * np.exp(b**2 / 2 * (1 / s**2 - 1 / Q))
    return float(w @ (np.cosh(np.minimum(np.abs(b), 350.0)) ** -k * ratio))


def _check(g: float, sigma_x: float, activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    for name, value in (("g", g), ("sigma_x", sigma_x)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


@cache
def variance(g: float, sigma_x: float, activation: str = "tanh") -> float:
    """The fixed point q of q ↦ g² E[φ(a)²] + σ_x², a ~ N(0, q), that the iteration reaches
    from above (the largest one; the map is increasing in q, so bisection between σ_x² and
    g² sup φ² + σ_x² + 1 finds it to rounding).

    >>> round(variance(2.0, 0.0), 6)
    2.121474
    """
    _check(g, sigma_x, activation)
    square = ACTIVATIONS[activation][0]
    low, high = sigma_x**2, g**2 + sigma_x**2 + 1.0  # sup φ² ≤ 1 for tanh and σ
    for _ in range(200):
        middle = (low + high) / 2
        if g**2 * square(middle) + sigma_x**2 >= middle:
            low = middle
        else:
            high = middle
        if high - low <= 1e-15 * max(high, 1e-300):
            break
    return (low + high) / 2


@cache
def exponent(g: float, sigma_x: float, activation: str = "tanh") -> float:
    """The mean-field top Lyapunov exponent λ = ½ ln(g² E[φ'(a)²]), a ~ N(0, q) at the
    fixed point q of :func:`variance` (nats per step)."""
    q = variance(g, sigma_x, activation)
    return float(0.5 * np.log(g**2 * ACTIVATIONS[activation][1](q)))


@cache
def edge(sigma_x: float, activation: str = "tanh", g_max: float = 100.0) -> float:
    """The edge of chaos: the gain g_c(σ_x) where :func:`exponent` crosses 0 (bisection;
    λ < 0 below g_c, > 0 above it)."""
    _check(1.0, sigma_x, activation)
    low, high = 0.0, g_max
    if exponent(high, sigma_x, activation) <= 0:
        raise ValueError(f"no edge of chaos below g = {g_max} at sigma_x = {sigma_x}")
    for _ in range(60):
        middle = (low + high) / 2
        if middle > 0 and exponent(middle, sigma_x, activation) > 0:
            high = middle
        else:
            low = middle
    return (low + high) / 2
