"""product-is-training (经过多次连乘(训练), after eq. (14)) re-checked by a path of its own: the
SGD run re-done with complex-step gradients through numeric.lstm.forward, and both readings
of the parenthesis against what each backward pass multiplies."""

import numpy as np
import pytest
import verified

from bptt_check import registry
from bptt_check.claims_training import RATE, STEPS, TARGET, sgd_run
from numeric import lstm


def loss_by_forward(params, xs):
    H, _ = lstm.forward(params, xs, np.zeros(1, complex), np.zeros(1, complex))
    return 0.5 * np.sum((H[-1] - TARGET) ** 2)


def gradient_by_complex_step(params, xs, h=1e-30):
    grads = {}
    for name, value in params.items():
        out = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            moved = {k: v.astype(complex) for k, v in params.items()}
            moved[name][index] += 1j * h
            out[index] = loss_by_forward(moved, xs).imag / h
        grads[name] = out
    return grads


def product_norm_by_complex_step(params, xs, h=1e-30):
    def final(state):
        H, C = lstm.forward(params, xs, state[1:], state[:1])
        return np.array([C[-1, 0], H[-1, 0]])

    J = np.stack([final(np.zeros(2) + 1j * h * e).imag / h for e in np.eye(2)], axis=1)
    return np.linalg.norm(J, 2)


def test_product_is_training_fails_read_literally_the_product_counts_time_steps():
    v = verified.verdict("product-is-training")
    assert v.verdict == "fails"
    evidence = v.to_json()["evidence"]
    assert evidence["factors"] == {5: 5, 10: 10, 20: 20}  # one factor per time step
    c = v.example()
    params = {k: np.array(q.value, float) for k, q in ((q.key, q) for q in c.params)}
    xs = np.array(c.quantity("xs").value)
    rows = evidence["training_steps"]
    assert len(rows) == STEPS + 1
    for row in rows:  # SGD with gradients of our own: the same losses and products
        assert loss_by_forward(params, xs).real == pytest.approx(row["loss"], rel=1e-12)
        assert product_norm_by_complex_step(params, xs) == pytest.approx(row["norm"], rel=1e-9)
        assert row["factors"] == len(xs)
        grads = gradient_by_complex_step(params, xs)
        params = {k: v - RATE * grads[k] for k, v in params.items()}
        assert row["factors_literal"] == (row["step"] + 1) * len(xs)  # what reading it so says
    assert rows[-1]["loss"] < rows[0]["loss"]  # and training did train
    readings = {row["reading"]: row for row in evidence["readings"]}
    assert readings["literal"]["agrees"] is False and readings["one_pass"]["agrees"] is True
    assert readings["literal"]["predicted_after_training"] == (STEPS + 1) * len(xs)
    assert v.finding == "wording" and v.takeaway


def test_a_wrong_premise_would_flip_the_new_verdict(monkeypatch):
    """If each pass multiplied the previous passes' products (what the literal reading
    implies), the verdict computed from the same evidence would be holds."""
    import bptt_check.claims_training as training

    real = training.sgd_run

    def compounding(seed, steps=STEPS, rate=RATE):
        run = real(seed, steps, rate)
        total = 1.0
        for k, r in enumerate(run):  # pass k would hold the factors of every pass so far
            total *= r["norm"]
            r["norm"], r["factors"] = total, (k + 1) * r["factors"]
        return run

    monkeypatch.setattr(training, "sgd_run", compounding)
    assert training.product_is_training(0).verdict == "holds"


def test_sgd_run_is_seeded():
    a, b = sgd_run(1, steps=2), sgd_run(1, steps=2)
    assert [r["loss"] for r in a] == [r["loss"] for r in b]
    assert a[0]["loss"] != sgd_run(2, steps=2)[0]["loss"]


def test_the_new_claim_is_registered_and_listed():
    assert registry.get("product-is-training").equation == 14
    assert registry.markdown_ids().endswith("`product-is-training`")
