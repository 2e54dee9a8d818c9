"""The README's Python examples run as written, in order, in one namespace (a new user copies
them; the one shell command whose output a block reads runs first).  The one block that needs
the optional torch extra is left out: CI never installs torch, and tests/test_interop.py pins
the same conventions with recorded data."""

import re
from pathlib import Path

import matplotlib

README = Path(__file__).parent.parent / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_python_examples_run(tmp_path, monkeypatch):
    matplotlib.use("agg")  # a figure drawn by an example goes nowhere
    monkeypatch.chdir(tmp_path)
    blocks = [b for b in _blocks() if "import torch" not in b]
    assert len(blocks) >= 8
    namespace: dict = {"__name__": "readme"}
    for block in blocks:
        if "bptt-map-lstm-n8/map.zarr" in block:  # the README runs the command just before
            from bptt_check.cli import main

            assert main(["map", "builtin:lstm-n8", "--no-progress"]) == 0
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - the README's own code
