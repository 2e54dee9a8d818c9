"""Notebook display: every public result object through IPython's display formatter.

Each gives a one-line ``text/plain`` (its repr), ``text/html`` after xarray's convention (the
escaped repr in a ``<pre>`` first, then the HTML, hidden until the style shows it) and
``text/latex`` after SymPy's (``$\\displaystyle …$`` for math)."""

import html
import re
import typing

import numpy as np
import pytest
from IPython.core.formatters import DisplayFormatter
from latex2mathml.converter import convert

from bptt_check.evidence import (
    Axis,
    Column,
    Curve,
    Example,
    Grid,
    Item,
    Proofs,
    Proved,
    Quantity,
    Series,
    Statement,
    Table,
    Text,
)
from bptt_check.verdicts import verify


def bundle(obj) -> dict:
    data, _ = DisplayFormatter().format(obj)
    return data


def check_forms(obj) -> dict:
    """The three forms, checked against the conventions; returns the bundle."""
    data = bundle(obj)
    assert set(data) == {"text/plain", "text/html", "text/latex"}
    text, page, latex = data["text/plain"], data["text/html"], data["text/latex"]
    assert text == repr(obj) and "\n" not in text and len(text) <= 120
    assert not re.match(r"\w+\(\w+=", text)  # not a dataclass dump
    fallback = re.search(r"<pre class=['\"][a-z]+-fallback['\"]>(.*?)</pre>", page, re.S)
    assert fallback and html.unescape(fallback.group(1)) == text
    assert "<" not in fallback.group(1)  # escaped: the text shows as text
    assert "display:none" in page and "<script" not in page
    body = page[fallback.end() :]
    assert "$" not in re.sub(r"<svg.*?</svg>", "", body, flags=re.S)  # math is MathML here
    for math in re.findall(r"\$(.*?)\$", latex, re.S):  # each piece of math parses
        convert(math.removeprefix(r"\displaystyle"))
    return data


@pytest.fixture(scope="module")
def verdicts():
    return {v.id: v for v in verify(["eq5", "eq7", "vanish-explode"])}


def test_a_verdict(verdicts):
    data = check_forms(verdicts["eq7"])
    assert data["text/plain"] == "Verdict('eq7', 'holds-if', finding='missing-condition')"
    assert "Equation (7): RNN step Jacobian" in data["text/html"]
    assert "holds-if" in data["text/html"] and "<math" in data["text/html"]
    assert data["text/latex"].startswith(r"$\text{eq7: holds-if}$ — right for a scalar state")


def test_every_evidence_item_of_real_verdicts(verdicts):
    kinds = set()
    for v in verdicts.values():
        for item in (*v.evidence, *v.counterexample):
            check_forms(item)
            kinds.add(type(item).__name__)
    # every kind of evidence item the library has, met in real verdicts
    assert kinds == {t.__name__ for t in typing.get_args(Item)} | {"Example"}
    grid = next(i for i in verdicts["vanish-explode"].evidence if isinstance(i, Grid))
    assert "<svg" in bundle(grid)["text/html"]  # the map, drawn


def test_items_built_by_hand():
    quantity = Quantity("lambda_max", 0.2112, r"\lambda_{\max}", "top exponent", mpmath="0.21")
    data = check_forms(quantity)
    assert data["text/plain"] == "Quantity('lambda_max', 0.2112, mpmath='0.21')"
    assert data["text/latex"] == r"$\displaystyle \lambda_{\max} = 0.2112$"
    proved = Proved("RNN n=2 T=2: delta recursion", r"the $\delta$ recursion", {"n": 2}, False)
    assert check_forms(proved)["text/plain"] == "Proved('RNN n=2 T=2: delta recursion', fails)"
    proofs = Proofs("exact", (proved, Proved("b_1", "a bound", {}, True)))
    assert check_forms(proofs)["text/plain"] == "Proofs('exact', 2 proofs, 1 fail)"
    table = Table("t", r"two $x$", (Column("a", "$a$"), Column("b", "b", "s")), ((1, 2.5),))
    assert check_forms(table)["text/plain"] == "Table('t', 1 rows × 2 columns)"
    statement = Statement("s", Text("0 < σ < 1", r"$0 < \sigma < 1$"), r"\sigma(x) < 1")
    assert check_forms(statement)["text/latex"].endswith(r"$\displaystyle \sigma(x) < 1$")
    example = Example("e", "an example", "an RNN", (quantity,), (), (quantity,))
    assert check_forms(example)["text/plain"] == "Example('e', 1 parameters, 1 quantities)"
    x = Axis("T", "$T$", (1.0, 2.0, 3.0))
    curve = Curve("c", "a curve", x, (Series("$y$", (1.0, 2.0, 4.0)),), "$y$", log_y=True)
    data = check_forms(curve)
    assert (
        data["text/plain"] == "Curve('c', 1 series × 3 points over T)"
        and "<svg" in data["text/html"]
    )
    assert check_forms(Text("f_t ≤ 1", r"$f_t \le 1$"))["text/plain"] == "Text('f_t ≤ 1')"


def test_a_check_report():
    from numeric import checks, rnn

    rng = np.random.default_rng(0)
    params = {"W": rng.uniform(-1, 1, (2, 2)), "U": rng.uniform(-1, 1, (2, 1))}
    params["V"] = rng.uniform(-1, 1, (1, 2))
    problem = rnn.problem(
        params, rng.uniform(-1, 1, (3, 1, 1)), rng.uniform(0, 1, (3, 1, 1)), np.zeros((1, 2))
    )
    report = checks.complex_step(problem)
    data = check_forms(report)
    assert (
        data["text/plain"]
        == f"Report('{report.check}', passed {len(report.comparisons)} comparisons)"
    )
    assert "<table>" in data["text/html"] and "tolerance" in data["text/html"]
    assert data["text/latex"].startswith(r"$\displaystyle \text{")


def test_a_lyapunov_spectrum():
    from derivations import cells
    from numeric import Model, lyapunov

    model = Model(cells.elman("tanh"))
    W = np.array([[0.5, 0.2], [0.0, 0.25]])  # an equilibrium where J_t = W
    params = {"W": W, "U": np.zeros((2, 1))}
    spectrum = lyapunov(model, params, np.zeros((200, 3, 1)), {"S": np.zeros((3, 2))}, k=2)
    data = check_forms(spectrum)
    assert data["text/plain"] == "Spectrum(λ_max -0.6931, k=2, T=200, B=3)"
    assert "vanishes" in data["text/html"]
    assert data["text/latex"] == r"$\displaystyle \lambda_{1} = -0.693147,\ \lambda_{2} = -1.38629$"


def test_a_proof_and_a_cell_s_proofs():
    from derivations import cells, prove
    from derivations.proofs import rnn_delta_recursion

    data = check_forms(rnn_delta_recursion(n=1, T=2))
    assert data["text/plain"] == "Proof('RNN n=1 T=2: δ recursion', holds)"
    assert "every entry equal" in data["text/html"]
    assert (
        data["text/latex"] == r"$\displaystyle \text{RNN n=1 T=2: δ recursion}\colon\ \text{holds}$"
    )
    proofs = prove(cells.elman("tanh"), sizes=((1, 1),))
    assert "Elman RNN (tanh) n=1 m=1 T=1: VJP" in bundle(proofs)["text/html"]
