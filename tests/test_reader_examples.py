"""The derivation files under examples/: the three derivations found on the web give the
verdicts examples/README.md reports (the article's own file is tests/test_derivation_file.py)."""

from pathlib import Path

import pytest

from bptt_check.claims_derivation import check
from bptt_check.derivation_file import load

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

EXPECTED = {
    "d2l_bptt_2019": dict.fromkeys(
        ["h", "o", "dL/dWqh", "dL/dhT", "dL/dht", "dL/dht-sum", "dL/dWhx", "dL/dWhh"], "holds"
    ),
    "d2l_bptt_2019_tanh": {
        **dict.fromkeys(["h", "o", "dL/dWqh", "dL/dhT"], "holds"),
        **dict.fromkeys(["dL/dht", "dL/dht-sum"], "holds-if"),
        **dict.fromkeys(["dL/dWhx", "dL/dWhh"], "fails"),
    },
    "interactiveprimer_bptt": {
        "recurrence": "holds",
        "step1": "holds-if",
        "step2": "holds",
        "J": "holds",
        "step3": "holds-if",
    },
    "forum_tanh_rnn": {"model": "holds", "recursion": "holds", "step-partial": "fails"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_derivations_give_the_reported_verdicts(name):
    derivation = load(EXAMPLES / f"{name}.toml")
    assert derivation.source.startswith("https://")
    assert {v.id: v.verdict for v in check(derivation)} == EXPECTED[name]


def test_the_missing_tanh_derivative_is_the_counterexample():
    """d2l's ∂L/∂W_hx on the tanh RNN: the 50-digit gradient's first entry and the formula's."""
    verdicts = {v.id: v for v in check(load(EXAMPLES / "d2l_bptt_2019_tanh.toml"))}
    example = verdicts["dL/dWhx"].example()
    assert example.quantity("lhs").value[0][0] == pytest.approx(1.460569858385359, rel=1e-12)
    assert example.quantity("difference").value == pytest.approx(0.6108806402001837, rel=1e-9)


def test_the_derived_bptt_agrees_on_the_identity_rnn():
    """The library's derived BPTT, beside the 50-digit derivatives, on d2l's identity-activation
    RNN (it once returned zero gradients there: 2.03 apart for ∂L/∂W_hx)."""
    verdicts = {v.id: v for v in check(load(EXAMPLES / "d2l_bptt_2019.toml"))}
    for name in ("dL/dWqh", "dL/dWhx", "dL/dWhh"):
        assert verdicts[name].item("derived_bptt_difference").value < 1e-9
