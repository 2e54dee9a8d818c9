"""A corpus of BPTT derivations written in the styles found on the web (tests/corpus/*.toml):
each line read to its intended object (its ``reading``, the canonical print of the tree, reviewed
by hand) and given its expected verdict (``expect``).

The share read to the intended object and the count of wrong readings are the reader's measure
(issue 19: at least 95 % and 0); a wrong verdict names the line.
"""

import tomllib
from pathlib import Path

import pytest

from bptt_check.claims_derivation import check
from bptt_check.derivation_file import load
from derivations.reading import to_latex

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.toml"))


def _lines():
    for path in CORPUS:
        for entry in tomllib.loads(path.read_text("utf-8"))["equation"]:
            yield path.stem, entry


def test_the_corpus_is_large_enough():
    entries = list(_lines())
    assert len(CORPUS) >= 4 and len(entries) >= 40
    assert {e["expect"] for _, e in entries} == {"holds", "holds-if", "fails"}


def test_every_line_is_read_to_its_intended_object():
    wrong = []
    total = 0
    for path in CORPUS:
        derivation = load(path)
        for equation in derivation.equations:
            total += 1
            got = r" \\ ".join(to_latex(line) for line in equation.lines)
            entry = next(e for _, e in _lines() if e["id"] == equation.id)
            if got != entry["reading"]:
                wrong.append((path.stem, equation.id, got))
    share = 1 - len(wrong) / total
    assert share >= 0.95 and not wrong, wrong


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_every_line_gets_its_expected_verdict(path):
    derivation = load(path)
    verdicts = check(derivation)
    got = {v.id: v.verdict for v in verdicts}
    expected = {e.id: e.expect for e in derivation.equations}
    assert got == expected
    for verdict in verdicts:
        if verdict.verdict != "holds":  # the counterexample's sides really differ
            assert verdict.example().quantity("difference").value > 1e-6


def test_the_wrong_gru_line_is_named_with_its_counterexample():
    derivation = load(Path(__file__).parent / "corpus" / "gru_one_wrong.toml")
    (verdict,) = [v for v in check(derivation) if v.verdict == "fails"]
    assert verdict.id == "g7" and verdict.finding == "wrong-derivation"
    example = verdict.example()
    assert example.quantity("lhs").mpmath is not None
    assert example.quantity("difference").value > 1e-3


def test_the_canonical_print_reads_back_to_the_same_tree():
    """to_latex is a faithful print: reading it again gives the tree it printed (every corpus
    and article line with one reading)."""
    from derivations.reading import read

    paths = [*CORPUS, Path(__file__).resolve().parent.parent / "examples" / "article.toml"]
    checked = 0
    for path in paths:
        for equation in load(path).equations:
            for line in equation.lines:
                if "\\;|\\;" in to_latex(line):  # an ambiguous node prints both readings
                    continue
                (again,) = read(to_latex(line))
                assert again.sides == line.sides, to_latex(line)
                checked += 1
    assert checked >= 60
