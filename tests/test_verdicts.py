"""bptt_check.verdicts: each verdict asserted together with a re-check of its evidence by a
path of its own (complex step or finite differences through numeric/, not the path that
found it, and not the mpmath confirmation it carries)."""

import json

import numpy as np
import pytest
import verified

from bptt_check.cli import main
from bptt_check.verdicts import ORDER, Verdict
from numeric import lstm, rnn


class Read:
    """A verdict as a user of ``verify --json`` reads it (``evidence`` and ``counterexample``
    as JSON objects), with the typed verdict beside it."""

    def __init__(self, v: Verdict) -> None:
        document = json.loads(json.dumps(v.to_json()))  # exactly what the JSON carries
        self.typed, self.verdict = v, document["verdict"]
        self.evidence = document["evidence"]
        self.counterexample = document.get("counterexample")


def verdict(identifier: str) -> Read:
    return Read(verified.verdict(identifier))


@pytest.mark.parametrize("identifier", ["eq1", "eq2", *(f"eq{n}" for n in range(8, 14))])
def test_model_equations_hold_with_exact_proofs(identifier):
    v = verdict(identifier)
    assert v.verdict == "holds"
    assert v.evidence["as_written_equals_derived"] is True
    assert v.evidence["exact_proofs"] and all(v.evidence["exact_proofs"].values())
    proofs = v.typed.item("exact_proofs").proofs  # each proof says at which sizes it ran
    assert all(p.holds and p.sizes["n"] >= 1 and p.statement for p in proofs)


def test_eq3_fails_as_written_the_arguments_are_swapped():
    """(2) makes O_t the output: -Σ O log Ô is linear in it and pushes a perfect prediction
    away; with the arguments swapped back (softmax) or as binary cross-entropy (σ outputs, the
    loss of the derived gradients) the loss is stationary at the target."""
    v = verdict("eq3")
    assert v.verdict == "fails" and v.typed.finding == "wrong-formula" and v.typed.takeaway
    assert v.evidence["proper_loss"] == {
        "as_written": False,
        "swapped_softmax": True,
        "swapped_sigma": False,
        "binary_cross_entropy": True,
    }
    c = v.counterexample
    q = np.array(c["target"])
    logits = np.log(q / (1 - q))  # σ(z) = q: the output equals the target

    def written(z):  # -Σ O log Ô with O = σ(z) the output of (2), Ô = q the target
        return -(np.log(q) / (1 + np.exp(-z))).sum()

    slope = complex_step_gradient(written, logits)
    assert np.allclose(slope, c["dL_dz"], rtol=1e-12)
    assert abs(slope).max() > 0.1  # a perfect prediction is pushed away
    assert float(c["mpmath_dL_dz1"]) == pytest.approx(slope[0], rel=1e-13)
    assert c["linear_in_output"] is True

    def bce(z):  # the loss of the derived gradients: stationary at the target
        o = 1 / (1 + np.exp(-z))
        return -(q * np.log(o) + (1 - q) * np.log(1 - o)).sum()

    assert abs(complex_step_gradient(bce, logits)).max() < 1e-15
    from derivations.equations import equation

    assert "1 - {y}_{t,j}" in equation(3).latex("as_derived")  # (3) as derived is this loss
    assert "binary cross-entropy" in v.evidence["loss_used"]


def rnn_point(counterexample):
    p = {k: np.array(v) for k, v in counterexample["params"].items()}
    return (
        p,
        np.array(counterexample["xs"]),
        np.array(counterexample["ys"]),
        np.array(counterexample["s0"]),
    )


def complex_step_gradient(function, array, h=1e-30):
    out = np.zeros(array.shape)
    for index in np.ndindex(array.shape):
        moved = array.astype(complex)
        moved[index] += 1j * h
        out[index] = function(moved).imag / h
    return out


def test_eq4_holds_for_one_time_steps_loss():
    v = verdict("eq4")
    assert v.verdict == "holds-if"
    p, xs, ys, s0 = rnn_point(v.counterexample)
    full = complex_step_gradient(lambda V: rnn.loss_value({**p, "V": V}, xs, ys, s0), p["V"])
    states = rnn.forward(p, xs, s0)[0]
    last = complex_step_gradient(
        lambda V: rnn.loss_value({**p, "V": V}, xs[1:], ys[1:], states[0]), p["V"]
    )
    assert np.allclose(full, v.counterexample["derived_dL_dV"], rtol=1e-12)
    assert np.allclose(last, v.counterexample["literal_dL_dV"], rtol=1e-12)
    assert float(v.counterexample["mpmath_literal_dL_dV"]) == pytest.approx(last[0, 0], rel=1e-13)
    assert abs(full - last).max() > 0.1
    assert float(v.counterexample["mpmath_derived_dL_dV"]) == pytest.approx(full[0, 0], rel=1e-13)
    assert v.evidence["per_step_error"] < 1e-12


@pytest.mark.parametrize("identifier, name", [("eq5", "W"), ("eq6", "U")])
def test_eq5_eq6_fail_under_every_reading(identifier, name):
    v = verdict(identifier)
    assert v.verdict == "fails"
    p, xs, ys, s0 = rnn_point(v.counterexample)
    assert s0[0] != 0  # so no reading matches by a zero first term
    full = complex_step_gradient(lambda M: rnn.loss_value({**p, name: M}, xs, ys, s0), p[name])
    last = complex_step_gradient(
        lambda M: (
            rnn.loss_value({**p, name: M}, xs, ys * [[0], [1]], s0)
            - rnn.loss_value({**p, name: M}, xs[:1], ys[:1] * 0, s0)
        ),
        p[name],
    )
    assert np.allclose(full, v.counterexample[f"derived_dL_d{name}"], rtol=1e-12)
    assert last[0, 0] == pytest.approx(v.counterexample[f"last_step_dL_d{name}"], rel=1e-9)
    readings = {row["reading"]: row for row in v.evidence["readings"]}
    assert set(readings) == {"first_line", "product_of_pairs", "k_at_t", "last_step"}
    for row in readings.values():
        assert abs(row["value"] - last[0, 0]) > 1e-3 and abs(row["value"] - full[0, 0]) > 1e-3
        assert row["off_full"] == pytest.approx(row["value"] - full[0, 0], abs=1e-12)
    # the last step's own term by hand: ∂L_T/∂S_T · σ'(a_T) · operand_T (n = 1)
    a = p["W"][0, 0] * states_of(p, xs, s0)[0] + p["U"][0, 0] * xs[1, 0]
    sig = 1 / (1 + np.exp(-a))
    o = 1 / (1 + np.exp(-p["V"][0, 0] * sig))
    dl_ds = (o - ys[1, 0]) * p["V"][0, 0]
    operand = states_of(p, xs, s0)[0] if name == "W" else xs[1, 0]
    by_hand = dl_ds * sig * (1 - sig) * operand
    assert readings["last_step"]["value"] == pytest.approx(by_hand, rel=1e-12)


def states_of(p, xs, s0):
    return rnn.forward(p, xs, s0)[0][:, 0]


def one_step_jacobian(params, x, s_prev, h=1e-6):
    step = lambda s: rnn.forward(params, [x], s)[0][0]  # noqa: E731
    return np.stack(
        [(step(s_prev + e) - step(s_prev - e)) / (2 * h) for e in np.eye(len(s_prev)) * h], axis=1
    )


def test_eq7_holds_for_scalars_only_the_order_matters():
    v = verdict("eq7")
    assert v.verdict == "holds-if"
    c = v.counterexample
    params = {**{k: np.array(a) for k, a in c["params"].items()}, "V": np.zeros((1, 2))}
    true = one_step_jacobian(params, np.array(c["xs"][0]), np.array(c["s0"]))
    assert np.allclose(c["derived_diag_sigma_prime_W"], true, atol=1e-9)
    assert abs(np.array(c["written_W_diag_sigma_prime"]) - true).max() > 0.1
    written_scalar, written_matrix, derived = v.typed.item("exact_proofs").proofs
    assert written_scalar.sizes["n"] == 1 and written_scalar.holds
    assert written_matrix.sizes["n"] == 2 and not written_matrix.holds
    assert derived.sizes["n"] == 2 and derived.holds


def lstm_point(c):
    return {k: np.array(v, float) for k, v in c["params"].items()}


def test_eq14_holds_for_the_cell_path_only():
    v = verdict("eq14")
    assert v.verdict == "holds-if"
    params, c = lstm_point(v.counterexample), v.counterexample
    o_prev = 1 / (1 + np.exp(-params["b_o"][0]))

    def cell(c_prev):  # one step from (C_(t-1), h_(t-1) = o_(t-1) tanh C_(t-1)), x_t = 0
        return lstm.forward(params, [[0.0]], [o_prev * np.tanh(c_prev)], [c_prev])[1][0, 0]

    total = complex_step_gradient(lambda a: cell(a[0]), np.zeros(1))[0]
    assert total == pytest.approx(c["total_dC_dC_prev"], rel=1e-13)
    assert abs(total - c["f_t"]) > 0.1
    assert all(v.evidence["exact_proofs"].values())


def lstm_growth_by_complex_step(params, T):
    def final(state):  # (C_0, h_0) -> (C_T, h_T)
        H, C = lstm.forward(params, np.zeros((T, 1)), state[1:], state[:1])
        return np.array([C[-1, 0], H[-1, 0]])

    J = np.stack([final(np.zeros(2) + 1e-30j * e).imag / 1e-30 for e in np.eye(2)], axis=1)
    return np.linalg.norm(J, 2)


def lstm_gates_by_hand(params, xs, h0, c0):
    """f_t along the trajectory, from numeric.lstm.forward's states and eq. (9) written here."""
    H, _ = lstm.forward(params, xs, h0, c0)
    previous = np.vstack([h0, H[:-1]])
    z = np.hstack([previous, xs]) @ params["W_f"].T + params["b_f"]
    return 1 / (1 + np.exp(-z))


def lstm_growth_from_start(params, xs, h0, c0, h=1e-30):
    """‖∂(C_T, h_T)/∂(C_0, h_0)‖₂ by complex step through numeric.lstm.forward."""
    n = len(h0)

    def final(state):
        H, C = lstm.forward(params, xs, state[n:], state[:n])
        return np.concatenate([C[-1], H[-1]])

    start = np.concatenate([c0, h0]).astype(complex)
    J = np.stack([final(start + 1j * h * e).imag / h for e in np.eye(2 * n)], axis=1)
    return np.linalg.norm(J, 2)


def test_sigma_below_one_fails_a_robust_lstm_explodes_with_0_lt_f_lt_1():
    v = verdict("sigma-below-one")
    assert v.verdict == "fails"
    c = v.counterexample["robust_exploding_lstm"]
    params, xs = lstm_point(c), np.array(c["xs"])
    h0, c0 = np.array(c["h0"]), np.array(c["c0"])
    f = lstm_gates_by_hand(params, xs, h0, c0)
    assert 0 < f.min() and f.max() < 1  # the article's premise, at every step
    assert f.min() == pytest.approx(c["f_min"], rel=1e-12)
    assert f.max() == pytest.approx(c["f_max"], rel=1e-12)
    short = 30
    growth = lstm_growth_from_start(params, xs[:short], h0, c0)
    assert growth == pytest.approx(c["growth_short"], rel=1e-9)
    assert float(c["mpmath_growth_short"]) == pytest.approx(growth, rel=1e-6)
    assert c["lambda_min"] > 0 and c["lambda_max"] > 4 * c["lambda_se"]
    assert np.log(c["growth_mpmath"]) / c["T"] > 0.05
    special = v.counterexample["special_case_unstable_equilibrium"]
    assert special["lambda_at_equilibrium"] > 0 > special["lambda_elsewhere"]
    at_rest = lstm_growth_by_complex_step(lstm_point(special), special["T"])
    assert at_rest == pytest.approx(special["growth_at_equilibrium"], rel=1e-12)
    assert all(v.evidence["premises_proved"].values())
    assert set(v.evidence["sigma_saturates_at"]) == {"float16", "float32", "float64"}


def test_sigma_below_one_maps_and_certificate_coverage():
    v = verdict("sigma-below-one")
    rows = {row["n"]: row for row in v.evidence["map_shares"]}
    for row in v.evidence["certificate_coverage"]:
        rows[row["n"]] |= row
    assert set(rows) == {1, 8}
    for n, row in rows.items():
        values = np.array(v.evidence[f"lstm_map_n{n}"]["values"])
        assert values.shape == (16, 16) and np.isfinite(values).all()
        # a point classified as exploding has a positive mean exponent
        assert row["explodes"] <= (values > 0).mean()
        assert row["vanishes"] <= (values < 0).mean()
        assert row["largest_z_f"] < v.evidence["sigma_saturates_at"]["float64"]
        assert 0 <= row["global_kappa"] <= row["per_model"] < 1
        assert row["not_exploding"] == round(16 * 16 * (1 - row["explodes"]))
    assert rows[8]["explodes"] > 0.05  # explosions while 0 < f_t < 1 at every step
    assert rows[1]["per_model"] > rows[1]["global_kappa"]


def test_float_saturation_thresholds_are_the_first_floats_that_round_to_one():
    thresholds = verdict("sigma-below-one").evidence["sigma_saturates_at"]

    def sigmoid(v):  # 1/(1 + e^{-x}) in the precision of v
        return v.dtype.type(1) / (v.dtype.type(1) + np.exp(-v))

    for name, x in thresholds.items():
        at = np.dtype(name).type(x)
        below = np.nextafter(at, at.dtype.type(0))
        assert sigmoid(at) == 1 and sigmoid(below) < 1


def test_vanish_explode_holds_only_under_a_uniform_bound():
    v = verdict("vanish-explode")
    assert v.verdict == "holds-if"
    found = v.evidence["exploding_example_found_by_search"]
    params = {k: np.array(a) for k, a in found["params"].items()}

    def final(s):
        return rnn.forward({**params, "V": np.zeros((1, 1))}, np.array(found["xs"]), s)[0][-1]

    s0, h = np.array(found["s0"]), 1e-9
    growth = abs((final(s0 + h) - final(s0 - h)) / (2 * h))[0]
    assert growth == pytest.approx(found["growth"], rel=1e-5)
    assert found["gamma_times_norm_W"] > 1 and found["growth"] > 100
    # a special case: it grows at its unstable equilibrium only
    assert found["lambda_at_equilibrium"] > 0 > found["lambda_elsewhere"]
    away = abs((final(s0 + 0.1 + h) - final(s0 + 0.1 - h)) / (2 * h))[0]
    assert away < 1e-3 * found["growth"]
    pointwise = v.counterexample["pointwise_below_one_does_not_vanish"]
    assert pointwise["max_factor"] < 1 and pointwise["growth"] > 0.49
    assert float(pointwise["mpmath_growth"]) == pytest.approx(pointwise["growth"], rel=1e-9)
    assert all(b["max_norm_over_bound"] <= 1 for b in v.evidence["bound_checks"])
    total = v.evidence["total_gradient"]
    assert total["norm_of_paths_longer_than_k"] < 1e-3 * total["norm_dL_dW"]
    assert total["norm_dL_dW"] > 0.1  # the gradient itself does not vanish


def test_truncated_gradient_is_the_full_one_when_nothing_is_cut():
    from bptt_check.claims_vanishing import truncated_gradient

    rng = np.random.default_rng(1)
    params = {
        "W": rng.normal(size=(3, 3)),
        "U": rng.normal(size=(3, 2)),
        "V": rng.normal(size=(2, 3)),
    }
    xs, ys, s0 = rng.normal(size=(6, 2)), rng.uniform(size=(6, 2)), np.zeros(3)
    full = rnn.value_and_grad(params, xs, ys, s0)[1]["W"]
    assert np.allclose(truncated_gradient(params, xs, ys, s0, 6), full, rtol=1e-12)
    assert not np.allclose(truncated_gradient(params, xs, ys, s0, 1), full, rtol=1e-3)


def test_forget_near_one_holds_on_the_cell_path_only():
    v = verdict("forget-near-one")
    assert v.verdict == "holds-if"
    rows = v.evidence["forget_bias"]
    assert len(rows) == 6
    for row in rows:
        f = 1 / (1 + np.exp(-row["z_f"]))
        assert f ** row["T"] == pytest.approx(row["rho"], rel=1e-9)
        assert row["cell_path_product"] == pytest.approx(row["rho"], rel=1e-9)
    c = v.counterexample
    growth = lstm_growth_by_complex_step(lstm_point(c), c["T"])
    assert growth == pytest.approx(c["growth"], rel=1e-10)
    assert float(c["mpmath_growth"]) == pytest.approx(growth, rel=1e-9)
    # the counterexample meets the claim's own condition: ∏ f_t ≥ ρ = 1/2 over T = 40 ...
    z_f = c["params"]["b_f"][0]
    assert (1 / (1 + np.exp(-z_f))) ** c["T"] >= 0.5 and c["T"] == 40
    assert z_f >= np.log(0.5 ** (1 / 40) / (1 - 0.5 ** (1 / 40)))
    assert c["params"]["W_c"] == [[-1.0, 0.0]]
    assert growth < 1e-5  # ... and still vanishes through h_(t-1): 6.7e-6


def _kept_verify(ids=None, seed=0, progress=None):
    """verify() over the session's verdicts: the CLI's JSON of the claims checked once."""
    return [verified.verdict(i, seed) for i in (ORDER if ids is None else ids)]


def test_json_has_the_documented_schema(capsys, monkeypatch):
    monkeypatch.setattr("bptt_check.verdicts.verify", _kept_verify)
    assert main(["verify", "--json", "-"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"schema", "version", "seed", "claims"}
    assert document["schema"] == 2
    assert [c["id"] for c in document["claims"]] == list(ORDER)
    for c in document["claims"]:
        assert {"id", "verdict", "reason", "as_written_latex", "derived_latex", "evidence"} <= set(
            c
        )
        assert {"reason_latex", "evidence_items"} <= set(c)
        assert ("condition" in c) == (c["verdict"] == "holds-if")
        assert ("counterexample" in c) == (c["verdict"] != "holds")


def test_the_document_is_versioned():
    from bptt_check.verdicts import SCHEMA, document

    doc = json.loads(json.dumps(document([verified.verdict("eq7"), verified.verdict("eq14")], 0)))
    assert doc["schema"] == SCHEMA == 2 and doc["seed"] == 0
    eq7 = doc["claims"][0]
    kinds = [item["kind"] for item in eq7["evidence_items"]]
    assert kinds == ["proofs", "curve"] and eq7["counterexample_items"][0]["kind"] == "example"
    assert eq7["evidence_items"][0]["proofs"][1] == {
        "name": "RNN n=2 T=2: delta recursion",
        "statement_latex": eq7["evidence_items"][0]["proofs"][1]["statement_latex"],
        "sizes": {"n": 2, "T": 2},
        "holds": False,
    }


def test_same_seed_same_json_bytes(tmp_path, capsys):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    seeded = ["--claims", "eq5,product-is-training", "--seed", "3", "--json"]
    assert main(["verify", *seeded, str(first)]) == 0  # each check run anew: nothing is kept
    assert main(["verify", *seeded, str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("argv", [["verify", "--claims", "eq99"], ["verify", "--seed", "x"]])
def test_verify_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


def test_an_unwritable_json_path_is_one_line_and_exit_1(tmp_path, capsys):
    assert main(["verify", "--claims", "eq1", "--json", str(tmp_path / "no" / "x.json")]) == 1
    message = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress lines
    assert message.startswith("bptt-check verify: cannot write") and "No such file" in message


def test_eigenvalues_below_one_do_not_stop_an_explosion():
    c = verdict("vanish-explode").counterexample["eigenvalues_below_one_still_explode"]
    params = {k: np.array(a) for k, a in c["params"].items()}
    J = rnn.state_jacobians(params, np.array(c["xs"]), np.array(c["s0"]))
    assert max(max(abs(np.linalg.eigvals(step))) for step in J) < 1
    product = np.eye(2)
    for step in J:
        product = step @ product
    assert np.linalg.norm(product, 2) == pytest.approx(c["growth"], rel=1e-12)
    assert float(c["mpmath_growth"]) == pytest.approx(c["growth"], rel=1e-12)
    assert c["growth"] > 1e6


def test_model_counterexamples_follow_the_schema():
    """An LSTM example holds params, xs, h0, c0, T; an RNN one params, xs, s0, T; where the claim
    is about growth, growth with its mpmath confirmation as a string."""
    lstm_keys, rnn_keys = {"params", "xs", "h0", "c0", "T"}, {"params", "xs", "s0", "T"}
    about_growth = {"vanish-explode", "forget-near-one", "sigma-below-one"}
    for v in verified.verdicts():
        records = [e.record() for e in v.counterexample]
        assert json.loads(json.dumps(v.to_json()))["counterexample" if records else "id"]
        for record in records:
            if "h0" in record:
                assert lstm_keys <= set(record), v.id
            elif "s0" in record:
                assert rnn_keys <= set(record), v.id
                assert len(record["xs"]) == record["T"], v.id
            if v.id in about_growth:  # each growth confirmed in mpmath (a chaotic
                # trajectory's float64 and mpmath runs part after ~90 steps: its short horizon)
                confirmed = [k for k in record if k.startswith("mpmath_growth")]
                assert confirmed, v.id
                for key in confirmed:
                    assert isinstance(record[key], str)
                    value = record[key.removeprefix("mpmath_")]
                    assert float(record[key]) == pytest.approx(value, rel=1e-6)


def test_every_verdict_is_typed_for_the_report():
    """Reasons and conditions in both forms, no underscore outside math in the LaTeX forms,
    every quantity of an example with a symbol or a meaning, every table rectangular."""
    from bptt_check.evidence import Example, Table

    for v in verified.verdicts():
        texts = [v.reason] + ([v.condition] if v.condition else [])
        for text in texts:
            assert text.plain and text.latex
            outside_math = text.latex.split("$")[::2]
            assert not any("_" in part for part in outside_math), (v.id, text.latex)
        for item in (*v.evidence, *v.counterexample):
            if isinstance(item, Example):
                for q in (*item.params, *item.inputs, *item.quantities):
                    assert q.symbol or q.meaning, (v.id, q.key)
            if isinstance(item, Table):
                assert all(len(row) == len(item.columns) for row in item.rows)


def test_hypothesis_finds_no_smaller_exploding_lstm_than_the_search():
    """The search enumerates integer parameters in order of size; Hypothesis, searching and
    shrinking on its own, must not find an exploding LSTM of smaller total size."""
    from hypothesis import find, settings
    from hypothesis import strategies as st

    from bptt_check.claims_lstm import SEARCHED, _exponential, _params, exploding_lstm, growth

    found = exploding_lstm()
    size = sum(abs(v) for v in found["values"].values())
    coordinates = st.fixed_dictionaries({k: st.integers(-3, 3) for k in SEARCHED})

    def explodes(values):
        return _exponential(growth(_params({k: float(v) for k, v in values.items()}), 40))

    smallest = find(
        coordinates, explodes, settings=settings(database=None, derandomize=True, max_examples=2000)
    )
    assert sum(abs(v) for v in smallest.values()) >= size
    assert explodes(smallest) and explodes({k: int(v) for k, v in found["values"].items()})
