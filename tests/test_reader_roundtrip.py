"""derivations.reading: any tree of the notation, printed canonically, reads back to itself
(Hypothesis over trees of symbols, numbers, sums, both products, σ/tanh/diag, transposes,
powers, stacks and ∂ fractions)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from derivations.reading import (
    Add,
    Call,
    Concat,
    Deriv,
    Num,
    Pow,
    Prod,
    Sym,
    Transpose,
    read_expression,
    to_latex,
)

SUBS = st.sampled_from([None, "t", "t-1", "t+1", "k", "k-1", "0", "3", "T", "f", "hh"])
symbols = st.builds(
    Sym,
    st.sampled_from(["W", "U", "h", "S", "C", "x", "o", r"\delta", r"\alpha"]),
    st.sampled_from([None, None, "tilde", "hat"]),
    SUBS,
    st.sampled_from([0, 0, 1]),
)
numbers = st.sampled_from(["1", "2", "0.5"]).map(Num)
quantities = st.builds(Sym, st.sampled_from(["L", "h", "C", "W"]), st.none(), SUBS)


def _extend(children):
    return st.one_of(
        st.builds(Prod, st.sampled_from(["mat", "had"]), children, children),
        st.lists(st.tuples(st.sampled_from([1, -1]), children), min_size=2, max_size=3)
        .map(tuple)
        .map(Add),
        st.builds(Call, st.sampled_from([r"\sigma", r"\tanh", "diag", r"\log"]), children),
        st.builds(Transpose, children),
        st.builds(Pow, children, st.sampled_from([2, -1])),
        st.lists(children, min_size=2, max_size=3).map(tuple).map(Concat),
        st.builds(Deriv, quantities, quantities),
    )


trees = st.recursive(st.one_of(symbols, numbers), _extend, max_leaves=8)


@settings(max_examples=300)
@given(trees)
def test_the_canonical_print_reads_back(tree):
    assert read_expression(to_latex(tree)) == tree
