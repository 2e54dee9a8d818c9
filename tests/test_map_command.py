"""bptt-check map: TOML sweep specs, built-ins, resume from a zarr store, any scheduler."""

import os

import distributed
import numpy as np
import pytest
import xarray as xr
import zarr

from bptt_check import map_command, maps
from bptt_check.cli import main
from bptt_check.map_command import BUILTINS, SpecError, parse_spec

SPEC = """\
name = "tiny"
map = "lstm"
n = 1
T = 50
B = 2
seed = 3
chunk = {chunk}

[x]
name = "recurrent_scale"
values = [0.5, 1.0, 2.0, 4.0]

[y]
start = -1
stop = 3
count = 3
"""
_Y = "[y]\nstart = -1\nstop = 3\ncount = 3\n"


def _spec(tmp_path, chunk=3, text=SPEC):
    path = tmp_path / f"tiny-{chunk}.toml"
    path.write_text(text.format(chunk=chunk))
    return str(path)


def _open(directory):
    return xr.open_zarr(directory / "map.zarr", consolidated=False).load()


def _data(ds):
    """The map's numbers and labels, without the attributes (the spec names the chunk)."""
    return ds.drop_vars("done").drop_attrs()


_CHUNK = maps.point_runs


class _Counting:
    """maps.point_runs, counting the points of each call; raises at call ``fail_at`` (from 1)."""

    def __init__(self, fail_at=None, error=RuntimeError):
        self.calls, self.fail_at, self.error = [], fail_at, error

    def __call__(self, *args):
        if len(self.calls) + 1 == self.fail_at:
            raise self.error("interrupted")
        self.calls.append(max(np.size(v) for v in args[-1].values()))
        return _CHUNK(*args)


def test_a_sweep_writes_the_map_of_lyapunov_map_with_a_summary(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["map", _spec(tmp_path), "-o", str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    ds = _open(out)
    ref = maps.lyapunov_map("lstm", [0.5, 1, 2, 4], [-1, 1, 3], n=1, T=50, B=2, seed=3)
    assert _data(ds).identical(ref.drop_attrs())
    assert bool(ds.done.all()) and ds.attrs["name"] == "tiny" and ds.attrs["T"] == 50
    assert (out / "spec.toml").read_text() == SPEC.format(chunk=3)
    assert (out / "summary.txt").read_text() == stdout
    # the summary counts every point once, per regime, as stored
    counts = {r: int((ds.regime == i).sum()) for i, r in enumerate(maps.REGIMES)}
    assert sum(counts.values()) == 12 and counts["vanishes"] > 0
    for regime, count in counts.items():
        assert f"  {regime:<12s} {count:7d}" in stdout
    assert "12 points in 4 chunks (4 computed, 0 already done)" in stdout
    assert "4/4" in stderr  # the progress bar, on a stderr that is not a terminal


def test_only_the_chunks_not_marked_done_are_recomputed(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert main(["map", _spec(tmp_path), "-o", str(out), "--no-progress"]) == 0
    first = _open(out)
    group = zarr.open_group(out / "map.zarr", mode="r+")
    # chunk = 3 = len(y): each chunk is a row of x; invalidate rows 1 and 3, data and mark
    for row in (1, 3):
        group["done"][row, :] = False
        group["lambda_runs"][row, :, :] = np.nan
        group["lambda_max"][row, :] = np.nan
    counting = _Counting()
    monkeypatch.setattr(maps, "point_runs", counting)
    assert main(["map", _spec(tmp_path), "-o", str(out), "--no-progress"]) == 0
    assert counting.calls == [3, 3]
    assert "(2 computed, 2 already done)" in capsys.readouterr().out
    assert _open(out).identical(first)
    counting.calls.clear()
    assert main(["map", _spec(tmp_path), "-o", str(out), "--no-progress"]) == 0
    assert counting.calls == []  # complete: nothing to do


def _killed_while_writing():
    """zarr.Array.__setitem__, killed (KeyboardInterrupt) at the third chunk's last data write:
    the moment a sweep that marked a chunk done before writing all its data would leave a
    chunk marked but missing.  The last data variable is the one the first chunk wrote last
    before its mark (or at all, if the mark came first)."""
    rows = {}  # the names written into each row of x (chunk = 3: one chunk a row)
    setitem = zarr.Array.__setitem__
    names = ("lambda_runs", "lambda_max", "lambda_se", "regime", "done")

    def killed(array, key, value):
        if array.basename in names and isinstance(key, tuple):
            rows.setdefault(key[0].start, []).append(array.basename)
            if len(rows) == 3:  # the first chunk's writes are complete
                first = next(iter(rows.values()))
                if array.basename == [name for name in first if name != "done"][-1]:
                    raise KeyboardInterrupt
        return setitem(array, key, value)

    return killed


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The tiny map, swept once without interruption."""
    folder = tmp_path_factory.mktemp("clean")
    assert main(["map", _spec(folder), "-o", str(folder / "out"), "--no-progress"]) == 0
    return _open(folder / "out")


@pytest.mark.parametrize(
    ("kill", "status", "message"),
    [
        (
            "a chunk raises",
            1,
            "bptt-check map: the sweep failed: RuntimeError: interrupted (re-run to resume: ",
        ),
        ("Ctrl-C in a chunk", 130, "bptt-check map: interrupted (re-run to resume: "),
        ("killed while writing a chunk", 130, "bptt-check map: interrupted (re-run to resume: "),
    ],
    ids=["a chunk raises", "Ctrl-C in a chunk", "killed while writing a chunk"],
)
def test_an_interrupted_sweep_resumes_to_the_same_map(
    tmp_path, monkeypatch, capsys, clean, kill, status, message
):
    """Killed at the third of four chunks, the store holds the first two, each marked done
    only with all its data; re-running computes the other two, to the uninterrupted map."""
    out = tmp_path / "out"
    if kill == "killed while writing a chunk":
        monkeypatch.setattr(zarr.Array, "__setitem__", _killed_while_writing())
    else:
        error = RuntimeError if kill == "a chunk raises" else KeyboardInterrupt
        monkeypatch.setattr(maps, "point_runs", _Counting(fail_at=3, error=error))
    command = ["map", _spec(tmp_path), "-o", str(out), "--scheduler", "synchronous"]
    assert main([*command, "--no-progress"]) == status
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert err.endswith(f"2 of 4 chunks are written in {out})\n")
    monkeypatch.undo()
    interrupted = _open(out)
    assert int(interrupted.done.sum()) == 2 * 3  # the two chunks before the kill, no more
    written = interrupted.lambda_runs.notnull().all("run") & interrupted.lambda_max.notnull()
    assert bool(written.where(interrupted.done, True).all())  # nothing marked but missing
    resumed = _Counting()
    monkeypatch.setattr(maps, "point_runs", resumed)
    assert main(command) == 0
    assert resumed.calls == [3, 3]  # the four chunks less the two written
    assert _open(out).identical(clean)


def test_the_same_seed_gives_the_same_map_for_any_chunking_and_scheduler(tmp_path, capsys):
    one, whole, remote = tmp_path / "one", tmp_path / "whole", tmp_path / "remote"
    assert main(["map", _spec(tmp_path, chunk=1), "-o", str(one), "--no-progress"]) == 0
    assert main(["map", _spec(tmp_path, chunk=12), "-o", str(whole), "--no-progress"]) == 0
    assert "12 points in 1 chunk (1 computed, 0 already done)" in capsys.readouterr().out
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        command = ["map", _spec(tmp_path, chunk=1), "-o", str(remote), "--scheduler", address]
        assert main([*command, "--no-progress"]) == 0
    assert _open(one).identical(_open(remote))
    assert _data(_open(one)).identical(_data(_open(whole)))
    np.testing.assert_array_equal(_open(one).lambda_runs, _open(whole).lambda_runs)
    # and another seed does change the numbers
    other = tmp_path / "other"
    text = SPEC.replace("seed = 3", "seed = 4")
    assert main(["map", _spec(tmp_path, text=text), "-o", str(other), "--no-progress"]) == 0
    assert not np.allclose(_open(other).lambda_runs, _open(one).lambda_runs)


def test_a_store_of_another_spec_is_refused_not_mixed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["map", _spec(tmp_path), "--no-progress"]) == 0
    out = tmp_path / "bptt-map-tiny"  # the default folder: bptt-map-<name>
    assert bool(_open(out).done.all())
    text = SPEC.replace("T = 50", "T = 60")
    assert main(["map", _spec(tmp_path, text=text), "-o", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "holds a sweep of another spec (T differs)" in err and err.count("\n") == 1


def test_the_builtins_are_the_article_maps_and_listed(capsys):
    specs = {name: parse_spec(text, f"builtin:{name}") for name, text in BUILTINS.items()}
    assert set(specs) == {
        "elman-sigmoid",
        "elman-tanh",
        "lstm-n1",
        "lstm-n8",
        "lstm-1997-n8",
        "gru-n8",
    }
    assert (specs["lstm-1997-n8"].map, specs["lstm-1997-n8"].y_name) == (
        "lstm-1997",
        "input_gate_bias",
    )
    assert (specs["gru-n8"].map, specs["gru-n8"].y_name) == ("gru", "update_gate_bias")
    assert all(len(specs[k].x) * len(specs[k].y) == 32 * 32 for k in ("lstm-1997-n8", "gru-n8"))
    assert [specs["lstm-n1"].n, specs["lstm-n8"].n] == [1, 8]
    assert specs["elman-sigmoid"].map == "elman-sigmoid" and specs["lstm-n8"].name == "lstm-n8"
    assert specs["elman-tanh"].x[0] == 0.125 and specs["elman-tanh"].x[-1] == pytest.approx(8)
    assert main(["map", "--list"]) == 0
    listing = capsys.readouterr().out
    assert all(f"builtin:{name}" in listing for name in BUILTINS)
    assert main(["map", "builtin:lstm-n1", "--show"]) == 0
    assert capsys.readouterr().out == BUILTINS["lstm-n1"]


@pytest.mark.parametrize(
    ("edits", "match"),
    [
        (("map = ", "mapp = "), "mapp is not a key of a map spec"),
        (('"lstm"', '"elman-relu"'), "map must be one of"),
        (("T = 50", "T = 0"), "T must be an integer >= 1, got 0"),
        (("B = 2", "B = 2.5"), "B must be an integer >= 1, got 2.5"),
        (("seed = 3", "seed = -1"), "seed must be an integer >= 0"),
        (("n = 1", "n = 1\nwarmup = 50"), "warmup must be < T = 50"),
        (('name = "tiny"', 'name = "a/b"'), "name must be letters"),
        (('"recurrent_scale"', '"forget_bias"'), "y.name must differ from x.name"),
        (('"recurrent_scale"', '"input_scale"'), r"x.name must be one of \['recurrent_scale', "),
        (("seed = 3", "seed = 3\n[fixed]\nforget_bias = 1"), "fixed.forget_bias is not a"),
        (("seed = 3", "seed = 3\n[fixed]\ncell_bias = true"), "fixed.cell_bias must be a finite"),
        (("seed = 3", "seed = 3\nfixed = 1"), "fixed must be a table"),
        (("values = [0.5, 1.0, 2.0, 4.0]", "values = []"), "x.values must be a non-empty"),
        (("values = [0.5, 1.0, 2.0, 4.0]", 'values = [1, "a"]'), r"x.values\[1\] must be"),
        (("values = [0.5, 1.0, 2.0, 4.0]", "values = [1, 1]"), "x must not repeat"),
        (("values = [0.5", "start = 0\nvalues = [0.5"), "x.values and x.start exclude"),
        (("count = 3", "count = 0"), "y.count must be an integer >= 1"),
        (("count = 3", ""), "y.count is missing"),
        (("count = 3", 'count = 3\nspacing = "log"'), "y.start and y.stop must be > 0"),
        (("count = 3", 'count = 3\nspacing = "cubic"'), "y.spacing must be 'linear' or 'log'"),
        (("count = 3", "count = 3\nstep = 1"), "y.step is not a key of an axis"),
        (("[y]", "[w]"), "w is not a key of a map spec"),
        ((_Y, ""), "y is missing"),
        (((_Y, ""), ("map = ", "y = 1\nmap = ")), "y must be a table"),
        (("T = 50", "T = "), "not valid TOML"),
    ],
)
def test_a_bad_spec_names_its_key_in_one_line_with_status_2(tmp_path, capsys, edits, match):
    text = SPEC.format(chunk=3)
    for old, new in edits if isinstance(edits[0], tuple) else [edits]:
        assert old in text
        text = text.replace(old, new, 1)
    with pytest.raises(SpecError, match=match):
        parse_spec(text)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["map", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bptt-check map: {path}: ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def _in(tmp_path, *names, store=None):
    """A folder of ``tmp_path`` holding the files ``names`` (and a map store of ``store``)."""
    folder = tmp_path / "out"
    folder.mkdir()
    if store is not None:
        (tmp_path / "earlier.toml").write_text(store)
        assert (
            main(["map", str(tmp_path / "earlier.toml"), "-o", str(folder), "--no-progress"]) == 0
        )
    for name in names:
        (folder / name).write_text("keep me")
    return str(folder)


def _read_only(tmp_path, monkeypatch, folder):
    """``folder`` (from tmp_path) as a user without write access sees it: chmod would not stop
    root, so the check is what is tested (as in test_output.py)."""
    real = os.access
    folder = str(folder)
    monkeypatch.setattr(os, "access", lambda p, mode: os.fspath(p) != folder and real(p, mode))
    return folder


_OTHER_T = SPEC.replace("T = 50", "T = 5").format(chunk=3)

#: id -> (the arguments after the spec, given tmp_path and monkeypatch; stderr; exit status)
CLI_ERRORS = {
    "no spec": (None, "a spec is needed: SPEC.toml or builtin:NAME (see --list)", 2),
    "unknown built-in": ("builtin:gru", "no built-in map 'gru' (built-ins: elman-sigmoid, ", 2),
    "missing spec file": ("missing.toml", "cannot read missing.toml: No such file", 2),
    "scheduler not an address": (
        lambda t, m: ["--scheduler", "nowhere"],
        "--scheduler must be threads, synchronous, processes or a dask.distributed scheduler "
        "address such as tcp://127.0.0.1:8786; got 'nowhere'",
        2,
    ),
    "scheduler without a port": (
        lambda t, m: ["--scheduler", "tcp://127.0.0.1"],
        "--scheduler must be threads, ",
        2,
    ),
    "-o a file": (
        lambda t, m: ["-o", str(t / "afile.txt")],
        "{t}/afile.txt exists and is not a folder: choose another -o",
        2,
    ),
    "-o a folder of other files": (
        lambda t, m: ["-o", _in(t, "notes.txt", "data.csv")],
        "{t}/out holds files that are not a map's (data.csv, notes.txt): give a new or empty "
        "folder, or the folder of an earlier run of this spec, as -o",
        2,
    ),
    "-o an earlier run and a file": (
        lambda t, m: ["-o", _in(t, "notes.txt", store=_OTHER_T)],
        "{t}/out holds files that are not a map's (notes.txt)",
        2,
    ),
    "-o a read-only folder": (
        lambda t, m: ["-o", _read_only(t, m, _in(t))],
        "cannot write into {t}/out: not a writable folder",
        2,
    ),
    "-o in a read-only folder": (
        lambda t, m: ["-o", _read_only(t, m, t) + "/new"],
        "cannot write into {t}: not a writable folder",
        2,
    ),
    "-o /proc/foo": (
        lambda t, m: ["-o", "/proc/foo"],
        "cannot create /proc/foo: No such file or directory",
        2,
    ),
    "-o a sweep of another spec": (
        lambda t, m: ["-o", _in(t, store=_OTHER_T)],
        "{t}/out/map.zarr holds a sweep of another spec (T differs): remove it or use another -o "
        "to start afresh",
        2,
    ),
    "the first chunk fails": (
        lambda t, m: ["-o", str(t / "out"), "--scheduler", "synchronous"],
        "the sweep failed: RuntimeError: interrupted (no chunk was written)",
        1,
    ),
}


@pytest.mark.parametrize(("extra", "message", "status"), CLI_ERRORS.values(), ids=CLI_ERRORS)
def test_command_errors_are_one_line_before_any_work(
    tmp_path, monkeypatch, capsys, extra, message, status
):
    """Each refusal is one line with its exit status, before anything is computed or written:
    the files already there are left as they were, and no map.zarr appears beside them."""
    (tmp_path / "afile.txt").write_text("keep me")
    if callable(extra):
        argv = ["map", _spec(tmp_path), *extra(tmp_path, monkeypatch), "--no-progress"]
    else:
        argv = ["map"] if extra is None else ["map", extra]
    capsys.readouterr()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    monkeypatch.setattr(maps, "point_runs", _Counting(fail_at=1))
    assert main(argv) == status
    err = capsys.readouterr().err
    assert err.startswith("bptt-check map: ") and err.count("\n") == 1
    assert message.format(t=tmp_path) in err
    assert "re-run" not in err  # there is nothing to resume
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before or status == 1  # a failed sweep leaves its empty store


def test_the_good_spec_parses_to_its_grid():
    spec = parse_spec(SPEC.format(chunk=3), "dir/tiny.toml")
    assert spec.x == (0.5, 1.0, 2.0, 4.0) and spec.y == (-1.0, 1.0, 3.0)
    assert (spec.x_name, spec.y_name, spec.chunk, spec.warmup) == (
        "recurrent_scale",
        "forget_bias",
        3,
        None,
    )
    unnamed = parse_spec(SPEC.format(chunk=3).replace('name = "tiny"\n', ""), "dir/mine.toml")
    assert unnamed.name == "mine"
    log = parse_spec(SPEC.format(chunk=3).replace("start = -1", 'spacing = "log"\nstart = 1'))
    np.testing.assert_allclose(log.y, [1.0, np.sqrt(3), 3.0])


def test_a_spec_chooses_the_varied_parameters_and_fixes_the_others(tmp_path, capsys):
    text = SPEC.replace('name = "recurrent_scale"', 'name = "cell_bias"').replace(
        "[y]", '[fixed]\nrecurrent_scale = 2.0\n\n[y]\nname = "forget_bias"'
    )
    out = tmp_path / "out"
    assert main(["map", _spec(tmp_path, text=text), "-o", str(out), "--no-progress"]) == 0
    ds = _open(out)
    ref = maps.lyapunov_map(
        "lstm",
        [0.5, 1, 2, 4],
        [-1, 1, 3],
        n=1,
        T=50,
        B=2,
        seed=3,
        axes=("cell_bias", "forget_bias"),
        fixed={"recurrent_scale": 2.0},
    )
    assert _data(ds).identical(ref.drop_attrs())
    assert ds.attrs["recurrent_scale"] == 2.0 and ds.attrs["input_gate_bias"] == 0.0
    assert "fixed: recurrent_scale = 2, input_gate_bias = 0" in capsys.readouterr().out


def test_the_help_and_the_spec_format_name_every_map_and_its_parameters(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["map", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # the help, unwrapped
    assert f'map = "lstm" {" | ".join(maps.MAPS)}' in text
    for kind, parameters in maps.PARAMETERS.items():
        listed = [*maps.MAPS[kind], *(p for p in parameters if p not in maps.MAPS[kind])]
        assert f"{kind}: {', '.join(listed)} " in text
    assert f"# {' | '.join(maps.MAPS)}" in map_command.__doc__  # the spec's comment
    assert "must be a new folder, an empty one, or the folder of an earlier run" in text
