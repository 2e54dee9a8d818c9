"""bptt-check check FILE.py:FUNCTION: exit 0 on a right BPTT, 1 on a wrong one (with the
localized verdict), 2 on a usage error with a one-line message."""

import textwrap

import pytest

from bptt_check.cli import main

ELMAN = textwrap.dedent(
    """
    import numpy as np

    def bptt(params, xs, state0, cotangents, transposed=False):
        W, U, b = params["W"], params["U"], params["b"]
        S = [state0["S"]]
        for x in xs:
            S.append(np.tanh(S[-1] @ W.T + x @ U.T + b))
        dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
        delta = np.zeros_like(S[0])
        for t in reversed(range(len(xs))):
            delta = delta + cotangents["S"][t]
            da = delta * (1 - S[t + 1] ** 2)
            dW += da.T @ S[t]
            dU += da.T @ xs[t]
            db += da.sum(axis=0)
            delta = da @ (W.T if transposed else W)
        return {"W": dW, "U": dU, "b": db}, {"S": delta}

    def buggy(params, xs, state0, cotangents):
        return bptt(params, xs, state0, cotangents, transposed=True)

    def two_arguments(params, xs):
        return {}, {}

    not_a_function = 3
    """
)

DERIVED = textwrap.dedent(
    """
    import numeric
    from derivations import cells

    def lstm(params, xs, state0, cotangents):
        return numeric.Model(cells.lstm()).vjp(params, xs, state0, cotangents)

    def lstm_zero_bias(params, xs, state0, cotangents):
        grads, initial = lstm(params, xs, state0, cotangents)
        return dict(grads, b_f=0 * grads["b_f"]), initial

    def gru(params, xs, state0, cotangents):
        return numeric.Model(cells.gru("torch")).vjp(params, xs, state0, cotangents)
    """
)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user")
    (folder / "elman.py").write_text(ELMAN)
    (folder / "derived.py").write_text(DERIVED)
    (folder / "broken.py").write_text("def f(:\n")
    (folder / "raises.py").write_text(
        "def bptt(params, xs, state0, cotangents):\n    raise RuntimeError('oops in my code')\n"
    )
    return folder


def test_a_right_bptt_passes(files, capsys):
    assert main(["check", f"{files}/elman.py:bptt", "--cell", "elman", "--T", "4"]) == 0
    out = capsys.readouterr().out
    assert "passed" in out and "t=4" in out


def test_a_wrong_bptt_fails_with_the_pull_back_named(files, capsys):
    assert main(["check", f"{files}/elman.py:buggy", "--cell", "elman", "--seed", "3"]) == 1
    out = capsys.readouterr().out
    assert "recurrent pull-back" in out and "FAILED" in out


def test_an_error_in_the_users_function_names_its_line(files, capsys):
    assert main(["check", f"{files}/raises.py:bptt", "--cell", "elman"]) == 1
    error = capsys.readouterr().err
    assert "FAILED: RuntimeError: oops in my code" in error
    assert "raises.py:2, in bptt: raise RuntimeError('oops in my code')" in error


@pytest.mark.parametrize(("function", "cell", "status"), [
    ("lstm", "lstm", 0), ("gru", "gru", 0), ("lstm_zero_bias", "lstm", 1), ("gru", "lstm", 1)
])  # fmt: skip
def test_other_cells(files, capsys, function, cell, status):
    argv = ["check", f"{files}/derived.py:{function}", "--cell", cell, "--n", "2", "--T", "3"]
    assert main(argv) == status
    if (function, cell) == ("gru", "lstm"):  # the wrong cell: its keys are wrong
        assert "FAILED: ValueError: params must have keys" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing.py:bptt", "no such file"),
        ("elman.py:nothing", "has no function 'nothing'"),
        ("elman.py:two_arguments", "must take (params, xs, state0, cotangents)"),
        ("elman.py:not_a_function", "is not a function"),
        ("elman.py", "expected FILE.py:FUNCTION"),
        ("broken.py:f", "cannot import"),
    ],
)
def test_usage_errors_exit_2_with_one_line(files, capsys, target, message):
    assert main(["check", f"{files}/{target}", "--cell", "elman"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_file_that_imports_its_neighbour_is_imported_as_python_file_would(tmp_path, capsys):
    import shutil
    import sys
    from pathlib import Path

    shutil.copy(Path(__file__).parent / "data" / "gru_bptt.py", tmp_path / "gru_bptt.py")
    (tmp_path / "mine.py").write_text("import gru_bptt\n\nvjp = gru_bptt.make()\n")
    path = list(sys.path)
    try:
        assert main(["check", f"{tmp_path}/mine.py:vjp", "--cell", "gru", "--T", "3"]) == 0
        assert sys.path == path  # its folder is on the path while it loads, not afterwards
    finally:
        sys.modules.pop("gru_bptt", None)
    assert "passed" in capsys.readouterr().out
