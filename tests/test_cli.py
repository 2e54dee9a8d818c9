"""bptt_check.cli: the console script's commands and exit statuses."""

import subprocess
import sys

import pytest

from bptt_check import __version__
from bptt_check.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"bptt-check {__version__}"


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: bptt-check" in capsys.readouterr().out


def test_equations_prints_both_readings(capsys):
    assert main(["equations", "7"]) == 0
    out = capsys.readouterr().out
    assert "(7) RNN step Jacobian" in out
    assert r"as written: \frac{\partial S_{t}}{\partial S_{t-1}} = W \cdot \sigma'" in out
    assert r"\operatorname{diag}\left(S_{t} \odot \left(1 - S_{t}\right)\right) W" in out


def test_equations_without_numbers_prints_all_fourteen(capsys):
    assert main(["equations"]) == 0
    out = capsys.readouterr().out
    assert [f"({n})" in out for n in range(1, 15)] == [True] * 14


@pytest.mark.parametrize(
    "argv", [["equations", "15"], ["equations", "x"], ["frobnicate"], ["--nope"]]
)
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_prove_reports_every_standard_proof(capsys):
    from derivations.proofs import standard_proofs

    assert main(["prove"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(standard_proofs())
    assert all(line.endswith("holds") for line in lines)


def test_console_script_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "bptt_check.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("bptt-check ")
