"""bptt_check.maps: Lyapunov maps as labelled arrays, the same numbers on any Dask scheduler."""

import distributed
import numpy as np
import pytest
import xarray as xr

from bptt_check import maps
from bptt_check.maps import MAPS, PARAMETERS, REGIMES, grid_parameters, lyapunov_map, map_inputs
from derivations import cells
from numeric import Model, lyapunov


def test_a_map_has_its_coordinates_and_a_closed_form_column():
    """Elman tanh at n = 1 with input scale 0: S_t = tanh(r w S_{t-1}) with |w| = 1 is drawn to
    0 for r < 1, where J = r w, so λ_max = ln r exactly; r = 1.5 > 1 has nonzero fixed points."""
    ds = lyapunov_map("elman-tanh", [0.25, 0.5, 1.5], [0.0, 1.0], n=1, T=200, B=3, chunk=4)
    assert ds.lambda_max.dims == ("recurrent_scale", "input_scale")
    assert ds.lambda_runs.dims == ("recurrent_scale", "input_scale", "run")
    assert list(ds.recurrent_scale.values) == [0.25, 0.5, 1.5]
    assert ds.attrs["critical_recurrent_scale"] == 1.0 and ds.attrs["n"] == 1
    closed = ds.lambda_max.sel(input_scale=0.0, recurrent_scale=[0.25, 0.5]).values
    np.testing.assert_allclose(closed, np.log([0.25, 0.5]), rtol=0, atol=1e-12)
    vanishes = REGIMES.index("vanishes")
    assert list(ds.regime.sel(input_scale=0.0).values[:2]) == [vanishes, vanishes]
    assert ds.regime.attrs["flag_meanings"].split() == list(REGIMES)
    runs = ds.lambda_runs.values
    np.testing.assert_allclose(ds.lambda_max.values, runs.mean(axis=-1))
    np.testing.assert_allclose(ds.lambda_se.values, runs.std(axis=-1, ddof=1) / np.sqrt(3))


def test_a_map_written_to_zarr_reads_back_identical_and_resumes(tmp_path, monkeypatch):
    """The store is the sweep's (bptt_check.sweep): the map and a done mark per point; called
    again with the same arguments it computes nothing, and returns the same map."""
    store = tmp_path / "map.zarr"
    ds = lyapunov_map("lstm", [0.5, 2.0], [0.0, 2.0], n=1, T=30, B=2, store=str(store))
    stored = xr.open_zarr(store, consolidated=False).load()
    assert bool(stored.done.all()) and stored.drop_vars("done").identical(ds)

    def nothing_to_compute(*args):
        raise AssertionError("a complete store was computed again")

    monkeypatch.setattr(maps, "point_runs", nothing_to_compute)
    again = lyapunov_map("lstm", [0.5, 2.0], [0.0, 2.0], n=1, T=30, B=2, store=store)
    assert again.identical(ds)


def test_chunking_does_not_change_the_numbers():
    kwargs = {"n": 2, "T": 60, "B": 2, "seed": 3}
    one = lyapunov_map("lstm", [0.5, 2.0, 4.0], [-1.0, 3.0], chunk=6, **kwargs)
    many = lyapunov_map("lstm", [0.5, 2.0, 4.0], [-1.0, 3.0], chunk=1, **kwargs)
    np.testing.assert_allclose(one.lambda_runs.values, many.lambda_runs.values, rtol=1e-12)
    other_seed = lyapunov_map("lstm", [0.5, 2.0, 4.0], [-1.0, 3.0], chunk=6, **kwargs | {"seed": 4})
    assert not np.allclose(one.lambda_runs.values, other_seed.lambda_runs.values)


def test_the_same_seed_gives_the_same_numbers_on_a_distributed_cluster():
    """The same bits on local threads and on a cluster, given by its address or a Client."""
    kwargs = {"n": 2, "T": 60, "B": 2, "seed": 1, "chunk": 3}
    local = lyapunov_map("elman-sigmoid", [1.0, 4.0, 8.0], [0.5, 2.0], **kwargs)
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        remote = lyapunov_map(
            "elman-sigmoid", [1.0, 4.0, 8.0], [0.5, 2.0], scheduler=address, **kwargs
        )
        with distributed.Client(cluster) as client:
            other = lyapunov_map(
                "elman-sigmoid", [1.0, 4.0, 8.0], [0.5, 2.0], scheduler=client, **kwargs
            )
            assert client.status == "running"  # a Client given is the caller's: left open
    np.testing.assert_array_equal(local.lambda_runs.values, remote.lambda_runs.values)
    assert local.identical(remote) and local.identical(other)


def _file(tmp_path):
    (tmp_path / "afile.txt").write_text("keep me")
    return str(tmp_path / "afile.txt")


def _folder_of_files(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("keep me")
    return str(tmp_path / "notes")


def _store_of_another_map(tmp_path):
    lyapunov_map("lstm", [1.0], [0.0], n=1, T=12, B=1, store=tmp_path / "old.zarr")
    return str(tmp_path / "old.zarr")


#: (changes to a good call, or a function of tmp_path giving the store) -> the message
BAD_INPUT = {
    "unknown kind": ({"kind": "elman-relu"}, "kind must be one of"),
    "empty x": ({"x": []}, "x must be a non-empty 1-D sequence"),
    "2-D y": ({"y": [[1.0]]}, "y must be a non-empty 1-D sequence"),
    "repeated x": ({"x": [1.0, 1.0]}, "x must not repeat a value"),
    "T = 0": ({"T": 0}, "T must be an integer >= 1, got 0"),
    "warmup = T": ({"warmup": 10}, "warmup must be < T = 10, got 10"),
    "float chunk": ({"chunk": 1.5}, "chunk must be an integer >= 1, got 1.5"),
    "negative seed": ({"seed": -1}, "seed must be an integer >= 0, got -1"),
    "one axis": ({"axes": ("recurrent_scale",)}, r"axes must be a pair of names of \["),
    "same axis twice": (
        {"axes": ("forget_bias", "forget_bias")},
        "axes\\[1\\] must differ from axes\\[0\\], both are 'forget_bias'",
    ),
    "axis of another map": (
        {"axes": ("recurrent_scale", "input_scale")},
        r"axes\[1\] must be one of \['recurrent_scale', 'forget_bias', .*\] for kind 'lstm', "
        "got 'input_scale'",
    ),
    "fixed an axis": (
        {"fixed": {"forget_bias": 1.0}},
        r"fixed\['forget_bias'\] is not a parameter left fixed \(those are: \['input_gate_bias'",
    ),
    "fixed NaN": ({"fixed": {"cell_bias": float("nan")}}, r"fixed\['cell_bias'\] must be a finite"),
    "fixed not a dict": ({"fixed": 3}, "fixed must be a dict of parameter values, got 3"),
    "scheduler bogus": (
        {"scheduler": "bogus"},
        r"scheduler must be None \(this machine's threads\), 'threads', 'synchronous', "
        r"'processes', a dask.distributed scheduler address such as 'tcp://127.0.0.1:8786', or a "
        r"distributed.Client; got 'bogus'",
    ),
    "scheduler without port": ({"scheduler": "tcp://127.0.0.1"}, "scheduler must be None"),
    "scheduler a number": ({"scheduler": 3}, "scheduler must be None .*; got 3"),
    "store a number": ({"store": 3}, "store must be None or a path, got 3"),
    "store a file": (_file, "store .*afile.txt is a file, not a map store: give a new path"),
    "store a folder of files": (_folder_of_files, "store .*notes holds files that are not a map"),
    "store of another map": (
        _store_of_another_map,
        "store .*old.zarr holds a sweep of another spec \\(T differs\\): remove it or give "
        "another store",
    ),
    "store in /proc": (lambda _: "/proc/foo", "cannot create store /proc/foo: "),
}


@pytest.mark.parametrize(("changes", "match"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_raises_value_error_naming_the_argument_before_any_work(
    changes, match, tmp_path, monkeypatch
):
    if callable(changes):
        changes = {"store": changes(tmp_path)}
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def no_work(*args):
        raise AssertionError("a map was computed from bad input")

    monkeypatch.setattr(maps, "point_runs", no_work)
    call = {"kind": "lstm", "x": [1.0], "y": [0.0], "n": 1, "T": 10, "B": 1} | changes
    with pytest.raises(ValueError, match=match) as error:
        lyapunov_map(**call)
    assert "\n" not in str(error.value)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_every_map_names_two_coordinates():
    assert all(len(set(axes)) == 2 for axes in MAPS.values())


def test_any_two_parameters_can_vary_and_the_others_are_fixed():
    kwargs = {"n": 1, "T": 60, "B": 2, "seed": 2}
    default = lyapunov_map("lstm", [0.5, 2.0], [-1.0, 3.0], **kwargs)
    swapped = lyapunov_map(
        "lstm", [-1.0, 3.0], [0.5, 2.0], axes=("forget_bias", "recurrent_scale"), **kwargs
    )
    assert swapped.lambda_max.dims == ("forget_bias", "recurrent_scale")
    np.testing.assert_array_equal(
        swapped.lambda_runs.transpose(*default.lambda_runs.dims), default.lambda_runs
    )
    # forget_bias fixed at 3 and cell_bias varied through its default 0: the column b_f = 3
    column = lyapunov_map(
        "lstm",
        [0.5, 2.0],
        [0.0, 1.5],
        axes=("recurrent_scale", "cell_bias"),
        fixed={"forget_bias": 3.0},
        **kwargs,
    )
    assert column.attrs["forget_bias"] == 3.0 and column.attrs["output_gate_bias"] == 0.0
    np.testing.assert_array_equal(
        column.lambda_runs.sel(cell_bias=0.0), default.lambda_runs.sel(forget_bias=3.0)
    )
    assert not np.allclose(
        column.lambda_runs.sel(cell_bias=1.5), column.lambda_runs.sel(cell_bias=0.0)
    )
    assert default.attrs["cell_bias"] == 0.0 and "forget_bias" not in default.attrs
    assert set(PARAMETERS["lstm"]) >= set(MAPS["lstm"])


def _zero_input_lambda(kind: str, model: Model, values: dict, n: int = 3, T: int = 60):
    """λ_max of each run at one point of the map ``kind`` driven by x_t = 0 from its starts."""
    params = {k: v[0] for k, v in grid_parameters(kind, n, 1, 0, values).items()}
    _, state0 = map_inputs(kind, n, 1, T, 2, 0)
    return lyapunov(model, params, np.zeros((T, 2, 1)), state0, growth=False).lambda_max


def test_the_1997_lstm_at_recurrent_scale_0_preserves_the_cell_path_exactly():
    """No forget gate, W_g^(h) = 0, x_t = 0, b_c = 0: C̃_t = 0, so C_t = C_0 and
    J = [[I, 0], [D, 0]] (D = diag(o tanh'(C_0))) is idempotent: λ_max = 0 for any b_i.
    With a forget gate (b_f = 0, f = ½) the same point vanishes at ln ½ (to O(1/T): C_t = C_0/2^t
    moves D_t, so the product is no longer idempotent)."""
    model = Model(cells.lstm(forget_gate=False))
    for b_i in (-2.0, 3.0):
        values = {"recurrent_scale": 0.0, "input_gate_bias": b_i}
        lam = _zero_input_lambda("lstm-1997", model, values)
        np.testing.assert_allclose(lam, 0.0, rtol=0, atol=1e-12)
    forget = _zero_input_lambda("lstm", Model(cells.lstm()), {"recurrent_scale": 0.0})
    np.testing.assert_allclose(forget, np.log(0.5), rtol=0, atol=1e-5)


def test_the_gru_at_recurrent_scale_0_vanishes_at_ln_sigma_of_its_update_bias():
    """W_hr = W_hz = W_hn = 0, x_t = 0: J = diag(z) with z = σ(b_z), so λ_max = ln σ(b_z):
    z near 1 keeps h (λ_max → 0), z near 0 forgets it."""
    model = Model(cells.gru("torch"))
    for b_z in (-2.0, 0.0, 4.0):
        lam = _zero_input_lambda("gru", model, {"recurrent_scale": 0.0, "update_gate_bias": b_z})
        np.testing.assert_allclose(lam, -np.log1p(np.exp(-b_z)), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("kind", "cell"), [("lstm-1997", cells.lstm(False)), ("gru", cells.gru())])
def test_the_new_maps_agree_with_numeric_lyapunov_point_by_point(kind, cell):
    """Each point of a map is one numeric.lyapunov run of the map's parameters and inputs."""
    n, T, B, seed = 2, 40, 2, 5
    xs_, ys_ = [0.5, 3.0], [-1.0, 2.0]
    ds = lyapunov_map(kind, xs_, ys_, n=n, T=T, B=B, seed=seed, chunk=3)
    assert ds.lambda_max.dims == MAPS[kind] and ds.attrs["cell"] == cell.name
    xs, state0 = map_inputs(kind, n, 1, T, B, seed)
    model, y_name = Model(cell), MAPS[kind][1]
    for scale in xs_:
        for bias in ys_:
            values = {"recurrent_scale": scale, y_name: bias}
            params = {k: v[0] for k, v in grid_parameters(kind, n, 1, seed, values).items()}
            recurrent = [k for k in params if k.startswith("W_h")] or ["W_i", "W_c", "W_o"]
            for name in recurrent:  # each recurrent block has spectral norm = the scale
                assert np.linalg.norm(params[name][:, :n], 2) == pytest.approx(scale, rel=1e-12)
            lam = lyapunov(model, params, xs, state0, growth=False).lambda_max
            point = ds.lambda_runs.sel(recurrent_scale=scale, **{y_name: bias}).values
            np.testing.assert_allclose(point, lam, rtol=1e-10, atol=1e-12)
    assert not np.allclose(ds.lambda_max.values[0], ds.lambda_max.values[1])
