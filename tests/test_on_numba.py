"""The numeric tests that matter, run again with every model on the compiled backend.

Each test imported here is collected a second time in this module, where an autouse fixture
sets ``BPTT_CHECK_BACKEND=numba``: every :class:`numeric.Model` made without a backend (the
article's ``numeric.rnn`` and ``numeric.lstm`` models included) then runs its forward and
backward passes through the compiled loops, float64 and complex128 (the complex step), and
falls back to the interpreter only where the compiled loops do not apply (mpmath, per-step
adjoints, the checks' offsets).  The gradients, the complex step, central differences, state
Jacobians along compiled trajectories and the overflow-free activations are covered; the
Lyapunov exponents are not repeated, because their tangent step runs on NumPy on every
backend.  Tests that only exercise the interpreter's paths (mpmath, per-step checks) are not
repeated either.
"""

import pytest
from test_model import (  # noqa: F401 - collected again here, on the compiled backend
    test_float64_inputs_are_used_as_given_and_never_written,
    test_state_jacobians_agree_with_complex_step_through_one_step,
    test_unbatched_calls_drop_the_batch_axis,
    test_value_and_grad_agree_with_complex_step,
    test_vjp_agrees_with_complex_step_step_by_step,
)
from test_numeric_gradients import (  # noqa: F401 - collected again here
    test_huge_preactivations_stay_finite_and_warning_free,
    test_lstm_state_jacobians_match_finite_differences_of_one_step,
    test_lstm_vjp_is_the_product_of_state_jacobians,
    test_lstm_vjp_matches_central_differences_to_1e_6,
    test_lstm_vjp_matches_complex_step_to_1e_12,
    test_rnn_gradient_matches_central_differences_to_1e_6,
    test_rnn_gradient_matches_complex_step_to_1e_12,
    test_rnn_initial_adjoint_is_first_jacobian_transposed_times_delta_1,
    test_rnn_state_jacobians_match_finite_differences_of_one_step,
)

from numeric import _compiled

pytestmark = pytest.mark.skipif(
    not _compiled.available(), reason="the compiled backend needs the fast extra"
)


@pytest.fixture(autouse=True)
def _on_numba(monkeypatch):
    monkeypatch.setenv("BPTT_CHECK_BACKEND", "numba")
