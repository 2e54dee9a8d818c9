"""A user's hand-written BPTT for a tanh RNN with a bias and an MSE loss, checked against the
derived one: the planted bugs are rejected and localized, the correct code passes."""

import numpy as np
import pytest

import numeric
from derivations import cells
from numeric import checks


def hand_written(pull_back="right", first_step=True):
    """BPTT for S_t = tanh(W S_{t-1} + U X_t + b), rows are samples: a_t = S W^T + X U^T + b.
    ``pull_back="transposed"`` uses W where W.T belongs; ``first_step=False`` drops t = 1."""

    def vjp(params, xs, state0, cotangents):
        W, U, b = params["W"], params["U"], params["b"]
        S = [state0["S"]]
        for x in xs:
            S.append(np.tanh(S[-1] @ W.T + x @ U.T + b))
        dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
        delta = np.zeros_like(S[0])
        for t in reversed(range(0 if first_step else 1, len(xs))):
            delta = delta + cotangents["S"][t]
            da = delta * (1 - S[t + 1] ** 2)
            dW += da.T @ S[t]
            dU += da.T @ xs[t]
            db += da.sum(axis=0)
            delta = da @ (W if pull_back == "right" else W.T)
        return {"W": dW, "U": dU, "b": db}, {"S": delta}

    return vjp


MODEL = numeric.Model(cells.elman("tanh", bias=True), loss="mse")


@pytest.fixture(scope="module")
def point():
    rng = np.random.default_rng(0)
    params = MODEL.init(n=3, m=2, seed=0)
    params["W"] = rng.uniform(-1, 1, (3, 3))  # not symmetric: W and W.T differ
    xs, s0 = rng.normal(size=(5, 2, 2)), rng.normal(size=(2, 3)) / 2
    ys = rng.normal(size=(5, 2, 3))
    cotangents = MODEL.loss_cotangents(params, xs, ys, {"S": s0})  # ∂L_t/∂S_t of the MSE
    return params, xs, {"S": s0}, cotangents


def test_the_correct_hand_written_bptt_passes(point):
    report = checks.check_vjp(MODEL, hand_written(), *point)
    assert report, report.message()
    assert set(report.by_step()) == {1, 2, 3, 4, 5}


def test_w_for_w_transposed_is_rejected_with_the_recurrent_pull_back_named(point):
    report = checks.check_vjp(MODEL, hand_written(pull_back="transposed"), *point)
    assert not report
    assert "recurrent pull-back" in report.summary
    assert "own shares are right and the δ it hands back is wrong" in report.summary
    assert report.first.parameter in ("W", "U", "b") and report.first.step == 4
    assert report.by_step()[5].passed is False  # δ_4 (into step 5) is already wrong
    with pytest.raises(checks.GradientMismatch, match="recurrent pull-back"):
        report.raise_for_failures()


def test_a_dropped_first_step_is_named(point):
    report = checks.check_vjp(MODEL, hand_written(first_step=False), *point)
    assert not report
    assert report.first.step == 1
    assert "step 1's term is missing" in report.summary
    assert "the first step's term is missing" in report.summary


def test_a_wrong_local_term_is_named_at_the_last_step(point):
    def wrong_bias(params, xs, state0, cotangents):
        grads, initial = hand_written()(params, xs, state0, cotangents)
        return dict(grads, b=grads["b"] * 1.001), initial

    report = checks.check_vjp(MODEL, wrong_bias, *point)
    assert not report
    assert "wrong for the last step alone" in report.summary
    assert report.first.parameter == "b" and report.first.step == 5


def test_a_bad_vjp_is_a_value_error(point):
    with pytest.raises(ValueError, match="vjp must return"):
        checks.check_vjp(MODEL, lambda *args: {"W": 0}, *point)
    with pytest.raises(ValueError, match=r"vjp\(...\)\[0\] must have the keys"):
        checks.check_vjp(MODEL, lambda p, x, s, c: ({"W": p["W"]}, {"S": s["S"]}), *point)
    with pytest.raises(ValueError, match="model must be a numeric.Model"):
        checks.check_vjp("elman", hand_written(), *point)
    with pytest.raises(ValueError, match="vjp must be a function"):
        checks.check_vjp(MODEL, None, *point)


# ---- numeric.testing: the README's pytest example, and random sizes ----------------------------


def readme_example(my_bptt):
    """The README's ten-line pytest example, verbatim apart from this wrapper."""
    from numeric.testing import assert_vjp

    model = numeric.Model(cells.elman("tanh", bias=True), loss="mse")
    params = model.init(n=3, m=2, seed=0)
    rng = np.random.default_rng(0)
    xs, s0, ys = rng.normal(size=(5, 2, 2)), rng.normal(size=(2, 3)), rng.normal(size=(5, 2, 3))
    dS = model.loss_cotangents(params, xs, ys, {"S": s0})  # ∂L_t/∂S_t of the MSE
    assert_vjp(model, my_bptt, params, xs, {"S": s0}, dS)


def test_the_readme_example_fails_on_the_wrong_gradient_and_passes_on_the_right_one():
    readme_example(hand_written())
    with pytest.raises(AssertionError, match="recurrent pull-back"):
        readme_example(hand_written(pull_back="transposed"))


def test_assert_gradient_raises_a_table():
    from numeric.testing import assert_gradient

    point = {"w": np.array([0.3, -0.7])}
    loss = lambda p: np.sum(np.tanh(p["w"]) ** 2)  # noqa: E731
    right = {"w": 2 * np.tanh(point["w"]) / np.cosh(point["w"]) ** 2}
    assert assert_gradient(loss, point, right)
    with pytest.raises(checks.GradientMismatch, match=r"parameter\s+index\s+step"):
        assert_gradient(loss, point, {"w": right["w"] * (1 + 1e-6)})


def test_import_numeric_does_not_import_hypothesis():
    import subprocess
    import sys

    code = "import sys, numeric, numeric.testing; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


from hypothesis import given, settings  # noqa: E402

from numeric.testing import assert_vjp, strategies  # noqa: E402


@settings(max_examples=8)
@given(strategies.points(MODEL, max_T=4, batched=None))
def test_hand_written_bptt_at_random_sizes(point):
    args = (point.params, point.xs, point.state0, point.cotangents)
    unbatched = point.B is None

    def vjp(params, xs, state0, cotangents, **kw):  # the hand-written code takes batches
        if not unbatched:
            return hand_written(**kw)(params, xs, state0, cotangents)
        g, s = hand_written(**kw)(
            params, xs[:, None], {"S": state0["S"][None]}, {"S": cotangents["S"][:, None]}
        )
        return g, {"S": s["S"][0]}

    assert_vjp(MODEL, vjp, *args)
    first_share = max(np.abs(v[0]).max() for v in MODEL.step_shares(*args).values())
    if point.T >= 2 and first_share > 1e-6:  # dropping a zero share changes nothing
        report = checks.check_vjp(MODEL, lambda *a: vjp(*a, first_step=False), *args)
        assert not report and report.first.step == 1
