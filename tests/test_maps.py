"""bptt_check.maps: Lyapunov maps as labelled arrays, the same numbers on any Dask scheduler."""

import distributed
import numpy as np
import pytest
import xarray as xr

from bptt_check.maps import MAPS, PARAMETERS, REGIMES, lyapunov_map


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


def test_a_map_written_to_zarr_reads_back_identical(tmp_path):
    store = tmp_path / "map.zarr"
    ds = lyapunov_map("lstm", [0.5, 2.0], [0.0, 2.0], n=1, T=30, B=2, store=str(store))
    assert xr.open_zarr(store, consolidated=False).load().identical(ds)


def test_chunking_does_not_change_the_numbers():
    kwargs = {"n": 2, "T": 60, "B": 2, "seed": 3}
    one = lyapunov_map("lstm", [0.5, 2.0, 4.0], [-1.0, 3.0], chunk=6, **kwargs)
    many = lyapunov_map("lstm", [0.5, 2.0, 4.0], [-1.0, 3.0], chunk=1, **kwargs)
    np.testing.assert_allclose(one.lambda_runs.values, many.lambda_runs.values, rtol=1e-12)
    other_seed = lyapunov_map("lstm", [0.5, 2.0, 4.0], [-1.0, 3.0], chunk=6, **kwargs | {"seed": 4})
    assert not np.allclose(one.lambda_runs.values, other_seed.lambda_runs.values)


def test_the_same_seed_gives_the_same_numbers_on_a_distributed_cluster():
    kwargs = {"n": 2, "T": 60, "B": 2, "seed": 1, "chunk": 3}
    local = lyapunov_map("elman-sigmoid", [1.0, 4.0, 8.0], [0.5, 2.0], **kwargs)
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        remote = lyapunov_map(
            "elman-sigmoid",
            [1.0, 4.0, 8.0],
            [0.5, 2.0],
            scheduler=cluster.scheduler_address,
            **kwargs,
        )
    np.testing.assert_array_equal(local.lambda_runs.values, remote.lambda_runs.values)
    assert local.identical(remote)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"kind": "gru"}, "kind must be one of"),
        ({"x": []}, "x must be a non-empty 1-D sequence"),
        ({"y": [[1.0]]}, "y must be a non-empty 1-D sequence"),
        ({"x": [1.0, 1.0]}, "x must not repeat a value"),
        ({"T": 0}, "T must be an integer >= 1"),
        ({"warmup": 10}, "warmup must be < T = 10"),
        ({"chunk": 1.5}, "chunk must be an integer"),
        ({"scheduler": 3}, "scheduler must be None or a string"),
        ({"store": 3}, "store must be None or a path"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(changes, match):
    call = {"kind": "lstm", "x": [1.0], "y": [0.0], "n": 1, "T": 10, "B": 1} | changes
    with pytest.raises(ValueError, match=match):
        lyapunov_map(**call)


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


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"axes": ("recurrent_scale",)}, "axes must be two different names of"),
        ({"axes": ("forget_bias", "forget_bias")}, "axes must be two different names"),
        ({"axes": ("recurrent_scale", "input_scale")}, "axes must be two different names"),
        ({"fixed": {"forget_bias": 1.0}}, "fixed must be a dict with keys among"),
        ({"fixed": {"cell_bias": float("nan")}}, r"fixed\['cell_bias'\] must be a finite"),
    ],
)
def test_bad_axes_or_fixed_values_raise_value_error(changes, match):
    with pytest.raises(ValueError, match=match):
        lyapunov_map("lstm", [1.0], [0.0], n=1, T=10, B=1, **changes)
