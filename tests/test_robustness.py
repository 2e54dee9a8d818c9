"""Robustness: float32 is refused clearly, long sequences stay finite in linear memory, and the
same seed gives the same bytes in two separate processes."""

import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from strategies import seeded_lstm, seeded_rnn

from numeric import lstm, rnn


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_float32_and_float16_are_refused_with_the_way_out(dtype):
    case = seeded_lstm()
    with pytest.raises(ValueError, match=r"xs has dtype .*float64 only: pass xs.astype"):
        lstm.vjp(case.params, case.xs.astype(dtype), case.h0, case.c0, case.dH)
    rnn_case = seeded_rnn()
    params = dict(rnn_case.params, W=rnn_case.params["W"].astype(dtype))
    with pytest.raises(ValueError, match=r"params\['W'\] has dtype"):
        rnn.value_and_grad(params, rnn_case.xs, rnn_case.ys, rnn_case.s0)


def test_ten_thousand_steps_give_finite_values_and_gradients():
    rng = np.random.default_rng(0)
    T, n, m = 10_000, 4, 3
    params = {f"W_{g}": rng.normal(size=(n, n + m)) for g in "ifco"}
    params |= {f"b_{g}": rng.normal(size=n) for g in "ifco"}
    xs = rng.normal(size=(T, m))
    H, C = lstm.forward(params, xs, np.zeros(n), np.zeros(n))
    grads = lstm.vjp(params, xs, np.zeros(n), np.zeros(n), dH=np.ones_like(H))
    assert np.isfinite(H).all() and np.isfinite(C).all()
    assert all(np.isfinite(g).all() for g in grads.values())
    rnn_params = {
        "W": rng.normal(size=(n, n)) / 4,
        "U": rng.normal(size=(n, m)),
        "V": rng.normal(size=(2, n)),
    }
    L, rnn_grads = rnn.value_and_grad(rnn_params, xs, rng.uniform(size=(T, 2)), np.zeros(n))
    assert np.isfinite(L) and all(np.isfinite(g).all() for g in rnn_grads.values())
    J = rnn.state_jacobians({k: rnn_params[k] for k in "WU"}, xs, np.zeros(n))
    product = np.eye(n)
    for step in J:
        product = step @ product
    assert np.isfinite(product).all() and abs(product).max() < 1e-100  # underflow, never NaN


def peak_bytes(T: int) -> int:
    rng = np.random.default_rng(0)
    params = {f"W_{g}": rng.normal(size=(4, 7)) for g in "ifco"}
    params |= {f"b_{g}": np.zeros(4) for g in "ifco"}
    xs, dH = rng.normal(size=(T, 2, 3)), rng.normal(size=(T, 2, 4))
    lstm.vjp(params, xs, np.zeros((2, 4)), np.zeros((2, 4)), dH)  # warm the compiled kernels
    tracemalloc.start()
    lstm.vjp(params, xs, np.zeros((2, 4)), np.zeros((2, 4)), dH)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_grows_linearly_in_T():
    small, large = peak_bytes(2_000), peak_bytes(8_000)
    assert large < 5 * small  # 4x the steps: linear, with room for fixed costs


#: One process computes the verdicts once, then writes their JSON as `verify --json` does and
#: the report from them.
_BOTH = (
    "import sys\n"
    "from pathlib import Path\n"
    "from bptt_check import build_report, verify\n"
    "from bptt_check.verdicts import json_text\n"
    "folder = Path(sys.argv[1])\n"
    "verdicts = verify(seed=5)\n"
    "(folder / 'verdicts.json').write_text(json_text(verdicts, 5), encoding='utf-8')\n"
    "build_report(folder / 'report', seed=5, pdf=False, date='2026-11-28', verdicts=verdicts)\n"
)


def test_two_processes_same_seed_same_json_and_report_bytes(tmp_path):
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    # two independent processes, run side by side
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _BOTH, str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for folder in folders
    ]
    for process in processes:
        _, errors = process.communicate()
        assert process.returncode == 0, errors.decode()[-2000:]
    first, second = folders
    assert (first / "verdicts.json").read_bytes() == (second / "verdicts.json").read_bytes()
    for path in sorted((first / "report").rglob("*")):
        if path.is_file():
            twin = second / "report" / path.relative_to(first / "report")
            assert twin.read_bytes() == path.read_bytes(), path.name


def test_missing_pdflatex_is_said_plainly_and_the_tex_is_still_written(
    tmp_path, monkeypatch, capsys
):
    from bptt_check.cli import main

    monkeypatch.setenv("PATH", str(tmp_path))  # no pdflatex (nor anything else) on PATH
    assert main(["report", "-o", str(tmp_path / "out")]) == 0
    message = capsys.readouterr().err.splitlines()
    assert any(line.startswith("pdflatex is not on PATH: writing report.tex") for line in message)
    assert (tmp_path / "out" / "report.tex").stat().st_size > 10_000
    assert not (tmp_path / "out" / "report.pdf").exists()
