"""bptt_check.explosion: an LSTM whose gradient explodes whatever the inputs and starts, while
0 < f_t < 1 at every step — the counterexample to "σ never exceeds 1, so no explosion".

The robustness test is shown to matter: the equilibrium example of the earlier verdict explodes
from its equilibrium and vanishes from every other start.
"""

import mpmath
import numpy as np

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
