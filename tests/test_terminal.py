"""What reaches a terminal: verify's table at the terminal's width, its progress line, one
notation, and the equations broken only between the terms of their sums."""

import io
import os
import re
import unicodedata

import pytest

from bptt_check.cli import _table, main
from bptt_check.verdicts import verify
from derivations.equations import equations
from derivations.printing import unicode_math


def width(line: str) -> int:
    """Columns a line takes on a terminal (a combining accent takes none)."""
    return sum(not unicodedata.combining(c) for c in line)


@pytest.fixture(scope="module")
def verdicts():
    return verify()  # computed once per process


def printed(verdicts, columns: int) -> list[str]:
    stream = io.StringIO()
    _table(verdicts, stream, columns)
    return stream.getvalue().splitlines()


def reasons_as_printed(lines: list[str], verdicts, columns: int) -> dict[str, str]:
    """Each claim's reason read back from the printed rows (a test's view of the layout)."""
    out: dict[str, list[str]] = {}
    current = None
    if columns >= 100:  # a table: the reason column starts where the header says
        start = lines[0].index("reason")
        for line in lines[1:-1]:
            if line[:start].strip():
                current = line.split()[0]
                out[current] = []
            out[current].append(line[start:])
    else:  # one block per claim: "id: verdict (finding)", then the reason indented
        for line in lines[:-1]:
            if not line.startswith(" "):
                current = line.split(":")[0]
                out[current] = []
            else:
                out[current].append(line.strip())
    return {key: " ".join(parts) for key, parts in out.items()}


@pytest.mark.parametrize("columns", [80, 100, 200])
def test_verify_shows_every_row_whole(verdicts, columns):
    lines = printed(verdicts, columns)
    assert max(map(width, lines)) <= columns
    assert lines[-1] == "18 claims: " + ", ".join(
        f"{sum(v.verdict == k for v in verdicts)} {k}" for k in ("holds", "holds-if", "fails")
    )
    read = reasons_as_printed(lines, verdicts, columns)
    assert list(read) == [v.id for v in verdicts]
    for v in verdicts:  # every word whole and in order: lines break only between words
        assert read[v.id].split() == unicode_math(str(v.reason)).split(), v.id
    # ... and never beside a relation: no line ends with "n" to go on with "> 1"
    assert not [line for line in lines if re.search(r"(^|\s)[=<>≤≥·]$|^\s*[=<>≤≥·]\s", line)]
    if columns < 100:
        assert "eq7: holds-if (missing condition)" in lines
    else:
        assert lines[0].split() == ["claim", "verdict", "finding", "reason"]


def test_one_notation_in_the_table(verdicts):
    text = "\n".join(printed(verdicts, 100))
    assert "hₜ₋₁" in text and "Sₜ₋₁ᵀ" in text
    assert not re.search(r"_\(t|_\{|_t\b|_0\b", text)  # h_(t-1), h_{t-1}, f_t, S_0: gone


def test_piped_output_is_80_columns_or_columns(monkeypatch):
    import shutil

    def no_terminal(fd=None):
        raise OSError("not a terminal")

    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(os, "get_terminal_size", no_terminal)
    assert shutil.get_terminal_size((80, 24)).columns == 80
    from bptt_check import cli

    assert cli._width() == 80
    monkeypatch.setenv("COLUMNS", "132")
    assert cli._width() == 132


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def fake_verify(ids=None, seed=0, progress=None):
    from types import SimpleNamespace

    from bptt_check.evidence import Text

    out = []
    for number, identifier in enumerate(("eq1", "eq7", "eq14"), 1):
        if progress is not None:
            progress(number, 3, identifier)
        out.append(SimpleNamespace(id=identifier, verdict="holds", reason=Text("r", "r")))
    return out


def test_progress_is_one_line_on_a_terminal_and_cleared(monkeypatch, capsys):
    monkeypatch.setattr("bptt_check.verdicts.verify", fake_verify)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["verify"]) == 0
    err = terminal.getvalue()
    assert "checking eq1" in err and "checking eq14" in err and "2/3" in err
    assert "\n" not in err  # one line, redrawn with \r
    assert err.endswith("\r")  # and cleared: the last write blanks it, the cursor at its start
    assert err.rsplit("\r", 2)[-2].strip() == ""
    assert capsys.readouterr().out.splitlines()[-1] == "3 claims: 3 holds, 0 holds-if, 0 fails"


def test_no_progress_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr("bptt_check.verdicts.verify", fake_verify)
    assert main(["verify"]) == 0
    assert capsys.readouterr().err == ""


def test_notes_speak_to_readers_not_to_programmers():
    for eq in equations().values():
        note = eq.note
        assert not re.search(r"derivations\.|[A-Z]{4,}|'[a-z]+'|\w+\.\w+\(", note), eq.number


@pytest.mark.parametrize("columns", [64, 80, 100])
def test_equations_break_only_between_terms(columns, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["equations"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(width, lines)) <= columns
    cut = [line for line in lines if line.strip().startswith("⋅W")]  # diag(…) / ⋅W_g^(h)
    # a term is cut between its factors only when it alone is wider than the line: at 64
    # columns the four-factor terms of ∂hₜ/∂hₜ₋₁ are, at 80 none is
    assert (len(cut) == 3) if columns == 64 else not cut
    text = "\n".join(lines)
    for term in ("diag(C̃ₜ ⊙ iₜ ⊙ (1 - iₜ))⋅W_i^(hₜ₋₁)", "diag(iₜ ⊙ (1 - C̃ₜ²))⋅W_c^(hₜ₋₁)"):
        assert term in text  # each term of dCₜ/dCₜ₋₁ whole on its line
    assert "Wᵢ" not in text and "W_f^(hₜ₋₁)" in text  # the gates named alike
    assert not re.search(r"_\(t|_\{|\b[SfhCo]_t\b", text)  # one notation in the notes too
