"""bptt_check.report: the LaTeX/PDF report, built into a temporary folder and compiled."""

import os
import shutil
from pathlib import Path

import pytest
import verified

from bptt_check.cli import main
from bptt_check.latex import tex
from bptt_check.report import build_report, figure_file
from bptt_check.verdicts import ORDER

PDFLATEX = shutil.which("pdflatex") is not None


class Watch:
    """What a report build ran: each claim's check, counted by id, and anything that computed
    while the figures or the LaTeX were being drawn (a check, a numeric kernel)."""

    def __init__(self) -> None:
        self.runs: dict[str, int] = {}
        self.rendering = False
        self.rendered = 0
        self.computed_while_rendering: list[str] = []

    def computing(self, what: str) -> None:
        if self.rendering:
            self.computed_while_rendering.append(what)
            raise AssertionError(f"{what} ran while the report was rendered")


def _watched(watch: Watch, patch: pytest.MonkeyPatch) -> None:
    import numeric
    from bptt_check import registry, report

    run = registry.Claim.run

    def counted(claim, seed):
        watch.computing(f"the check of {claim.id}")
        watch.runs[claim.id] = watch.runs.get(claim.id, 0) + 1
        return run(claim, seed)

    patch.setattr(registry.Claim, "run", counted)
    for module, names in (
        (numeric.rnn, ("forward", "value_and_grad", "state_jacobians", "problem")),
        (numeric.lstm, ("forward", "vjp", "state_jacobians", "problem")),
        (numeric, ("product_norms", "lyapunov")),
    ):
        for name in names:
            real = getattr(module, name)

            def guarded(*args, _real=real, _name=name, **kwargs):
                watch.computing(f"numeric {_name}")
                return _real(*args, **kwargs)

            patch.setattr(module, name, guarded)
    for name in ("render", "write_figures", "write_page"):
        real = getattr(report, name)

        def drawing(*args, _real=real, **kwargs):
            watch.rendering = True
            try:
                return _real(*args, **kwargs)
            finally:
                watch.rendering = False
                watch.rendered += 1

        patch.setattr(report, name, drawing)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Watch]:
    """One report build shared by the tests of this module, watched; its verdicts are kept
    for the session's other tests."""
    if os.environ.get("CI") and not PDFLATEX:
        pytest.fail("CI must install pdflatex (.ci/run does): the report has to compile")
    folder = tmp_path_factory.mktemp("built") / "bptt-report"
    watch = Watch()
    found = []
    with pytest.MonkeyPatch.context() as patch:
        _watched(watch, patch)
        import bptt_check.report as report

        real_verify = report.verify

        def keeping(**kwargs):
            found.extend(real_verify(**kwargs))
            return found

        patch.setattr(report, "verify", keeping)
        build_report(folder, seed=0, pdf=PDFLATEX, date="2026-11-28")
    verified.keep(found, 0)
    return folder, watch


@pytest.fixture(scope="module")
def report(built) -> Path:
    return built[0]


@pytest.fixture
def kept_verify(monkeypatch):
    """build_report over the session's verdicts: a test of rendering, not of the checks."""
    monkeypatch.setattr(
        "bptt_check.report.verify", lambda seed=0, **kwargs: verified.verdicts(seed)
    )


def test_the_build_runs_each_check_once_and_none_while_rendering(built):
    _, watch = built
    assert watch.runs == {identifier: 1 for identifier in ORDER}
    assert watch.rendered == 3  # the figures, the LaTeX and the web page, under the guard
    assert watch.computed_while_rendering == []


def test_the_guard_catches_a_renderer_that_computes():
    """The watch is real: a renderer that reran a check would be caught."""
    import numeric
    from bptt_check import registry

    watch = Watch()
    with pytest.MonkeyPatch.context() as patch:
        _watched(watch, patch)
        watch.rendering = True
        with pytest.raises(AssertionError, match="ran while the report was rendered"):
            registry.get("eq3").run(0)
        with pytest.raises(AssertionError, match="numeric state_jacobians"):
            numeric.rnn.state_jacobians({}, None, None)
    assert len(watch.computed_while_rendering) == 2


def test_every_claim_has_its_section(report):
    source = (report / "report.tex").read_text(encoding="utf-8")
    page = (report / "report.html").read_text(encoding="utf-8")
    for identifier in ORDER:
        assert rf"\label{{claim:{identifier}}}" in source
        assert f'<section id="{identifier}"' in page


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
    source = (report / "report.tex").read_text(encoding="utf-8")
    keys = {
        key
        for v in verified.verdicts()
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


def _section(source: str, identifier: str) -> str:
    """The LaTeX of the section of claim ``identifier`` (to the next section)."""
    start = source.index(rf"\label{{claim:{identifier}}}")
    ends = [source.find(mark, start) for mark in ("\\section{", "\\section*{", "\\appendix")]
    return source[start : min(e for e in ends if e > 0)]


def test_every_figure_is_drawn_from_the_evidence_beside_its_claim(report):
    """Each Grid and Curve of the evidence is a figure file, included in its claim's section
    (not in a section of figures at the end), with a numbered caption."""
    from bptt_check.evidence import Curve, Grid

    source = (report / "report.tex").read_text(encoding="utf-8")
    drawn = 0
    for v in verified.verdicts():
        for item in v.evidence:
            if isinstance(item, Grid | Curve):
                name = figure_file(v.id, item.key)
                figure = report / "figures" / name
                assert figure.read_bytes().startswith(b"%PDF") and figure.stat().st_size > 1000
                assert f"figures/{name}" in _section(source, v.id), (v.id, item.key)
                drawn += 1
    assert drawn >= 9 and source.count(r"\textbf{Figure~\thefigure.}") == drawn
    assert sorted(p.name for p in (report / "figures").iterdir()) == sorted(
        figure_file(v.id, i.key)
        for v in verified.verdicts()
        for i in v.evidence
        if isinstance(i, Grid | Curve)
    )


def test_the_lstm_figure_is_the_robust_counterexample(report):
    """Figure 2 of the old report plotted the fragile equilibrium LSTM; the LSTM that explodes
    robustly is sigma-below-one's counterexample, and its growth curve (when the check gives
    one) is drawn in that claim's section; no figure plots the equilibrium LSTM."""
    source = (report / "report.tex").read_text(encoding="utf-8")
    assert "lstm-cell-path.pdf" not in source
    keys = [i.key for i in verified.verdict("sigma-below-one").evidence]
    if "robust_growth_curve" in keys:
        name = figure_file("sigma-below-one", "robust_growth_curve")
        assert f"figures/{name}" in _section(source, "sigma-below-one")


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


def test_same_seed_same_bytes(report, tmp_path, kept_verify):
    """Same verdicts, same bytes: the figures and the LaTeX and the PDF (the verdicts'
    own determinism across processes: tests/test_robustness.py)."""
    again = tmp_path / "bptt-report"
    build_report(again, seed=0, pdf=PDFLATEX, date="2026-11-28")
    for path in sorted(p for p in report.rglob("*") if p.is_file()):
        assert (again / path.relative_to(report)).read_bytes() == path.read_bytes(), path.name


def test_a_failure_leaves_the_previous_report_untouched(report, tmp_path, monkeypatch, kept_verify):
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
        r"\hyperref[claim:eq7]{(7) RNN step Jacobian} & \textcolor{holdsif}{\verdict{holds-if}}"
        r"\newline missing condition & right for a scalar state; for $n > 1$ the Jacobian is "
        r"$\operatorname{diag}(\sigma'(a_t))\,W$, not $W \operatorname{diag}(\sigma')$ \\[0.4ex]"
    ) in lines
    assert r"\[ \frac{\partial S_{t}}{\partial S_{t-1}} = W \cdot \sigma' \]" in lines
    assert r"\date{2026-11-28}" in lines
    assert r"\begin{CJK*}{UTF8}{gbsn}" in lines and r"\usepackage{CJKutf8}" in lines


def test_every_claim_quotes_the_article_in_chinese_with_a_translation(report):
    """The quotes are copied exactly from the article (tests/data/article.txt, the seed) and
    reach the PDF's text, each with its English translation."""
    from bptt_check import registry

    article = (Path(__file__).parent / "data" / "article.txt").read_text(encoding="utf-8")
    source = (report / "report.tex").read_text(encoding="utf-8")
    for claim in registry.CLAIMS:
        assert claim.quote and claim.translation, claim.id
        for line in claim.quote:
            assert line in article, (claim.id, line)
            assert line.replace("σ", r"$\sigma$") in _section(source, claim.id), claim.id
        assert tex(claim.translation) in _section(source, claim.id), claim.id
    if PDFLATEX and shutil.which("pdftotext"):
        text = " ".join(_pdf_text(report).split())
        assert "经过多次连乘(训练)" in text.replace(" ", "")


def test_no_date_no_undated(kept_verify, tmp_path):
    """Without --date the title page carries no date: the CLI's default is no date."""
    from bptt_check.cli import parser
    from bptt_check.report import render

    assert parser().parse_args(["report"]).date == ""
    source = render(verified.verdicts(), 0, "")
    assert r"\date{}" in source.splitlines() and "undated" not in source
    assert r"\date{4 December 2026}" in render(verified.verdicts(), 0, "4 December 2026")


def test_the_summary_counts_findings_by_kind_and_names_claims_in_words(report):
    from bptt_check.evidence import FINDINGS

    source = (report / "report.tex").read_text(encoding="utf-8")
    summary = source[source.index(r"\section*{Summary}") : source.index(r"\section{")]
    counts = {}
    for v in verified.verdicts():
        counts[v.finding] = counts.get(v.finding, 0) + 1
        assert v.finding in FINDINGS
    for kind, count in counts.items():
        assert f"\\textbf{{{count} " in summary, kind
    assert r"\textbf{8 definitions}" in summary and r"\textbf{1 wrong formula}" in summary
    if PDFLATEX and shutil.which("pdftotext"):  # a reader sees names, never the code's ids
        import re

        text = _pdf_text(report)
        for identifier in ORDER:
            assert not re.search(rf"\b{re.escape(identifier)}\b", text), identifier


def test_every_section_says_what_to_take_away(report):
    """Each claim's section has its takeaway when the check wrote one; the claims checked in
    the RNN, LSTM, model and training modules all do."""
    source = (report / "report.tex").read_text(encoding="utf-8")
    own = {f"eq{n}" for n in range(1, 15)} | {"product-is-training"}
    for v in verified.verdicts():
        if v.id in own:
            assert v.takeaway is not None, v.id
        if v.takeaway is not None:
            assert r"\textbf{For a student:} " + v.takeaway.latex in source, v.id


def test_the_glossary_defines_the_terms_before_the_claims(report):
    source = (report / "report.tex").read_text(encoding="utf-8")
    glossary = source[source.index(r"\section*{Notation and terms}") : source.index(r"\section{")]
    for term in (r"$\lambda_{\max}$", r"$\kappa$", r"$W_g^{(h)}$", r"$z_f$", r"$\rho$", "explodes"):
        assert term in glossary, term


def test_reference_tables_are_in_the_appendix_with_tolerances_as_math(report):
    source = (report / "report.tex").read_text(encoding="utf-8")
    appendix = source[source.index(r"\appendix") :]
    body = source[: source.index(r"\appendix")]
    assert "Every check passed" in appendix and "Every check passed" not in body
    assert r"$10^{-12} \max|g| + \varepsilon (20|L| + 4|g|) + O(h^2)$" in appendix
    assert "1e-12" not in source and r"$\times$ max" not in source
    assert "float16" in appendix and "float16" not in body  # σ in floating point
    sigma = _section(source, "sigma-below-one")
    assert r"\,\%$" in sigma  # the maps' shares as percentages


def test_the_numerical_checks_are_evidence_of_the_gradient_claims():
    """The gradient checks are computed by the claims' checks (eq5: the RNN, eq14: the LSTM),
    and every tolerance rule names the relative factor numeric.checks states."""
    import re

    from bptt_check.claims_common import TOLERANCES

    for identifier, model in (("eq5", "rnn"), ("eq14", "lstm")):
        table = verified.verdict(identifier).item(f"numerical_checks_{model}")
        assert table.appendix and len(table.rows) == len(TOLERANCES)
        for check, count, error, tolerance, rule in table.rows:
            assert count >= 1 and error <= tolerance, check.value
            words, latex = TOLERANCES[check.value]
            assert rule.latex == latex
            stated = re.search(r"(\d+)e-(\d+) ×", rule.value)
            if stated:  # the relative factor the check states is the one typeset
                assert rf"10^{{-{int(stated.group(2))}}}" in latex, (check.value, rule.value)


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
    source = render([v], 0)
    figure = r"\includegraphics[width=0.72\linewidth]{figures/lyapunov-map-top-exponent.pdf}"
    assert figure in source
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


def test_a_share_column_prints_as_a_percentage_and_reference_tables_go_to_the_appendix():
    """Column.percent and Table.appendix are data a check sets; the renderer follows them."""
    from bptt_check.evidence import FINDINGS, Column, Table
    from bptt_check.glossary import FINDING_NAMES
    from bptt_check.report_items import appendix_items, evidence

    shares = Table(
        "shares",
        "Shares.",
        (Column("n", "$n$"), Column("explodes", "explodes", percent=True)),
        ((8, 0.15625),),
    )
    printed = "\n".join(evidence("x", (shares,)))
    assert r"$15.6\,\%$" in printed and "0.15625" not in printed
    detail = Table("detail", "Detail.", (Column("a", "a"),), ((1.0,),), appendix=True)
    assert evidence("x", (detail,)) == []
    v = verified.verdict("eq14")
    assert any("Every check passed" in part for part in appendix_items(v))
    assert set(FINDING_NAMES) == set(FINDINGS)  # every kind of finding has its noun
