"""vanish-explode's width maps: λ_max of a random tanh RNN over gain × input std at n = 8, 64
(grids) and 256 (curves), re-checked against numeric.lyapunov at chosen points, the bound
γ‖W‖₂ = 1 drawn at its exact gain, and the statements the shares make recomputed."""

import numpy as np
import pytest

from bptt_check import meanfield
from bptt_check.claims_maps import (
    B_WIDTH,
    GAINS,
    INPUT_STDS,
    T_WIDTH,
    WIDE,
    random_rnn,
    wide_map,
    width_map,
)
from bptt_check.evidence import Curve, Grid
from bptt_check.verdicts import verify
from derivations import cells
from numeric import Model, lyapunov


def vanish_explode():
    return verify(["vanish-explode"])[0]


def test_the_width_maps_replace_the_n8_elman_maps():
    v = vanish_explode()
    grids = [e.key for e in v.evidence if isinstance(e, Grid)]
    curves = [e.key for e in v.evidence if isinstance(e, Curve)]
    assert grids == ["tanh_rnn_map_n8", "tanh_rnn_map_n64"]
    assert curves == ["edge_of_chaos_n256", "width_without_input"]
    assert "elman_sigmoid_map" not in v.to_json()["evidence"]
    assert v.takeaway is not None and "width" in v.takeaway.plain


@pytest.mark.parametrize("n, i, j", [(64, 9, 1), (64, 3, 6), (8, 9, 0)])
def test_grid_points_against_numeric_lyapunov(n, i, j):
    """values[j][i] is λ_max at (GAINS[i], INPUT_STDS[j]): re-run that point alone on the
    map's seeded W_0, inputs and starts."""
    grid = vanish_explode().item(f"tanh_rnn_map_n{n}")
    rng = np.random.default_rng([0, n, 3])  # the map's inputs and starts (claims_maps)
    xs, start = rng.normal(size=(T_WIDTH, B_WIDTH, n)), rng.uniform(-1, 1, (B_WIDTH, n))
    params = {"W": GAINS[i] * random_rnn(n, 0), "U": INPUT_STDS[j] * np.eye(n)}
    lam = lyapunov(Model(cells.elman("tanh")), params, xs, {"S": start}, growth=False)
    assert grid.values[j][i] == pytest.approx(lam.lambda_max.mean(), abs=1e-9)


def test_the_bound_is_drawn_at_its_exact_gain_and_nothing_left_of_it_explodes():
    v = vanish_explode()
    wide_bound = 1 / np.linalg.norm(random_rnn(WIDE, 0), 2)
    assert v.item("edge_of_chaos_n256").vlines[0][0] == wide_bound
    vlines = dict((label, value) for value, label in v.item("width_without_input").vlines)
    for n in (8, 64, WIDE):
        exact = 1 / np.linalg.norm(random_rnn(n, 0), 2)
        assert vlines[rf"$\gamma\|W\|_2 = 1$ at $n = {n}$"] == exact
    for m in (width_map(8, 0), width_map(64, 0), wide_map(0)):
        left = np.asarray(m.gains) <= m.bound_gain
        assert left.any() and not (m.regime[left] == "explodes").any()  # the theorem
    # the bound is far from the edge: the edge without input needs twice its norm
    edges = {row["input_std"]: row for row in v.to_json()["evidence"]["edge_of_chaos"]}
    assert edges[0.0]["edge_norm"] == pytest.approx(meanfield.edge(0.0) / wide_bound)
    assert edges[0.0]["edge_norm"] > 1.9 and edges[1.0]["edge_norm"] > 3.5


def test_the_shares_are_percentages_of_the_points_they_name():
    rows = {r["n"]: r for r in vanish_explode().to_json()["evidence"]["width_shares"]}
    assert set(rows) == {8, 64, WIDE}
    for n, m in ((8, width_map(8, 0)), (64, width_map(64, 0))):
        right = np.asarray(m.gains) > m.bound_gain
        exploding = (m.regime[right] == "explodes").mean() * 100
        assert rows[n]["right_of_bound_exploding"] == pytest.approx(exploding, rel=1e-12)
        assert rows[n]["points"] == len(GAINS) * len(INPUT_STDS)
    # a width effect: at n = 8 nothing right of the bound explodes, at n = 64 most of it
    assert rows[8]["right_of_bound_exploding"] == 0
    assert rows[64]["right_of_bound_exploding"] > 50
    assert rows[WIDE]["chaotic_exploding"] == 100 and rows[WIDE]["ordered_vanishing"] == 100


def test_input_suppresses_chaos_in_the_measurements():
    wide = wide_map(0)
    for row in wide.lambda_max:  # at every gain, more input, smaller λ_max
        assert (np.diff(row) < 0).all()
    m = width_map(64, 0)
    g = GAINS.index(1.5)  # chaotic without input, ordered at input std 1
    assert m.regime[g, 0] == "explodes" and m.regime[g, INPUT_STDS.index(1.0)] == "vanishes"
