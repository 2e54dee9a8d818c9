"""bptt_check.report: the LaTeX/PDF report, built into a temporary folder and compiled."""

import os
import shutil
from pathlib import Path

import pytest

from bptt_check.cli import main
from bptt_check.figures import FIGURES
from bptt_check.latex import tex
from bptt_check.report import build_report
from bptt_check.verdicts import ORDER

PDFLATEX = shutil.which("pdflatex") is not None


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    if os.environ.get("CI") and not PDFLATEX:
        pytest.fail("CI must install pdflatex (.ci/run does): the report has to compile")
    folder = tmp_path_factory.mktemp("built") / "bptt-report"
    build_report(folder, seed=0, pdf=PDFLATEX, date="2026-11-28")
    return folder


def test_every_claim_has_its_section(report):
    source = (report / "report.tex").read_text(encoding="utf-8")
    for identifier in ORDER:
        assert rf"\label{{claim:{identifier}}}" in source


def _pdf_text(report: Path) -> str:
    import subprocess

    result = subprocess.run(
        ["pdftotext", "-layout", str(report / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.mark.skipif(
    not (PDFLATEX and shutil.which("pdftotext")), reason="pdflatex/pdftotext not installed here"
)
def test_the_pdf_reads_as_a_document(report):
    """What a reader sees: no raw keys (snake_case words), no Python literals, no underscores
    (math subscripts are typeset, so any underscore left is outside math)."""
    import re

    text = _pdf_text(report)
    assert "Equation (7): RNN step Jacobian" in text  # the text layer is there
    assert "_" not in text, re.findall(r".{20}_.{20}", text)[:3]
    assert not re.findall(r"\b[a-z]+_[a-z_]+\b", text)
    for literal in ("True", "False", "None", "[[", "]]", "{'", "':"):
        assert literal not in text, literal


def test_no_evidence_key_reaches_the_report(report):
    """The report renders from the evidence's types, never from its JSON keys."""
    from bptt_check.verdicts import verify

    source = (report / "report.tex").read_text(encoding="utf-8")
    keys = {
        key
        for v in verify()
        for item in (*v.evidence, *v.counterexample)
        for key in item.json()
        if "_" in key
    }
    assert keys and not [key for key in keys if key in source]


def test_math_is_never_scaled(report):
    source = (report / "report.tex").read_text(encoding="utf-8")
    for command in ("resizebox", "scalebox", "small", "footnotesize", "scriptsize", "tiny"):
        assert "\\" + command not in source, command
    assert "\\begin{matrix}" not in source  # the LSTM Jacobian is set block by block
    assert source.count("\\fitorbreak") >= 4  # long equations break at their terms


def test_importing_the_report_does_no_work():
    """No equation is built, no figure library loaded, no backend switched at import."""
    import subprocess
    import sys

    code = (
        "import sys, bptt_check.report, bptt_check.verdicts, bptt_check.registry\n"
        "heavy = [m for m in ('derivations.equations', 'matplotlib', 'numpy', 'sympy') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_drawing_the_figures_leaves_the_backend_alone(report):
    import matplotlib

    assert matplotlib.get_backend().lower() != "pdf"  # the report was drawn in this process


def test_every_figure_exists_and_is_not_empty(report):
    for name in FIGURES:
        figure = report / "figures" / name
        assert figure.stat().st_size > 1000
        assert figure.read_bytes().startswith(b"%PDF")


@pytest.mark.skipif(not PDFLATEX, reason="pdflatex is not installed here (CI installs it)")
def test_the_pdf_compiles_without_overfull_boxes(report, tmp_path):
    import subprocess

    assert (report / "report.pdf").read_bytes().startswith(b"%PDF")
    shutil.copytree(report, tmp_path / "again")
    subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
        cwd=tmp_path / "again",
        capture_output=True,
        check=True,
    )
    log = (tmp_path / "again" / "report.log").read_text(encoding="latin-1")
    assert "Overfull \\hbox" not in log
    assert "/pk/" not in log  # no bitmap font generated: every glyph comes from Type 1 fonts
    assert "Unicode character" not in log and "[U+" not in (report / "report.tex").read_text()


def test_same_seed_same_bytes(report, tmp_path):
    again = tmp_path / "bptt-report"
    build_report(again, seed=0, pdf=PDFLATEX, date="2026-11-28")
    for path in sorted(p for p in report.rglob("*") if p.is_file()):
        assert (again / path.relative_to(report)).read_bytes() == path.read_bytes(), path.name


def test_a_failure_leaves_the_previous_report_untouched(report, tmp_path, monkeypatch):
    target = tmp_path / "kept"
    shutil.copytree(report, target)
    before = {p.name: p.read_bytes() for p in target.rglob("*") if p.is_file()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("bptt_check.report.write_figures", broken)
    with pytest.raises(OSError):
        build_report(target, seed=0, pdf=False)
    assert {p.name: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bptt-report-")]


def test_an_unwritable_folder_is_one_line_and_exit_1(tmp_path, capsys):
    assert main(["report", "-o", str(tmp_path / "missing" / "deeper" / "out"), "--no-pdf"]) == 1
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message.startswith("bptt-check report: cannot write into")


def test_a_bad_option_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--seed", "minus-one"])
    assert exit_.value.code == 2


@pytest.mark.parametrize(
    "text, latex",
    [
        ("f_t < 1", r"$f_{t}$ $<$ 1"),
        ("∂C_t/∂C_(t-1) = f_t", r"$\partial C_{t}$/$\partial C_{t-1}$ = $f_{t}$"),
        ("γ‖W‖₂ ≤ 1", r"$\gamma\|$W$\|_2$ $\le$ 1"),
        ("C̃_t ⊙ i_t", r"$\tilde{C}_{t}$ $\odot$ $i_{t}$"),
        ("50% & #1", r"50\% \& \#1"),
        ("$σ", r"\$$\sigma$"),
        ("x^2 — y", r"x\^{}2 --- y"),
        ("∂L/∂h_j", r"$\partial$L/$\partial h_{j}$"),
    ],
)
def test_text_to_latex(text, latex):
    assert tex(text) == latex


def test_report_fragments_pinned(report):
    lines = (report / "report.tex").read_text(encoding="utf-8").splitlines()
    assert r"\section{Equation (7): RNN step Jacobian}\label{claim:eq7}" in lines
    assert (
        r"\hyperref[claim:eq7]{eq7} & \textcolor{holdsif}{\verdict{holds-if}} & right for a "
        r"scalar state; for $n > 1$ the Jacobian is $\operatorname{diag}(\sigma'(a_t))\,W$, not "
        r"$W \operatorname{diag}(\sigma')$ \\"
    ) in lines
    assert r"\[ \frac{\partial S_{t}}{\partial S_{t-1}} = W \cdot \sigma' \]" in lines
    assert r"\date{2026-11-28}" in lines


def test_an_existing_file_is_not_replaced(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    assert main(["report", "-o", str(target), "--no-pdf"]) == 1
    assert target.read_text() == "keep me"
    assert "exists and is not a folder" in capsys.readouterr().err


def test_a_folder_with_other_files_is_not_replaced(tmp_path, capsys):
    target = tmp_path / "project"
    (target / "src").mkdir(parents=True)
    (target / "src" / "main.py").write_text("print('mine')")
    assert main(["report", "-o", str(target), "--no-pdf"]) == 1
    assert (target / "src" / "main.py").read_text() == "print('mine')"
    assert "holds files that are not a report" in capsys.readouterr().err


def test_a_new_claim_renders_through_the_same_types(monkeypatch):
    """A claim of another issue (a Lyapunov map, say) needs a registry entry and typed
    evidence, no report code: its keys never reach the LaTeX, its headers and units do."""
    from bptt_check import registry
    from bptt_check.evidence import Column, Example, Quantity, Table, Text, Verdict
    from bptt_check.report import render

    claim = registry.Claim("lyapunov-map", Text("Claim: a map", "Claim: a map"), 14, "x:y")
    monkeypatch.setitem(registry._BY_ID, claim.id, claim)
    exponents = Table(
        "lyapunov_exponents",
        "Top exponents over the forget bias.",
        (Column("forget_bias", "$b_f$"), Column("top_exponent", r"$\lambda_1$", "per step")),
        ((0.5, 0.26), (1.0, -0.1)),
    )
    share = Quantity("share_exploding", 0.4, "s", "share of the slice that explodes")
    lstm = Example(
        "robust_lstm",
        "an explosion that survives",
        "a 2-unit LSTM",
        params=(Quantity("W_f", [[1.0, 2.0]], "W_f", "parameter"),),
        quantities=(Quantity("growth_at_200", 1e23, "G", "growth", mpmath="1.0e23"),),
    )
    reason = Text("the top exponent is positive", r"the top exponent $\lambda_1$ is positive")
    evidence = (exponents, share, _a_map())
    v = Verdict(
        "lyapunov-map", "fails", reason, 14, evidence, counterexample=(lstm,), finding="wording"
    )
    source = render([v], 0, "undated", [])
    assert r"\includegraphics[width=0.7\linewidth]{figures/lyapunov-map-top-exponent.pdf}" in source
    assert r"\label{claim:lyapunov-map}" in source and r"$\lambda_1$ [per step]" in source
    assert r"$1 \times 10^{23}$" in source and r"$\begin{bmatrix}1 & 2\end{bmatrix}$" in source
    keys = ("lyapunov_exponents", "forget_bias", "share_exploding", "robust_lstm", "growth_at")
    for key in (*keys, "top_exponent"):
        assert key not in source


def _a_map():
    from bptt_check.evidence import Axis, Grid

    return Grid(
        "top_exponent",
        r"The top Lyapunov exponent $\lambda_1$ over the forget bias and the recurrent scale.",
        Axis("scale", r"recurrent scale $w$", (0.5, 1.0, 2.0)),
        Axis("forget_bias", r"$b_f$", (0.0, 1.0)),
        ((-0.2, 0.0, 0.1), (-0.3, -0.1, 0.05)),
        r"$\lambda_1$ per step",
    )


def test_a_map_is_drawn_with_every_axis_labelled_and_the_same_bytes(tmp_path):
    from bptt_check.figures import grid_figure, write_grid

    grid = _a_map()
    figure = grid_figure(grid)
    main_axes, bar = figure.axes
    assert main_axes.get_xlabel() == grid.x.label and main_axes.get_ylabel() == grid.y.label
    assert bar.get_ylabel() == grid.label
    first = write_grid(grid, tmp_path / "a.pdf").read_bytes()
    assert first.startswith(b"%PDF") and first == write_grid(grid, tmp_path / "b.pdf").read_bytes()
    assert grid.json() == {
        "top_exponent": {
            "scale": [0.5, 1.0, 2.0],
            "forget_bias": [0.0, 1.0],
            "values": [[-0.2, 0.0, 0.1], [-0.3, -0.1, 0.05]],
        }
    }
    with pytest.raises(ValueError, match="2 rows of 3"):
        type(grid)("g", "", grid.x, grid.y, ((1.0, 2.0),), "")
