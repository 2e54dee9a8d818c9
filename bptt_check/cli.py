"""The ``bptt-check`` command line.

``bptt-check report`` writes the LaTeX and PDF report (the main job); ``bptt-check verify``
computes a verdict for every statement of the article (eq. (1)-(14) and the prose claims) and
prints them as a table, or their full evidence as JSON; ``bptt-check equations`` prints the
equations as written beside what is derived; ``bptt-check prove`` runs the exact small-size
proofs of the derivations.

Exit status: 0 when the command ran (for ``verify``, whatever the verdicts), 1 with a one-line
message when a check, a proof or the report could not be done or written, 2 for a usage error
(and for a bare ``bptt-check``, which prints the help).

Output paths are checked before any work (:mod:`bptt_check.output`): ``verify --json PATH`` and
``report -o DIR`` fail at once, in one line, when they cannot be written.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import shutil
import sys
import textwrap
from collections.abc import Iterator, Sequence
from typing import TextIO

from . import __version__

__all__ = ["main", "parser"]

_VERDICTS = ("holds", "holds-if", "fails")


def _width() -> int:
    """Columns to fill: the terminal's; piped, COLUMNS or 80 (``shutil.get_terminal_size``)."""
    return max(shutil.get_terminal_size((80, 24)).columns, 24)


def _equations(args: argparse.Namespace) -> int:
    from derivations.equations import equation, equations
    from derivations.printing import pretty, unicode_math

    width = _width()  # the math needs 20 columns
    numbers = args.number or sorted(equations())
    for number in numbers:
        eq = equation(number)
        print(f"({eq.number}) {eq.topic}")
        for reading in ("as_written", "as_derived"):
            label = reading.replace("_", " ")
            if args.latex:
                print(f"  {label}: {eq.latex(reading)}")
                continue
            print(f"  {label}:")
            order = eq.written_settings.get("order") if reading == "as_written" else None
            settings = {"order": order} if order else {}
            for line in getattr(eq, reading):
                print(textwrap.indent(pretty(line, eq.names, width - 4, **settings), "    "))
        if eq.note:
            note = f"note: {unicode_math(eq.note)}"
            print(_fill(note, width, "  ", "    "))
    return 0


#: A relation or operator between spaces binds its two sides: ``n > 1`` is not broken.
_BINDS = re.compile(r" ([=<>≤≥≠≈→·×+−]) ")


def _fill(text: str, width: int, first: str = "", rest: str = "") -> str:
    """``text`` wrapped to ``width`` columns between words, never inside one, nor at the
    spaces around ``=``, ``<``, ``≤``, … (a line does not end in ``n`` and go on with ``> 1``)."""
    for words in (_BINDS.sub("\u00a0\\1\u00a0", text), text):
        wrapped = textwrap.fill(
            words,
            width,
            initial_indent=first,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        )
        if max(map(len, wrapped.splitlines()), default=0) <= width:
            break  # else a bound run is wider than the line: wrap at every space instead
    return wrapped.replace("\u00a0", " ")


def _prove(args: argparse.Namespace) -> int:
    from derivations.proofs import standard_proofs

    proofs = standard_proofs()
    width = max(len(p.label) for p in proofs)
    failed = 0
    for proof in proofs:
        failed += not proof.holds
        print(f"{proof.label:<{width}}  {proof.outcome()}")
    count = f"{len(proofs)} proofs, {len(proofs) - failed} hold"
    print(count + (f", {failed} fail" if failed else ""))
    return 1 if failed else 0


def _equation_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 14:
        raise argparse.ArgumentTypeError(f"the article numbers its equations 1-14, got {text!r}")
    return int(text)


def _claim_ids(text: str) -> list[str]:
    from .verdicts import ORDER

    ids = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [i for i in ids if i not in ORDER]
    if unknown or not ids:
        raise argparse.ArgumentTypeError(
            f"unknown claim ids {unknown or [text]}; known: {', '.join(ORDER)}"
        )
    return ids


def _seed(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"the seed is a non-negative integer, got {text!r}")
    return int(text)


#: Below this many columns, one block per claim instead of a table.
_TABLE_COLUMNS = 100


def _finding(v) -> str:
    finding = getattr(v, "finding", "")
    return finding.replace("-", " ") if finding else ""


def _table(verdicts: Sequence, stream: TextIO, width: int | None = None) -> None:
    """The verdicts in ``width`` columns (the terminal's by default): a table of claim,
    verdict, finding and reason (wrapped in its column) when wide, else one block per claim
    (its id, verdict and finding, then the reason indented); then the count of each kind.

    Every line fits ``width``; a line breaks between words, never inside one."""
    from derivations.printing import unicode_math

    width = _width() if width is None else width
    reasons = [unicode_math(str(v.reason)) for v in verdicts]
    ids = max([len("claim"), *(len(v.id) for v in verdicts)])
    findings = max([len("finding"), *(len(_finding(v)) for v in verdicts)])
    left = ids + 2 + 8 + 2 + findings + 2
    if width >= _TABLE_COLUMNS and width - left >= 30:
        pad = " " * left
        print(f"{'claim':<{ids}}  {'verdict':<8}  {'finding':<{findings}}  reason", file=stream)
        for v, reason in zip(verdicts, reasons, strict=True):
            head = f"{v.id:<{ids}}  {v.verdict:<8}  {_finding(v):<{findings}}  "
            print(_fill(reason, width, head, pad), file=stream)
    else:
        for v, reason in zip(verdicts, reasons, strict=True):
            finding = f" ({_finding(v)})" if _finding(v) else ""
            print(_fill(f"{v.id}: {v.verdict}{finding}", width, "", "  "), file=stream)
            print(_fill(reason, width, "  ", "  "), file=stream)
    counts = ", ".join(f"{sum(v.verdict == k for v in verdicts)} {k}" for k in _VERDICTS)
    plural = "" if len(verdicts) == 1 else "s"
    print(_fill(f"{len(verdicts)} claim{plural}: {counts}", width), file=stream)


class _Progress:
    """One line on stderr that says what runs (tqdm), cleared when done; nothing at all when
    stderr is not a terminal."""

    def __init__(self) -> None:
        self._bar = None

    def __enter__(self) -> _Progress:
        return self

    def claim(self, number: int, total: int, identifier: str) -> None:
        """``verify``'s progress: claim ``number`` of ``total`` starts."""
        bar = self._open(total)
        if bar is not None:
            bar.update(number - 1 - bar.n)
            bar.set_postfix_str(f"checking {identifier}", refresh=True)

    def say(self, message: str) -> None:
        """A stage of ``report``: the line shows ``message``."""
        bar = self._open(None)
        if bar is not None:
            bar.set_description_str(message.strip(), refresh=True)

    def _open(self, total: int | None):  # -> tqdm | None
        if self._bar is None and sys.stderr.isatty():
            from tqdm import tqdm

            bar_format = (
                "{desc}" if total is None else "{l_bar}{bar:20}| {n_fmt}/{total_fmt}{postfix}"
            )
            self._bar = tqdm(
                total=total,
                file=sys.stderr,
                leave=False,
                bar_format=bar_format,
                desc="verify" if total is not None else "",
                dynamic_ncols=True,
            )
        return self._bar

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()  # leave=False: the line is cleared
            self._bar = None


def _verify(args: argparse.Namespace) -> int:
    if args.file is not None:  # a derivation file: its own equations
        from .derivation_command import verify_file

        return verify_file(args)
    from .output import OutputError, file_target, write_text
    from .verdicts import json_text, verify

    target = None
    if args.json not in (None, "-"):
        try:  # checked before the checks run: a bad path fails at once
            target = file_target(args.json)
        except OutputError as error:
            print(f"bptt-check verify: {error}", file=sys.stderr)
            return 1

    try:
        with _Progress() as progress:
            verdicts = verify(args.claims, args.seed, progress.claim)
    except Exception as error:  # a check that cannot run is reported, not a traceback
        print(
            f"bptt-check verify: a check could not run: {type(error).__name__}: {error}",
            file=sys.stderr,
        )
        return 1
    _table(verdicts, sys.stderr if args.json == "-" else sys.stdout)  # stdout: JSON alone
    if args.json is not None:
        text = json_text(verdicts, args.seed)
        if target is None:
            sys.stdout.write(text)
            return 0
        try:  # a temporary file in the same folder, then renamed: never half a JSON file
            write_text(target, text)
        except OSError as error:
            print(f"bptt-check verify: cannot write {args.json}: {error.strerror}", file=sys.stderr)
            return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    if args.file is not None:  # a derivation file's report
        from .derivation_command import report_file

        return report_file(args)
    from pathlib import Path

    from .report import ReportError, build_report

    pdf = not args.no_pdf
    if pdf and shutil.which("pdflatex") is None:
        print(
            "pdflatex is not on PATH: writing report.tex and its figures without a PDF "
            "(apt-get install texlive-latex-base texlive-latex-recommended)",
            file=sys.stderr,
        )
    try:
        with _Progress() as progress:
            build_report(
                Path(args.output), args.seed, pdf=pdf, date=args.date, progress=progress.say
            )
    except (ReportError, OSError) as error:
        print(f"bptt-check report: {error}", file=sys.stderr)
        return 1
    names = [
        n for n in ("report.tex", "report.html", "report.pdf") if (Path(args.output) / n).exists()
    ]
    written = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    print(f"wrote {written} in {args.output}/")
    return 0


def parser() -> argparse.ArgumentParser:
    """The ``bptt-check`` command line's parser (the docs' CLI page is generated from it)."""
    return _parser()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bptt-check",
        description="Check the BPTT gradient argument of the article equation by equation.",
    )
    parser.add_argument("--version", action="version", version=f"bptt-check {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    eqs = commands.add_parser(
        "equations", help="print equations (1)-(14) as written and as derived"
    )
    # no ``choices=``: argparse checks an empty ``nargs="*"`` list against them and refuses it
    eqs.add_argument("number", nargs="*", type=_equation_number, metavar="N", help="1 to 14")
    eqs.add_argument(
        "--latex", action="store_true", help="print LaTeX instead of Unicode math, one line each"
    )
    eqs.set_defaults(run=_equations)
    prove = commands.add_parser("prove", help="prove the derivations exact at small sizes")
    prove.set_defaults(run=_prove)
    check = commands.add_parser("verify", help="a verdict for every statement of the article")
    check.add_argument(
        "file", nargs="?", default=None, metavar="FILE.toml", help="a derivation file to check"
    )
    check.add_argument(
        "--claims",
        type=_claim_ids,
        default=None,
        metavar="ID,ID",
        help="claim ids to check (default: all)",
    )
    check.add_argument("--seed", type=_seed, default=0, help="seed of every random choice")
    check.add_argument(
        "--json",
        metavar="PATH",
        default=None,
        help="write the full evidence as JSON to PATH (- for stdout)",
    )
    check.set_defaults(run=_verify)
    report = commands.add_parser("report", help="write the LaTeX (and PDF) report")
    report.add_argument(
        "file", nargs="?", default=None, metavar="FILE.toml", help="a derivation file to report"
    )
    report.add_argument(
        "-o",
        "--output",
        default="bptt-report",
        metavar="DIR",
        help="folder of report.tex, report.pdf and figures/ (default: bptt-report)",
    )
    report.add_argument("--seed", type=_seed, default=0, help="seed of every random choice")
    report.add_argument(
        "--date",
        default="",
        help="the date printed in the report (no clock is read; none when absent)",
    )
    report.add_argument("--no-pdf", action="store_true", help="write report.tex only")
    report.set_defaults(run=_report)
    from .check_command import add_parser as add_check  # bptt-check check FILE.py:FUNCTION

    add_check(commands)
    from .map_command import add_parser as add_map  # bptt-check map SPEC.toml (Lyapunov maps)

    add_map(commands)
    return parser


@contextlib.contextmanager
def _quiet_fonttools() -> Iterator[None]:
    """Keep fontTools' notices ("'created' timestamp seems very low", logged while matplotlib
    subsets the Computer Modern fonts of a figure) off the terminal while a command runs."""
    logger = logging.getLogger("fontTools")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bptt-check`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:  # no command is a usage error: the help, and status 2
        parser.print_help(sys.stderr)
        return 2
    try:
        with _quiet_fonttools():
            return args.run(args)
    except BrokenPipeError:  # the reader closed early (``| head``): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
