"""bptt_check.region: the no-explosion certificate for the LSTM (after eq. (14)).

The coefficient suprema are exact (the review's c_max/4 = 2.5 and 1/4, where interval
arithmetic gave 3.09375 and 0.3125), and the per-model certificate is sound: wherever it
certifies κ ≤ 1, no product of derived state Jacobians along a trajectory that meets its
hypotheses has ∞-norm above 1.
"""

import numpy as np
import pytest
import sympy as sp

from bptt_check.region import _box, _sup_abs, certify, coefficient_bounds
from numeric import lstm


def test_coefficient_suprema_are_exact():
    bounds = coefficient_bounds(0.9, 10.0)
    by_weight = {weight: bound for bound, weight in bounds[("C", "h_prev")]}
    assert by_weight["W_f"] == pytest.approx(10.0 / 4, rel=1e-15)  # sup |C f (1 - f)|
    assert by_weight["W_i"] == pytest.approx(1 / 4, rel=1e-15)  # sup |g i (1 - i)|
    assert by_weight["W_c"] == pytest.approx(1.0, rel=1e-15)  # sup |i (1 - g²)|
    assert bounds[("C", "C_prev")][0][0] == pytest.approx(0.9, rel=1e-15)  # f_max


def test_a_shape_that_does_not_separate_falls_back_to_a_certified_bound():
    f, i = sp.symbols("f i")
    expr = f * i + f - i  # no product of one-variable factors
    box = _box(0.9, 10.0)
    rng = np.random.default_rng(0)
    F, I = rng.uniform(0, 0.9, 20_000), rng.uniform(0, 1, 20_000)
    sampled = np.abs(F * I + F - I).max()
    assert sampled <= _sup_abs(expr, box) <= sampled + 0.2


def _one_unit(w_c: float) -> dict:
    params = {f"W_{g}": np.zeros((1, 2)) for g in "ifco"} | {f"b_{g}": np.zeros(1) for g in "ifco"}
    params["W_c"][0, 0] = w_c
    return params


@pytest.mark.parametrize("w_c, certified", [(0.5, True), (0.99, True), (-0.99, True), (1.5, False)])
def test_the_review_lstm_is_certified_up_to_unit_feedback(w_c, certified):
    # b_f = 0 gives f_max = 1/2 for this model, not a global 0.9: |w_c| ≤ 1 is certified,
    # where the global bound certified |w_c| ≤ 0.1
    assert certify(_one_unit(w_c)).certified is certified


def test_the_certificate_is_sound_on_random_lstms():
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(40):
        n = int(rng.integers(1, 4))
        params = {f"W_{g}": rng.normal(size=(n, n + 1)) * rng.uniform(0.05, 0.6) for g in "ifco"}
        params |= {f"b_{g}": rng.normal(size=n) for g in "ifco"}
        x_max = 0.5
        certificate = certify(params, x_max=x_max, c0_max=1.0)
        if not certificate.certified:
            continue
        checked += 1
        xs = rng.uniform(-x_max, x_max, size=(60, 4, 1))
        h0, c0 = rng.uniform(-1, 1, (4, n)), rng.uniform(-1, 1, (4, n))
        J = lstm.state_jacobians(params, xs, h0, c0)
        for b in range(4):
            product = np.eye(2 * n)
            for step in J[:, b]:
                product = step @ product
                assert np.abs(product).sum(axis=1).max() <= certificate.kappa**0 + 1e-12
    assert checked >= 5  # the test saw certified models


def test_a_certificate_that_forgets_the_path_through_h_is_caught(monkeypatch):
    """A mutant that keeps only the diagonals (f_t, the article's eq. (14)) certifies a model
    whose Jacobian products grow: the soundness check above would reject it."""
    import bptt_check.region as region

    params = _one_unit(3.0)
    assert not certify(params).certified
    diagonals_only = {
        block: tuple(t for t in terms if t[1] is None)
        for block, terms in region._coefficients().items()
    }
    monkeypatch.setattr(region, "_coefficients", lambda: diagonals_only)
    assert certify(params).certified  # the mutant's claim ...
    J = lstm.state_jacobians(params, np.zeros((40, 1)), np.full(1, 1e-6), np.zeros(1))
    product = np.eye(2)
    for step in J:
        product = step @ product
    assert np.abs(product).sum(axis=1).max() > 1  # ... is refuted by the products
