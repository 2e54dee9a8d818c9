r"""``bptt-check verify FILE.toml`` and ``bptt-check report FILE.toml -o DIR``: a derivation
file checked equation by equation (:mod:`bptt_check.claims_derivation`).

A file that cannot be read fails before any work, with exit status 2 and one line naming the key
or the LaTeX token; the JSON is the schema-2 document of ``bptt-check verify --json``, one claim
per equation (its id the equation's id).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .derivation_file import Derivation, DerivationFileError, load
from .evidence import ConfirmationError, Verdict

__all__ = ["render", "report_file", "verify_file"]

_KINDS = ("holds", "holds-if", "fails")
_OWN = {"report.tex", "report.pdf", "report.aux", "report.log", "report.out"}


def _load(path: str, command: str) -> Derivation | None:
    try:
        return load(path)
    except DerivationFileError as error:
        print(f"bptt-check {command}: {error}", file=sys.stderr)
        return None


def _check(derivation: Derivation, seed: int, command: str) -> list[Verdict] | None:
    from .claims_derivation import check
    from .cli import _Progress  # verify's one-line progress on a terminal, nothing elsewhere

    try:
        with _Progress() as progress:
            return check(derivation, seed, progress.claim)
    except (ConfirmationError, ValueError) as error:
        print(f"bptt-check {command}: a check could not run: {error}", file=sys.stderr)
        return None


def _table(title: str, verdicts: list[Verdict], stream) -> None:
    width = max([len("equation"), *(len(v.id) for v in verdicts)])
    print(title, file=stream)
    print(f"{'equation':<{width}}  {'verdict':<8}  reason", file=stream)
    for v in verdicts:
        reason = v.reason.plain
        print(f"{v.id:<{width}}  {v.verdict:<8}  {reason}", file=stream)
    counts = ", ".join(f"{sum(v.verdict == k for v in verdicts)} {k}" for k in _KINDS)
    print(f"{len(verdicts)} equation{'' if len(verdicts) == 1 else 's'}: {counts}", file=stream)


def verify_file(args: argparse.Namespace) -> int:
    """``bptt-check verify FILE.toml [--json PATH|-] [--seed N]``."""
    from .output import OutputError, file_target, write_text
    from .verdicts import document

    if getattr(args, "claims", None):
        print("bptt-check verify: --claims names the article's claims; a file checks its own "
              "equations", file=sys.stderr)  # fmt: skip
        return 2
    derivation = _load(args.file, "verify")
    if derivation is None:
        return 2
    target = None
    if args.json not in (None, "-"):
        try:
            target = file_target(args.json)
        except OutputError as error:
            print(f"bptt-check verify: {error}", file=sys.stderr)
            return 1
    verdicts = _check(derivation, args.seed, "verify")
    if verdicts is None:
        return 1
    _table(derivation.title, verdicts, sys.stderr if args.json == "-" else sys.stdout)
    if args.json is not None:
        text = json.dumps(document(verdicts, args.seed), indent=2, ensure_ascii=False) + "\n"
        if target is None:
            sys.stdout.write(text)
        else:
            write_text(target, text)
    return 0


_UNICODE = {
    "∂": r"$\partial$",
    "σ": r"$\sigma$",
    "⊙": r"$\odot$",
    "⋯": r"$\cdots$",
    "∏": r"$\prod$",
    "Σ": r"$\Sigma$",
    "ᵀ": r"$^{\top}$",
    "−": "-",
    "′": "'",
    "≠": r"$\neq$",
    "→": r"$\to$",
    "·": r"$\cdot$",
    "δ": r"$\delta$",
    "…": "...",
}


def _escape(text: str) -> str:
    """Plain text for LaTeX: special characters escaped, math symbols set as math."""
    out = []
    for char in text:
        if char in _UNICODE:
            out.append(_UNICODE[char])
        elif char == "\\":
            out.append(r"\textbackslash{}")
        elif char in "&%_#${}":
            out.append("\\" + char)
        elif char in "^~":
            out.append(r"\textasciicircum{}" if char == "^" else r"\textasciitilde{}")
        else:
            out.append(char)
    return "".join(out)


def _display(latex: str) -> str:
    """An equation's LaTeX as an align* display: its printed numbers ``\\ \\ (7)`` as tags."""
    body = latex.replace(r"\begin{aligned}", "").replace(r"\end{aligned}", "")
    body = re.sub(r"(?:\\\s)+\s*\((\d+)\)", r" \\tag{\1}", body)
    lines = [line if "&" in line else line.replace("=", "&=", 1) for line in body.split(r"\\")]
    return "\\begin{align*}\n" + r" \\ ".join(lines) + "\n\\end{align*}"


def render(derivation: Derivation, verdicts: list[Verdict], seed: int) -> str:
    """The LaTeX report of a derivation file: each equation as written, its verdict and reason,
    the condition it needs and its counterexample's numbers."""
    out = [
        r"\documentclass[11pt]{article}",
        r"\usepackage{amsmath,amssymb,booktabs}",
        r"\usepackage[margin=2.5cm]{geometry}",
        r"\usepackage{CJKutf8}",
        r"\begin{document}",
        r"\begin{CJK*}{UTF8}{gbsn}",
        rf"\section*{{{_escape(derivation.title)}}}",
        rf"Cell \texttt{{{_escape(derivation.cell_name)}}}; seed {seed}. "
        r"Each equation as written, then its verdict.",
    ]
    for equation, verdict in zip(derivation.equations, verdicts, strict=True):
        out.append(rf"\subsection*{{{_escape(equation.id)}: {_escape(equation.text)}}}")
        out.append(_display(equation.latex))
        out.append(rf"\textbf{{{verdict.verdict}}} ({_escape(verdict.finding)}): "
                   f"{_escape(verdict.reason.plain)}.")  # fmt: skip
        if verdict.condition is not None:
            out.append(rf"\par Condition: {_escape(verdict.condition.plain)}.")
        for example in verdict.counterexample:
            out.append(
                rf"\par Counterexample: {_escape(example.title)} ({_escape(example.model)})."
            )
            rows = [
                rf"{_escape(q.meaning)} & {_escape(str(q.value)[:160])} \\"
                for q in example.quantities
            ]
            out.append("\\par\\begin{tabular}{p{5cm}p{10cm}}\\toprule\n" + "\n".join(rows)
                       + "\n\\bottomrule\\end{tabular}")  # fmt: skip
    out += [r"\end{CJK*}", r"\end{document}", ""]
    return "\n".join(out)


def report_file(args: argparse.Namespace) -> int:
    """``bptt-check report FILE.toml -o DIR [--no-pdf]``: report.tex (and report.pdf)."""
    from .output import OutputError, folder_target, publish_folder, staged_folder

    derivation = _load(args.file, "report")
    if derivation is None:
        return 2
    try:
        target = folder_target(Path(args.output), _OWN)
    except OutputError as error:
        print(f"bptt-check report: {error}", file=sys.stderr)
        return 1
    verdicts = _check(derivation, args.seed, "report")
    if verdicts is None:
        return 1
    with staged_folder(target) as folder:
        (folder / "report.tex").write_text(render(derivation, verdicts, args.seed), "utf-8")
        if not args.no_pdf and shutil.which("pdflatex"):
            result = subprocess.run(
                ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"],
                cwd=folder, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if result.returncode != 0:
                print("bptt-check report: pdflatex failed on report.tex", file=sys.stderr)
                return 1
            for name in ("report.aux", "report.log", "report.out"):
                (folder / name).unlink(missing_ok=True)
        publish_folder(folder, target)
    written = "report.tex and report.pdf" if (target / "report.pdf").exists() else "report.tex"
    print(f"wrote {written} in {args.output}/")
    return 0
