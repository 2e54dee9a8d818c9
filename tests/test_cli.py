"""bptt_check.cli: the console script's commands, what they print, and their exit statuses."""

import errno
import json
import logging
import os
import subprocess
import sys
import unicodedata
from types import SimpleNamespace

import pytest
import sympy as sp

from bptt_check import __version__
from bptt_check.cli import main
from derivations.equations import equation, equations
from derivations.printing import pretty


def width(line: str) -> int:
    """Columns a line takes on a terminal (a combining accent takes none)."""
    return sum(not unicodedata.combining(c) for c in line)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"bptt-check {__version__}"


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("usage: bptt-check") and "equations" in captured.err
    assert captured.out == ""


def test_equations_print_unicode_math_by_default(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["equations", "7"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == ["(7) RNN step Jacobian", "  as written:", "     ∂Sₜ", "    ───── = W⋅σ'"]
    assert "    ───── = diag(Sₜ ⊙ (1 - Sₜ))⋅W" in lines
    assert not any("\\" in line for line in lines)  # no LaTeX left


@pytest.mark.parametrize("columns", [30, 64, 100])
def test_every_equation_fits_the_terminal(columns, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["equations"]) == 0
    out = capsys.readouterr().out
    assert [f"({n})" in out for n in range(1, 15)] == [True] * 14
    assert max(map(width, out.splitlines())) <= columns


def test_a_long_equation_breaks_between_its_terms():
    """The total derivative dCₜ/dCₜ₋₁ of eq. (14), about 170 columns on one line, is set on
    lines that start with the next term's sign, without cutting a term (no ↪)."""
    eq = equation(14)
    one_line = pretty(eq.as_derived[1], eq.names, width=1000)
    lines = pretty(eq.as_derived[1], eq.names, width=80).splitlines()
    assert max(map(width, one_line.splitlines())) > 150
    assert 4 <= len(lines) <= 8 and max(map(width, lines)) <= 80
    continued = [line.strip() for line in lines[3:]]
    assert continued and all(line[0] in "+-⋅" for line in continued)
    assert "↪" not in "".join(lines)
    assert "diag(fₜ)" in lines[1] and "W_c^(hₜ₋₁)" in "".join(lines)


def test_block_jacobian_is_printed_block_by_block():
    eq = equation(14)
    text = pretty(eq.as_derived[2], eq.names, width=100)
    assert "by blocks:" in text
    bars = [line for line in text.splitlines() if line.startswith("───── = ")]
    assert len(bars) == 4  # ∂Cₜ/∂Cₜ₋₁, ∂Cₜ/∂hₜ₋₁, ∂hₜ/∂Cₜ₋₁, ∂hₜ/∂hₜ₋₁


def test_a_term_wider_than_the_line_is_cut_not_overflowing():
    x = sp.MatrixSymbol("x_{t}", 3, 1)
    long = sp.Eq(x, sp.MatrixSymbol("W_{" + "a" * 60 + "}", 3, 3) * x, evaluate=False)
    lines = pretty(long, width=30).splitlines()
    assert max(map(width, lines)) <= 30 and "↪" in "".join(lines)
    with pytest.raises(ValueError, match="width must be at least 20"):
        pretty(long, width=10)


def test_equations_latex_flag_prints_latex(capsys):
    assert main(["equations", "--latex", "7"]) == 0
    out = capsys.readouterr().out
    assert "(7) RNN step Jacobian" in out
    assert r"as written: \frac{\partial S_{t}}{\partial S_{t-1}} = W \cdot \sigma'" in out
    assert r"\operatorname{diag}\left(S_{t} \odot \left(1 - S_{t}\right)\right) W" in out


def test_equations_without_numbers_print_all_fourteen_in_latex(capsys):
    assert main(["equations", "--latex"]) == 0
    out = capsys.readouterr().out
    assert [f"({n})" in out for n in range(1, 15)] == [True] * 14
    assert len(equations()) == 14


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
    proofs = standard_proofs()
    assert len(lines) == len(proofs) + 1
    assert all(line.endswith("holds") for line in lines[:-1])
    assert lines[-1] == f"{len(proofs)} proofs, {len(proofs)} hold"
    # cells named as the docs name them, not by their graph's name
    assert lines[0].startswith("Elman RNN (σ, BCE) n=1 m=1 k=1 T=1: BPTT  ")
    assert not any("[" in line for line in lines)


def test_prove_counts_a_failed_proof(capsys, monkeypatch):
    from dataclasses import replace

    from derivations.proofs import rnn_bptt

    good = rnn_bptt(n=1, T=1)
    bad = replace(good, derived={k: v + sp.ones(*v.shape) for k, v in good.derived.items()})
    monkeypatch.setattr("derivations.proofs.standard_proofs", lambda: [good, bad])
    assert main(["prove"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith("fails at 4 entries: W[0,0], U[0,0], V[0,0], …")
    assert lines[-1] == "2 proofs, 1 hold, 1 fail"


def test_a_proof_prints_as_one_short_line():
    from dataclasses import replace

    from derivations.proofs import rnn_bptt

    proof = rnn_bptt(n=1, T=2)
    assert repr(proof) == "Proof('Elman RNN (σ, BCE) n=1 m=1 k=1 T=2: BPTT', holds)"
    assert proof.name == "RNN[sigmoid, bce] n=1 m=1 k=1 T=2: BPTT"  # the JSON's key
    wrong = replace(proof, derived={k: v + sp.ones(*v.shape) for k, v in proof.derived.items()})
    assert repr(wrong) == (
        "Proof('Elman RNN (σ, BCE) n=1 m=1 k=1 T=2: BPTT', fails at 4 entries: "
        "W[0,0], U[0,0], V[0,0], …)"
    )
    assert bool(proof) and not wrong


# ---- verify: the table, its counts, and --json paths ---------------------------------------


def fake_verdict(identifier: str, kind: str) -> SimpleNamespace:
    return SimpleNamespace(
        id=identifier,
        verdict=kind,
        reason=f"reason of {identifier}",
        to_json=lambda: {"id": identifier, "verdict": kind},
    )


@pytest.fixture
def fake_verify(monkeypatch):
    """verify() with three canned verdicts: the CLI's table and files, not the checks."""
    calls = []

    def verify(ids=None, seed=0, progress=None):
        calls.append(ids)
        return [
            fake_verdict("eq1", "holds"),
            fake_verdict("eq7", "holds-if"),
            fake_verdict("eq14", "fails"),
            fake_verdict("eq2", "holds"),
        ]

    monkeypatch.setattr("bptt_check.verdicts.verify", verify)
    return calls


def test_verify_prints_a_header_and_the_counts(fake_verify, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    assert main(["verify"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["claim", "verdict", "finding", "reason"]
    assert lines[1].split()[:2] == ["eq1", "holds"] and lines[3].split()[:2] == ["eq14", "fails"]
    assert lines[-1] == "4 claims: 2 holds, 1 holds-if, 1 fails"
    assert len(lines) == 6


def test_verify_below_100_columns_prints_a_block_per_claim(fake_verify, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["verify"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["eq1: holds", "  reason of eq1"]
    assert lines[-1] == "4 claims: 2 holds, 1 holds-if, 1 fails"


def test_verify_json_to_stdout_keeps_the_table_on_stderr(fake_verify, capsys):
    assert main(["verify", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["claims"][2] == {"id": "eq14", "verdict": "fails"}
    assert captured.err.splitlines()[-1] == "4 claims: 2 holds, 1 holds-if, 1 fails"


def test_verify_json_writes_the_file_and_nothing_else(fake_verify, tmp_path, capsys):
    assert main(["verify", "--json", str(tmp_path / "v.json")]) == 0
    assert json.loads((tmp_path / "v.json").read_text())["seed"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.json"]


def unwritable(folder):
    real = os.access

    def access(path, mode, *args, **kwargs):
        if os.path.abspath(path) == os.path.abspath(folder) and mode & os.W_OK:
            return False
        return real(path, mode, *args, **kwargs)

    return access


@pytest.mark.parametrize("case", ["a folder", "under a file", "unwritable folder", "read-only"])
def test_verify_json_path_is_refused_before_any_check(
    case, fake_verify, tmp_path, monkeypatch, capsys
):
    paths = {
        "a folder": tmp_path,
        "under a file": tmp_path / "notes.txt" / "v.json",
        "unwritable folder": tmp_path / "v.json",
        "read-only": tmp_path / "v.json",
    }
    (tmp_path / "notes.txt").write_text("keep")
    if case == "unwritable folder":  # chmod would not stop root: the check is what is tested
        monkeypatch.setattr(os, "access", unwritable(tmp_path))
    if case == "read-only":
        (tmp_path / "v.json").write_text("old")
        monkeypatch.setattr(os, "access", unwritable(tmp_path / "v.json"))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["verify", "--json", str(paths[case])]) == 1
    assert fake_verify == []  # failed fast: no check ran
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("bptt-check verify: ")
    assert captured.err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_failed_json_write_leaves_no_temporary_file(fake_verify, tmp_path, monkeypatch, capsys):
    (tmp_path / "v.json").write_text("old")

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    assert main(["verify", "--json", str(tmp_path / "v.json")]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"bptt-check verify: cannot write {tmp_path / 'v.json'}: No space left on device"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.json"]
    assert (tmp_path / "v.json").read_text() == "old"


# ---- what reaches the terminal ---------------------------------------------------------------


def font_notice():
    """What matplotlib's PDF backend does to a Computer Modern font: fontTools reads its 'head'
    table and logs that its 'created' timestamp seems very low."""
    import matplotlib
    from fontTools.ttLib import TTFont

    TTFont(os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "cmr10.ttf"))["head"]


def test_fonttools_notices_do_not_reach_the_terminal(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING)
    font_notice()
    assert "timestamp seems very low" in caplog.text  # the notice is real
    caplog.clear()
    monkeypatch.setattr("bptt_check.report.verify", lambda **kwargs: [])
    monkeypatch.setattr("bptt_check.report.write_figures", lambda verdicts, folder: font_notice())
    monkeypatch.setattr("bptt_check.report.render", lambda *args: "tex")
    assert main(["report", "--no-pdf", "-o", str(tmp_path / "out")]) == 0
    assert "timestamp" not in caplog.text
    assert logging.getLogger("fontTools").level == logging.NOTSET  # restored after the command


def test_console_script_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "bptt_check.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("bptt-check ")
