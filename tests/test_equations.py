"""derivations.equations: every equation (1)-(14) in both readings, pinned by exact LaTeX.

One row per printed line (a derived gradient is several lines: the recursion, then the sum).
A change to a derivation changes its derived row, so these strings are reviewed, not refreshed.
"""

import pytest

from derivations.equations import equation, equations

AS_WRITTEN = [
    (1, 0, r"S_{t} = \delta\left(W S_{t-1} + U X_{t}\right)"),
    (2, 0, r"O_{t} = \delta\left(V S_{t}\right)"),
    (3, 0, r"L = - \sum_{t=1}^{n} {O}_{t} \log{\left({\hat{O}}_{t} \right)}"),
    (
        4,
        0,
        r"\frac{\partial L}{\partial V} = \frac{\partial L}{\partial O_{t}} \cdot \frac{\partial O_{t}}{\partial V}",
    ),
    (
        5,
        0,
        r"\frac{\partial L}{\partial W} = \frac{\partial L}{\partial O_{t}} \cdot \frac{\partial O_{t}}{\partial S_{t}} \cdot \frac{\partial S_{t}}{\partial S_{t-1}} \cdot \frac{\partial S_{t-1}}{\partial S_{t-2}} \cdot \cdots \cdot \frac{\partial {S}_{1}}{\partial {S}_{0}} \cdot \frac{\partial {S}_{0}}{\partial W}",
    ),
    (
        5,
        1,
        r"\frac{\partial L}{\partial W} = \frac{\partial L}{\partial O_{t}} \cdot \frac{\partial O_{t}}{\partial S_{t}} \cdot \prod_{k=1}^{t} \frac{\partial {S}_{k}}{\partial {S}_{k - 1}} \cdot \frac{\partial {S}_{k - 1}}{\partial W}",
    ),
    (
        6,
        0,
        r"\frac{\partial L}{\partial U} = \frac{\partial L}{\partial O_{t}} \cdot \frac{\partial O_{t}}{\partial S_{t}} \cdot \frac{\partial S_{t}}{\partial S_{t-1}} \cdot \frac{\partial S_{t-1}}{\partial S_{t-2}} \cdot \cdots \cdot \frac{\partial {S}_{1}}{\partial {S}_{0}} \cdot \frac{\partial {S}_{0}}{\partial U}",
    ),
    (
        6,
        1,
        r"\frac{\partial L}{\partial U} = \frac{\partial L}{\partial O_{t}} \cdot \frac{\partial O_{t}}{\partial S_{t}} \cdot \prod_{k=1}^{t} \frac{\partial {S}_{k}}{\partial {S}_{k - 1}} \cdot \frac{\partial {S}_{k - 1}}{\partial U}",
    ),
    (7, 0, r"\frac{\partial S_{t}}{\partial S_{t-1}} = W \cdot \sigma'"),
    (8, 0, r"i_{t} = \sigma\left(W_{i} \left[h_{t-1}; x_{t}\right] + b_{i}\right)"),
    (9, 0, r"f_{t} = \sigma\left(W_{f} \left[h_{t-1}; x_{t}\right] + b_{f}\right)"),
    (10, 0, r"\tilde{C}_{t} = \tanh\left(W_{c} \left[h_{t-1}; x_{t}\right] + b_{c}\right)"),
    (11, 0, r"C_{t} = i_{t} \odot \tilde{C}_{t} + f_{t} \odot C_{t-1}"),
    (12, 0, r"o_{t} = \sigma\left(W_{o} \left[h_{t-1}; x_{t}\right] + b_{o}\right)"),
    (13, 0, r"h_{t} = o_{t} \odot \tanh\left(C_{t}\right)"),
    (14, 0, r"\frac{\partial C_{t}}{\partial C_{t-1}} = f_{t} = \sigma"),
]

AS_DERIVED = [
    (1, 0, r"S_{t} = \sigma\left(W S_{t-1} + U X_{t}\right)"),
    (2, 0, r"O_{t} = \sigma\left(V S_{t}\right)"),
    (
        3,
        0,
        r"L = \sum_{\substack{1 \leq j \leq k\\1 \leq t \leq T}} \left(- \left(1 - {y}_{t,j}\right) \log{\left(1 - {O}_{t,j} \right)} - \log{\left({O}_{t,j} \right)} {y}_{t,j}\right)",
    ),
    (
        4,
        0,
        r"\frac{\partial L}{\partial V} = \sum_{t=1}^{T} \left(O_{t} - y_{t}\right) S_{t}^{\top}",
    ),
    (5, 0, r"\delta_{t} = V^{\top} \left(O_{t} - y_{t}\right) + W^{\top} \bar{a}_{t+1}"),
    (5, 1, r"\bar{a}_{t} = S_{t} \odot \delta_{t} \odot \left(1 - S_{t}\right)"),
    (5, 2, r"\frac{\partial L}{\partial W} = \sum_{t=1}^{T} \bar{a}_{t} S_{t-1}^{\top}"),
    (6, 0, r"\delta_{t} = V^{\top} \left(O_{t} - y_{t}\right) + W^{\top} \bar{a}_{t+1}"),
    (6, 1, r"\bar{a}_{t} = S_{t} \odot \delta_{t} \odot \left(1 - S_{t}\right)"),
    (6, 2, r"\frac{\partial L}{\partial U} = \sum_{t=1}^{T} \bar{a}_{t} X_{t}^{\top}"),
    (
        7,
        0,
        r"\frac{\partial S_{t}}{\partial S_{t-1}} = \operatorname{diag}\left(S_{t} \odot \left(1 - S_{t}\right)\right) W",
    ),
    (8, 0, r"i_{t} = \sigma\left(W_{i} \left[h_{t-1}; x_{t}\right] + b_{i}\right)"),
    (9, 0, r"f_{t} = \sigma\left(W_{f} \left[h_{t-1}; x_{t}\right] + b_{f}\right)"),
    (10, 0, r"\tilde{C}_{t} = \tanh\left(W_{c} \left[h_{t-1}; x_{t}\right] + b_{c}\right)"),
    (11, 0, r"C_{t} = i_{t} \odot \tilde{C}_{t} + f_{t} \odot C_{t-1}"),
    (12, 0, r"o_{t} = \sigma\left(W_{o} \left[h_{t-1}; x_{t}\right] + b_{o}\right)"),
    (13, 0, r"h_{t} = o_{t} \odot \tanh\left(C_{t}\right)"),
    (
        14,
        0,
        r"\left.\frac{\partial C_{t}}{\partial C_{t-1}}\right|_{h_{t-1}} = \operatorname{diag}\left(f_{t}\right)",
    ),
    (
        14,
        1,
        r"\frac{\mathrm{d} C_{t}}{\mathrm{d} C_{t-1}} = \operatorname{diag}\left(f_{t}\right) + \left(\operatorname{diag}\left(C_{t-1} \odot f_{t} \odot \left(1 - f_{t}\right)\right) W_{f}^{(h_{t-1})} + \operatorname{diag}\left(i_{t} \odot \left(1 - \tilde{C}_{t}^{2}\right)\right) W_{c}^{(h_{t-1})} + \operatorname{diag}\left(\tilde{C}_{t} \odot i_{t} \odot \left(1 - i_{t}\right)\right) W_{i}^{(h_{t-1})}\right) \operatorname{diag}\left(o_{t-1} \odot \left(1 - \tanh^{2}{\left(C_{t-1} \right)}\right)\right)",
    ),
    (
        14,
        2,
        r"\frac{\partial \left[C_{t}; h_{t}\right]}{\partial \left[C_{t-1}; h_{t-1}\right]} = \left[\begin{matrix}\operatorname{diag}\left(f_{t}\right) & \operatorname{diag}\left(C_{t-1} \odot f_{t} \odot \left(1 - f_{t}\right)\right) W_{f}^{(h_{t-1})} + \operatorname{diag}\left(i_{t} \odot \left(1 - \tilde{C}_{t}^{2}\right)\right) W_{c}^{(h_{t-1})} + \operatorname{diag}\left(\tilde{C}_{t} \odot i_{t} \odot \left(1 - i_{t}\right)\right) W_{i}^{(h_{t-1})}\\\operatorname{diag}\left(f_{t} \odot o_{t} \odot \left(1 - \tanh^{2}{\left(C_{t} \right)}\right)\right) & \operatorname{diag}\left(C_{t-1} \odot f_{t} \odot o_{t} \odot \left(1 - f_{t}\right) \odot \left(1 - \tanh^{2}{\left(C_{t} \right)}\right)\right) W_{f}^{(h_{t-1})} + \operatorname{diag}\left(i_{t} \odot o_{t} \odot \left(1 - \tilde{C}_{t}^{2}\right) \odot \left(1 - \tanh^{2}{\left(C_{t} \right)}\right)\right) W_{c}^{(h_{t-1})} + \operatorname{diag}\left(\tilde{C}_{t} \odot i_{t} \odot o_{t} \odot \left(1 - i_{t}\right) \odot \left(1 - \tanh^{2}{\left(C_{t} \right)}\right)\right) W_{i}^{(h_{t-1})} + \operatorname{diag}\left(o_{t} \odot \left(1 - o_{t}\right) \odot \tanh{\left(C_{t} \right)}\right) W_{o}^{(h_{t-1})}\end{matrix}\right]",
    ),
]


def line(number, reading, index):
    return equation(number).latex(reading).split(r" \\ ")[index]


@pytest.mark.parametrize("number, index, tex", AS_WRITTEN, ids=lambda v: str(v)[:12])
def test_as_written_latex(number, index, tex):
    assert line(number, "as_written", index) == tex


@pytest.mark.parametrize("number, index, tex", AS_DERIVED, ids=lambda v: str(v)[:12])
def test_as_derived_latex(number, index, tex):
    assert line(number, "as_derived", index) == tex


def test_every_line_is_pinned():
    for number, eq in equations().items():
        for reading, table in (("as_written", AS_WRITTEN), ("as_derived", AS_DERIVED)):
            printed = len(eq.latex(reading).split(r" \\ "))
            assert printed == sum(row[0] == number for row in table), (number, reading)


def test_the_article_numbers_fourteen_equations():
    table = equations()
    assert sorted(table) == list(range(1, 15))
    assert all(eq.number == number for number, eq in table.items())


def test_written_and_derived_differ_where_the_article_is_wrong_or_partial():
    differs = {
        n for n, eq in equations().items() if eq.latex("as_written") != eq.latex("as_derived")
    }
    # (1)-(2) differ only in the name δ versus σ; the LSTM's model equations are read as written
    assert differs == {1, 2, 3, 4, 5, 6, 7, 14}
    for number in range(8, 14):
        assert equation(number).latex("as_written") == equation(number).latex("as_derived")


def test_unknown_equation_and_reading_are_refused():
    with pytest.raises(ValueError, match="1-14"):
        equation(15)
    with pytest.raises(ValueError, match="reading must be"):
        equation(1).latex("as_imagined")


def test_equations_are_cached():
    assert equations() is equations()  # built once: the second request is the same table


def test_long_lines_break_at_the_terms_of_their_sums():
    """The derived eq. (14): the total derivative cut at its four terms (the last three inside
    the parentheses), the 2n × 2n Jacobian shown block by block, each block cut at its terms."""
    displays = equation(14).displays("as_derived")
    assert [len(d.terms) for d in displays] == [1, 4, 1, 3, 1, 4]
    total = displays[1]
    assert total.latex == line(14, "as_derived", 1)
    assert total.lhs == r"\frac{\mathrm{d} C_{t}}{\mathrm{d} C_{t-1}}"
    assert total.terms[0] == r"\operatorname{diag}\left(f_{t}\right)"
    assert total.terms[1].startswith(r"+ \Bigl(\operatorname{diag}")
    assert total.terms[3].endswith(
        r"\Bigr) \operatorname{diag}\left(o_{t-1} \odot \left(1 - \tanh^{2}{\left(C_{t-1} "
        r"\right)}\right)\right)"
    )
    assert all(t.startswith(("+ ", "-")) for d in displays for t in d.terms[1:])
    assert displays[2].intro == (
        r"The blocks of the state Jacobian $\partial \left[C_{t}; h_{t}\right] / \partial "
        r"\left[C_{t-1}; h_{t-1}\right]$:"
    )
    assert not any(d.intro for d in (*displays[:2], *displays[3:]))
    blocks = [d.lhs or d.latex.split(" = ")[0] for d in displays[2:]]
    assert blocks == [
        r"\frac{\partial C_{t}}{\partial C_{t-1}}",
        r"\frac{\partial C_{t}}{\partial h_{t-1}}",
        r"\frac{\partial h_{t}}{\partial C_{t-1}}",
        r"\frac{\partial h_{t}}{\partial h_{t-1}}",
    ]
    # a line with one term is its own LaTeX, unchanged
    (single,) = equation(7).displays("as_derived")
    assert single.terms == (line(7, "as_derived", 0),) and single.lhs == ""
    with pytest.raises(ValueError, match="reading must be"):
        equation(1).displays("as_imagined")
