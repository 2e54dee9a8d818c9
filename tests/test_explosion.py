"""bptt_check.explosion: an LSTM whose gradient explodes whatever the inputs and starts, while
0 < f_t < 1 at every step — the counterexample to "σ never exceeds 1, so no explosion".

The robustness test is shown to matter: the equilibrium example of the earlier verdict explodes
from its equilibrium and vanishes from every other start.
"""

import mpmath
import numpy as np
import pytest

from bptt_check.explosion import THRESHOLD, robust_exploding_lstm
from derivations import cells
from numeric import Model, lyapunov


def test_the_explosion_survives_fresh_inputs_and_starts():
    found = robust_exploding_lstm(seed=0)
    assert found.search_exponents.min() > THRESHOLD
    assert found.check_exponents.min() > 0  # 16 runs the search never saw
    assert found.check_exponents.mean() > 4 * found.check_se
    assert 0 < found.f_range[0] <= found.f_range[1] < 1  # the article's premise holds


def test_the_growth_is_confirmed_in_mpmath():
    found = robust_exploding_lstm(seed=0)
    assert found.confirmed
    short = mpmath.mpf(found.mpmath_growth[found.short_T])
    assert abs(short - found.growth[found.short_T]) <= 1e-6 * short
    assert float(mpmath.log(mpmath.mpf(found.mpmath_growth[found.T]))) > THRESHOLD * found.T


def test_an_unstable_equilibrium_is_not_a_robust_explosion():
    # 1 unit, W_c^(h) = 1, b_i = b_f = 1, x = 0: grows ×1.097 per step at h = C = 0 ...
    params = {f"W_{g}": np.zeros((1, 2)) for g in "ifco"} | {f"b_{g}": np.zeros(1) for g in "ifco"}
    params["W_c"][0, 0], params["b_i"][:], params["b_f"][:] = 1.0, 1.0, 1.0
    model = Model(cells.lstm())
    at_rest = lyapunov(
        model, params, np.zeros((300, 1, 1)), {"C": np.zeros((1, 1)), "h": np.zeros((1, 1))}
    )
    assert at_rest.lambda_max[0] > THRESHOLD
    rng = np.random.default_rng(0)
    starts = {"C": rng.uniform(-1, 1, (8, 1)), "h": rng.uniform(-1, 1, (8, 1))}
    elsewhere = lyapunov(model, params, np.zeros((300, 8, 1)), starts)
    assert str(elsewhere.classify()) == "vanishes"  # ... and decays from anywhere else


def test_the_search_keeps_a_candidate_only_if_every_run_is_above_the_threshold():
    """The minimum over runs decides, not the mean: a candidate with one slow run is out."""
    from bptt_check.explosion import robust_candidates

    runs = np.array(
        [
            [0.5, 0.5, 0.5, THRESHOLD / 2],  # mean 0.38, one run below: not robust
            [THRESHOLD * 1.01] * 4,  # every run just above: robust
            [THRESHOLD] * 4,  # at the threshold: not above it
        ]
    )
    assert robust_candidates(runs).tolist() == [1]


def test_exactly_sixteen_fresh_runs_as_the_docs_and_the_verdict_say():
    from bptt_check.explosion import FRESH_RUNS, input_sweep

    found = robust_exploding_lstm(seed=0)
    assert FRESH_RUNS == 16 and found.check_exponents.shape == (16,)
    assert "16 fresh" in robust_exploding_lstm.__doc__
    assert input_sweep(0).runs == 16
    assert found.seed == 0


def test_the_robust_lstm_vanishes_at_the_maps_inputs():
    """At x_t ~ N(0, 1), the inputs of the Lyapunov maps, the same LSTM vanishes in every run:
    the sweep's 16 runs, and 8 runs of this test's own seeds."""
    from bptt_check.explosion import input_sweep

    found, sweep = robust_exploding_lstm(seed=0), input_sweep(0)
    at_one = sweep.stds.index(1.0)
    assert sweep.high[at_one] < 0  # every run of the sweep
    assert sweep.exploding_up_to() == 0.2 and sweep.low[sweep.stds.index(0.2)] > 0
    rng = np.random.default_rng(99)
    xs = rng.normal(size=(300, 8, 1))
    starts = {"C": rng.uniform(-1, 1, (8, 2)), "h": rng.uniform(-1, 1, (8, 2))}
    own = lyapunov(Model(cells.lstm()), found.params, xs, starts, growth=False)
    assert (own.lambda_max < 0).all()
    # and at its own small inputs it explodes in every run, as the verdict says
    small = lyapunov(Model(cells.lstm()), found.params, 0.1 * xs, starts, growth=False)
    assert (small.lambda_max > 0).all()


def test_the_forget_gates_are_measured_over_the_fresh_runs():
    found = robust_exploding_lstm(seed=0)
    low, high = found.fresh_f_range
    assert 0 < low < found.f_range[0] and found.f_range[1] < high < 1  # wider than one run
    # the cell path and the full growth along the stored run, as the curve draws them
    assert found.growth_by_step[found.short_T - 1] == found.growth[found.short_T]
    assert found.cell_path[-1] < 1e-2 < 1e20 < found.growth_by_step[-1]


def test_forget_near_one_shows_an_explosion_with_a_constant_forget_gate_near_one():
    """forget-near-one's "(or explode)": W_f = 0 and b_f = logit(ρ^(1/T)) rounded up (ρ = 1/2,
    T = 40), so f_t = 0.9828 at every step, and the gradient explodes: its growth at T = 30
    by complex step through numeric.lstm.forward, 8 runs of this test's own seeds."""
    from bptt_check.verdicts import verify
    from numeric import lstm

    v = verify(["forget-near-one"])[0]
    c = v.to_json()["evidence"]["exploding_with_f_near_one"]
    params = {k: np.array(a, float) for k, a in c["params"].items()}
    assert not params["W_f"].any() and (params["b_f"] == params["b_f"][0]).all()
    f = 1 / (1 + np.exp(-params["b_f"][0]))
    assert f == c["forget_gate"] and f**40 >= 0.5
    xs, h0, c0 = np.array(c["xs"]), np.array(c["h0"]), np.array(c["c0"])

    def final(state):
        H, C = lstm.forward(params, xs[:30], state[2:], state[:2])
        return np.concatenate([C[-1], H[-1]])

    start = np.concatenate([c0, h0]).astype(complex)
    J = np.stack([final(start + 1e-30j * e).imag / 1e-30 for e in np.eye(4)], axis=1)
    assert np.linalg.norm(J, 2) == pytest.approx(c["growth_short"], rel=1e-9)
    assert float(c["mpmath_growth_short"]) == pytest.approx(c["growth_short"], rel=1e-6)
    rng = np.random.default_rng(7)
    starts = {"C": rng.uniform(-1, 1, (8, 2)), "h": rng.uniform(-1, 1, (8, 2))}
    own = lyapunov(Model(cells.lstm()), params, 0.1 * rng.normal(size=(300, 8, 1)), starts)
    assert (own.lambda_max > 0).all() and c["lambda_min"] > 0
    assert "vanish or explode with f_t near 1" in v.reason.plain


def test_the_f_near_one_explosion_needs_every_run(monkeypatch):
    import dataclasses

    import bptt_check.claims_vanishing as vanishing

    z = float(np.ceil(vanishing.forget_bias_needed(0.5, 40) * 1000) / 1000)
    found = robust_exploding_lstm(0, T=100, forget_bias=z)
    assert vanishing._exploding_near_one(0, z, 0.5, 40)[1]
    lam = found.check_exponents.copy()
    lam[3] = -0.001
    slower = dataclasses.replace(found, check_exponents=lam)
    monkeypatch.setattr(vanishing, "robust_exploding_lstm", lambda seed, T, forget_bias: slower)
    assert not vanishing._exploding_near_one(0, z, 0.5, 40)[1]
