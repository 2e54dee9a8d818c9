"""Issue 12's verdicts re-checked by paths of their own: the certificates' coverage of the LSTM
maps (every certified point bounded along a trajectory), and the maps' independence from the
report's process (same seed, same numbers).  product-is-training: tests/test_training.py."""

import numpy as np
import pytest

from bptt_check.verdicts import verify
from numeric import lstm


def test_every_certified_map_point_keeps_its_products_bounded():
    """Soundness of the coverage numbers: along a run of inputs within the certificate's x_max,
    the derived state-Jacobian products of every certified point never exceed 1 in ∞-norm."""
    from bptt_check.claims_maps import LSTM_BIASES, LSTM_SCALES, lstm_slice
    from bptt_check.maps import grid_parameters

    rng = np.random.default_rng(0)
    for n in (1, 8):
        s = lstm_slice(n, 0)
        assert s.new_certified.sum() > s.old_certified.sum() >= 1
        assert not (s.old_certified & ~s.new_certified).any()
        xs = np.clip(rng.normal(size=(60, 1)), -s.x_max, s.x_max)
        for i, j in zip(*np.nonzero(s.new_certified), strict=True):
            values = {"recurrent_scale": LSTM_SCALES[i], "forget_bias": LSTM_BIASES[j]}
            params = {k: v[0] for k, v in grid_parameters("lstm", n, 1, 0, values).items()}
            J = lstm.state_jacobians(params, xs, rng.uniform(-1, 1, n), rng.uniform(-1, 1, n))
            product = np.eye(2 * n)
            for step in J:
                product = step @ product
                assert np.abs(product).sum(axis=1).max() <= 1 + 1e-12
        # a certified point is never one the map finds exploding
        assert not (s.new_certified & (s.regime == 2)).any()


def test_the_maps_outline_where_the_certificates_hold():
    from bptt_check.claims_maps import lstm_slice
    from bptt_check.evidence import Axis, Grid, Overlay
    from bptt_check.figures import grid_figure

    lstm = lstm_slice(8, 0)
    grid = lstm.grid()
    old, new = (np.asarray(o.region).T for o in grid.overlays)
    np.testing.assert_array_equal(old, lstm.old_certified)
    np.testing.assert_array_equal(new, lstm.new_certified)
    assert (new | ~old).all()  # the per-model certificate holds wherever the global one does
    axes = grid_figure(grid).axes[0]
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels[1].startswith("per-model certificate")
    with pytest.raises(ValueError, match="must be 1 rows of 2"):
        Grid(
            "g",
            "",
            Axis("x", "x", (0, 1)),
            Axis("y", "y", (0,)),
            ((0, 1),),
            "v",
            (Overlay("o", ((True,),)),),
        )


def test_the_1997_lstm_and_the_gru_maps_stand_beside_the_lstm_maps():
    """sigma-below-one shows, beside the LSTM maps, the 1997 LSTM's (the carousel: λ_max = 0 to
    within ln 2 / (2 (T − warmup)) at recurrent scale 0, slow growth elsewhere) and the GRU's
    (b_z = 6, z ≈ 1: λ_max just below 0 at every scale); two points of each re-run by
    numeric.lyapunov."""
    from bptt_check.claims_maps import B_MAP, LSTM_BIASES, LSTM_SCALES, T_MAP
    from bptt_check.evidence import Grid
    from bptt_check.maps import MAPS, grid_parameters, map_inputs
    from derivations import cells
    from numeric import Model, lyapunov

    v = verify(["sigma-below-one"])[0]
    keys = [e.key for e in v.evidence if isinstance(e, Grid)]
    assert keys == ["lstm_map_n1", "lstm_map_n8", "lstm_1997_map_n8", "gru_map_n8"]
    grids = {e.key: e for e in v.evidence if isinstance(e, Grid)}
    carousel = np.array(grids["lstm_1997_map_n8"].values)  # [bias][scale]
    gru = np.array(grids["gru_map_n8"].values)
    assert LSTM_SCALES[0] == 0.0 and LSTM_BIASES[-1] == 6.0
    assert np.abs(carousel[:, 0]).max() <= np.log(2) / (2 * (T_MAP - T_MAP // 10))
    assert (carousel[:, 1:] > 0).mean() > 0.5 and carousel.max() < 0.05
    assert gru[-1].max() < 0 and gru[-1].min() > 2 * np.log(1 / (1 + np.exp(-6.0)))
    assert (np.diff(gru[:, 0]) > 0).all()  # at scale 0, z = σ(W_iz x + b_z) rises with b_z
    assert "constant error carousel" in grids["lstm_1997_map_n8"].caption
    assert "$z_t$ near 1" in grids["gru_map_n8"].caption
    for kind, cell, values in (
        ("lstm-1997", cells.lstm(forget_gate=False), carousel),
        ("gru", cells.gru("torch"), gru),
    ):
        xs, state0 = map_inputs(kind, 8, 1, T_MAP, B_MAP, 0)
        for i, j in ((3, 5), (14, 2)):
            point = {"recurrent_scale": LSTM_SCALES[i], MAPS[kind][1]: LSTM_BIASES[j]}
            params = {k: p[0] for k, p in grid_parameters(kind, 8, 1, 0, point).items()}
            lam = lyapunov(Model(cell), params, xs, state0, growth=False).lambda_max
            assert values[j][i] == pytest.approx(lam.mean(), rel=1e-8, abs=1e-9)


def test_coverage_counts_every_non_exploding_point():
    """The coverage's denominator is every point not measured exploding (vanishing, preserved
    or undetermined), recounted from the maps' regimes: 256 of 256 at n = 1, 216 at n = 8."""
    from bptt_check.claims_maps import LSTM_SCALES, lstm_slice
    from bptt_check.maps import REGIMES

    v = verify(["sigma-below-one"])[0]
    rows = {row["n"]: row for row in v.to_json()["evidence"]["certificate_coverage"]}
    explodes = REGIMES.index("explodes")
    largest = 0.0
    for n in (1, 8):
        s = lstm_slice(n, 0)
        counted = s.regime != explodes
        assert rows[n]["not_exploding"] == counted.sum() and rows[n]["points"] == s.regime.size
        assert rows[n]["global_kappa"] == s.old_certified[counted].mean()
        assert rows[n]["per_model"] == s.new_certified[counted].mean()
        scales = [LSTM_SCALES[i] for i in np.nonzero((s.old_certified | s.new_certified).any(1))[0]]
        largest = max(largest, *scales)
    assert (rows[1]["not_exploding"], rows[8]["not_exploding"]) == (256, 216)
    assert (lstm_slice(1, 0).regime == REGIMES.index("undetermined")).any()  # counted too
    assert v.to_json()["evidence"]["largest_certified_scale"] == largest == 0.2
    assert f"scales $\\le {largest:g}$" in v.item("certificate_coverage").caption


def test_the_robust_explosion_refutes_only_if_every_fresh_run_explodes(monkeypatch):
    """One fresh run that vanishes must stop the refutation, whatever the mean says."""
    import dataclasses

    import bptt_check.claims_sigma as sigma
    from bptt_check.explosion import robust_exploding_lstm

    found = robust_exploding_lstm(0)
    assert sigma._robust(0)[2]  # as found: every run explodes, so it refutes
    lam = found.check_exponents.copy()
    lam[0] = -0.01  # the mean stays far above 4 standard errors
    assert lam.mean() > 4 * lam.std(ddof=1) / np.sqrt(lam.size)
    one_vanishes = dataclasses.replace(found, check_exponents=lam)
    monkeypatch.setattr(sigma, "robust_exploding_lstm", lambda seed: one_vanishes)
    assert not sigma._robust(0)[2]


def test_the_reasons_bound_holds_for_every_run_and_says_its_seed():
    from bptt_check.claims_sigma import floor_to
    from bptt_check.explosion import robust_exploding_lstm

    v = verify(["sigma-below-one"])[0]
    c = v.example("robust_exploding_lstm")
    runs = robust_exploding_lstm(0).check_exponents
    assert c.quantity("lambda_min").value == runs.min()
    bound = c.quantity("lambda_bound").value
    assert (runs >= bound).all() and runs.min() - bound < 1e-3
    assert f"every one ≥ {bound:.3f}" in v.reason.plain and "(seed 0)" in v.reason.plain
    assert f"over {runs.size} fresh" in v.reason.plain and runs.size == 16
    assert floor_to(0.1269, 3) == 0.126 and floor_to(-0.0851, 3) == -0.086  # down, not nearest
    # every run explodes up to the std the reason names, and vanishes at N(0, 1)
    assert "explodes up to std 0.2" in v.reason.plain and "at N(0, 1)" in v.reason.plain
    curve = v.item("robust_input_sweep")
    smallest = dict(zip(curve.x.values, curve.series[1].y, strict=True))
    largest = dict(zip(curve.x.values, curve.series[2].y, strict=True))
    assert min(y for x, y in smallest.items() if x <= 0.2) > 0 and largest[1.0] < 0
    assert v.item("robust_growth_curve").log_y and "robust_growth_curve" in v.to_json()["evidence"]
