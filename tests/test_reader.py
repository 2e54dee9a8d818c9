"""derivations.reading: the notation of BPTT derivations read to one tree, errors with positions.

Each row is LaTeX as people write it and the reading, printed canonically (every product and sum
in parentheses, ⊙ for entry-by-entry, · for matrix products)."""

import pytest

from derivations.reading import Ambiguous, Deriv, ReadError, read, read_expression, to_latex

READINGS = [
    (r"\frac{\partial L}{\partial W_{hh}}", r"\frac{\partial L}{\partial W_{hh}}"),
    (r"\hat{h}_t", r"\hat{h}_{t}"),
    (r"\hat{O_{t}}", r"\hat{O}_{t}"),
    (r"a \odot b", r"(a \odot b)"),
    (r"a * b", r"(a \odot b)"),
    (r"W S_{t-1} + U X_t", r"((W \cdot S_{t-1}) + (U \cdot X_{t}))"),
    (r"WS_{t-1}", r"(W \cdot S_{t-1})"),
    (
        r"W^T \delta_{t+1} \odot (1 - h_t^2)",
        r"((W^{\top} \cdot \delta_{t+1}) \odot (1 - h_{t}^{2}))",
    ),
    (r"\delta_t \odot W h_{t-1}", r"(\delta_{t} \odot (W \cdot h_{t-1}))"),
    (r"W^\top x", r"(W^{\top} \cdot x)"),
    (r"W^{\top} x", r"(W^{\top} \cdot x)"),
    (r"{\sigma }'", r"\sigma'"),
    (r"\sigma'(a_t)", r"\sigma'(a_{t})"),
    (r"\sigma^{\prime}(a_t)", r"\sigma'(a_{t})"),
    (r"\tanh(C_t)", r"\tanh(C_{t})"),
    (r"tanh (C_{t})", r"\tanh(C_{t})"),
    (r"\operatorname{diag}(\sigma'(a_t)) W", r"(\operatorname{diag}(\sigma'(a_{t})) \cdot W)"),
    (r"\mathrm{diag}(f_t)", r"\operatorname{diag}(f_{t})"),
    (r"[h_{t-1}; x_t]", r"[h_{t-1}; x_{t}]"),
    (r"\left[h_{t-1}, x_t\right]", r"[h_{t-1}; x_{t}]"),
    (r"\tilde{C}_{t}", r"\tilde{C}_{t}"),
    (r"\sum_{t=1}^{T} \delta_t h_{t-1}^T", r"\sum_{t=1}^{T} {(\delta_{t} \cdot h_{t-1}^{\top})}"),
    (r"\sum_t a_t", r"\sum_{t=1}^{T} {a_{t}}"),
    (
        r"\prod_{k=1}^{t} \frac{\partial S_{k}}{\partial S_{k-1}}",
        r"\prod_{k=1}^{t} {\frac{\partial S_{k}}{\partial S_{k-1}}}",
    ),
    (r"\frac{\mathrm{d} C_t}{\mathrm{d} C_{t-1}}", r"\frac{\mathrm{d} C_{t}}{\mathrm{d} C_{t-1}}"),
    (r"\frac{d h_t}{d h_{t-1}}", r"\frac{\mathrm{d} h_{t}}{\mathrm{d} h_{t-1}}"),
    (
        r"\left.\frac{\partial C_t}{\partial C_{t-1}}\right|_{h_{t-1}}",
        r"\left.\frac{\partial C_{t}}{\partial C_{t-1}}\right|_{h_{t-1}}",
    ),
    (r"\partial E_3 / \partial W", r"\frac{\partial E_{3}}{\partial W}"),
    (r"\frac{1}{2}(y - O_t)^2", r"(\frac{1}{2} \cdot (y - O_{t})^{2})"),
    (r"\log\hat{y}_t", r"\log(\hat{y}_{t})"),
    (r"-y_t \log O_t", r"(- (y_{t} \cdot \log(O_{t})))"),
    (r"\frac{\partial s_3}{\partial s_0}", r"\frac{\partial s_{3}}{\partial s_{0}}"),
    (r"h_{T}", r"h_{T}"),
    (r"\boldsymbol{h}_t", r"h_{t}"),
    (r"\mathcal{L}", r"\mathcal{L}"),
    (r"\nabla_{W} L", r"\frac{\partial L}{\partial W}"),
    (
        r"(1 - z_t) \odot \tilde{h}_t + z_t \odot h_{t-1}",
        r"(((1 - z_{t}) \odot \tilde{h}_{t}) + (z_{t} \odot h_{t-1}))",
    ),
]


@pytest.mark.parametrize("tex, reading", READINGS, ids=[r[0][:24] for r in READINGS])
def test_reads_the_notation(tex, reading):
    assert to_latex(read_expression(tex)) == reading


def test_sympy_misreadings_are_read_right():
    """The three misreadings of SymPy's own reader (issue 19): a derivative stays a derivative."""
    node = read_expression(r"\frac{\partial L}{\partial W_{hh}}")
    assert isinstance(node, Deriv) and node.den.name == "W_hh"


def test_aligned_lines_and_numbers():
    lines = read(
        r"\begin{aligned} \frac{\partial L}{\partial W}&= a \cdot b \\ &= c \ \ \ (5) "
        r"\end{aligned}"
    )
    assert [(line.continued, line.number) for line in lines] == [(False, None), (True, "(5)")]
    (tagged,) = read(r"h_t = o_t \odot \tanh(C_t) \tag{13}")
    assert tagged.number == "(13)"


def test_ambiguous_product_extent_has_both_readings():
    """The article's eq. (5): ∏ followed by a second factor that uses its index."""
    node = read_expression(
        r"\prod_{k=1}^{t} \frac{\partial S_{k}}{\partial S_{k-1}}\cdot \frac{\partial S_{k-1}}"
        r"{\partial W}"
    )
    assert isinstance(node, Ambiguous) and len(node.readings) == 2
    wide, narrow = (to_latex(r) for r in node.readings)
    assert wide.startswith(r"\prod_{k=1}^{t} {(") and narrow.startswith(r"(\prod_{k=1}^{t}")


def test_cdot_mixed_with_odot_is_ambiguous():
    node = read_expression(r"a \odot b \cdot c")
    assert isinstance(node, Ambiguous)
    assert {to_latex(r) for r in node.readings} == {
        r"(a \odot (b \cdot c))",
        r"((a \odot b) \cdot c)",
    }


ERRORS = [
    (r"\frac{\partial L}{\partial W} = \foo", r"unknown command \\foo", 32),
    (r"a + \alpha # b", "unknown character '#'", 11),
    (r"\frac{\partial L}{W}", "∂ in only one", 0),
    (r"W^{(h)} x", "unknown superscript", 1),
    (r"(a + b", r"expected '\)'", 6),
    (r"a = = b", "unexpected '='", 4),
    (r"\sum x", "needs a subscript", 0),
    (r"\hat{a + b}", "must decorate one symbol", 0),
    (r"h_t^2_t", "subscript on something", 5),
    (r"\mathbf{xy}", "not a symbol the reader knows", 0),
    ("", "no formula", 0),
]


@pytest.mark.parametrize("tex, message, pos", ERRORS, ids=[e[1][:20] for e in ERRORS])
def test_errors_name_the_token_and_position(tex, message, pos):
    with pytest.raises(ReadError, match=message) as info:
        read(tex)
    assert info.value.pos == pos
    assert f"offset {pos}" in str(info.value)


def test_source_must_be_text():
    with pytest.raises(TypeError, match="source must be a str"):
        read(7)
