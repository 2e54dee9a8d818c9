"""The README as a new user meets it: each Python block runs on its own, in a fresh namespace
(a user pastes one block, not the page), and its findings table states the verdicts
``bptt-check verify`` computes.  The one block that needs the optional torch extra is left
out: CI never installs torch, and tests/test_interop.py pins the same conventions with
recorded data."""

import re
from pathlib import Path

import matplotlib
import pytest
import verified

from bptt_check.evidence import FINDINGS
from bptt_check.registry import ids

README = Path(__file__).parent.parent / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.DOTALL)
RUNNABLE = [block for block in BLOCKS if "import torch" not in block]


def _first_line(block: str) -> str:
    return next(
        line for line in block.splitlines() if line and not line.startswith(("import", "from"))
    )


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda block: _first_line(block)[:40])
def test_a_readme_block_runs_alone(block, tmp_path, monkeypatch):
    matplotlib.use("agg")  # a figure drawn by an example goes nowhere
    monkeypatch.chdir(tmp_path)
    exec(compile(block, str(README), "exec"), {"__name__": "readme"})  # noqa: S102 - the README's own code


def test_the_readme_is_short_and_has_its_blocks():
    assert len(TEXT.splitlines()) <= 160
    assert RUNNABLE and len(BLOCKS) - len(RUNNABLE) <= 1


#: A row of the findings table: | finding | `id`, `id`–`id` | in one line |
ROW = re.compile(r"^\| ([a-z ]+) \| (`[^|]+`) \| [^|]+ \|$", re.MULTILINE)


def _claim_ids(cell: str) -> list[str]:
    """`eq1`, `eq8`–`eq13` -> eq1, eq8, eq9, …, eq13."""
    out = []
    for part in cell.split(", "):
        ends = re.findall(r"`([^`]+)`", part)
        if len(ends) == 2:
            low, high = (int(end.removeprefix("eq")) for end in ends)
            out += [f"eq{number}" for number in range(low, high + 1)]
        else:
            out += ends
    return out


def _stated() -> dict[str, str]:
    stated: dict[str, str] = {}
    for finding, cell in ROW.findall(TEXT):
        for identifier in _claim_ids(cell):
            assert identifier not in stated, f"{identifier} is in the README's table twice"
            stated[identifier] = finding.replace(" ", "-")
    return stated


def test_the_findings_table_names_every_claim_with_a_known_finding():
    stated = _stated()
    assert sorted(stated) == sorted(ids())
    assert set(stated.values()) <= set(FINDINGS)


def test_the_findings_table_states_the_computed_findings():
    assert _stated() == {v.id: v.finding for v in verified.verdicts()}
