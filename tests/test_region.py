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


def test_kappa_one_exactly_is_certified():
    """κ ≤ 1 is the certificate (‖P_T‖_∞ ≤ κ^T = 1): κ = 1 exactly certifies, the next float
    above does not."""
    from bptt_check.region import Certificate

    def at(value):
        return Certificate(value, (value,), (0.5,), (1.0,), 0.0)

    assert at(1.0).certified
    assert not at(float(np.nextafter(1.0, 2.0))).certified


def _two_units(W_c_h: list) -> dict:
    params = {f"W_{g}": np.zeros((2, 3)) for g in "ifco"} | {f"b_{g}": np.zeros(2) for g in "ifco"}
    params["W_c"][:, :2] = W_c_h
    return params


def test_kappa_sums_rows_of_a_non_symmetric_recurrent_block():
    """‖·‖_∞ is the largest row sum: with W_c^(h) = [[1, 1], [0, 0]] it is 2 (the column sums
    are 1 and 1), so κ = sup f + sup|i (1 - g²)| · 2."""
    from bptt_check.region import kappa

    params = _two_units([[1.0, 1.0], [0.0, 0.0]])
    bounds = coefficient_bounds(0.9, 10.0)
    diagonal = bounds[("C", "C_prev")][0][0]
    w_c = {weight: bound for bound, weight in bounds[("C", "h_prev")]}["W_c"]
    assert kappa(params, 0.9, 10.0) == pytest.approx(diagonal + 2 * w_c, rel=1e-15)
    assert kappa(_two_units([[1.0, 0.0], [1.0, 0.0]]), 0.9, 10.0) == pytest.approx(
        diagonal + w_c, rel=1e-15
    )


def test_certify_gives_each_unit_its_own_row_sum():
    """The per-model certificate bounds unit j's rows by row j of |W_g^(h)|: unit 0 of
    [[1, 1], [0, 0]] carries the weight, unit 1 none (column sums would give each 1)."""
    certificate = certify(_two_units([[1.0, 1.0], [0.0, 0.0]]))
    c0, c1 = certificate.rows[0], certificate.rows[1]  # the C rows of units 0 and 1
    assert c1 == pytest.approx(0.5, rel=1e-12)  # f_max = σ(0) = 1/2, nothing else
    assert c0 == pytest.approx(0.5 + 0.5 * 2, rel=1e-12)  # + sup|i (1 - g²)| = 1/2 times 2
    transposed = certify(_two_units([[1.0, 0.0], [1.0, 0.0]]))
    assert transposed.rows[0] == pytest.approx(transposed.rows[1], rel=1e-12)
