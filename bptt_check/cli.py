"""The ``bptt-check`` command line.

``bptt-check equations`` prints the article's equations (1)-(14) as written beside what is
derived; ``bptt-check prove`` runs the exact small-size proofs of the derivations.  Exit
status: 0 when the command ran and every proof held, 1 when a proof fails, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__

__all__ = ["main"]


def _equations(args: argparse.Namespace) -> int:
    from derivations.equations import equation, equations

    numbers = args.number or sorted(equations())
    for number in numbers:
        eq = equation(number)
        print(f"({eq.number}) {eq.topic}")
        print(f"  as written: {eq.latex('as_written')}")
        print(f"  as derived: {eq.latex('as_derived')}")
        if eq.note:
            print(f"  note: {eq.note}")
    return 0


def _prove(args: argparse.Namespace) -> int:
    from derivations.proofs import standard_proofs

    failed = 0
    for proof in standard_proofs():
        failures = proof.failures
        failed += bool(failures)
        status = "holds" if not failures else f"FAILS at {', '.join(failures[:4])}"
        print(f"{proof.name:<48} {status}")
    return 1 if failed else 0


def _equation_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 14:
        raise argparse.ArgumentTypeError(f"the article numbers its equations 1-14, got {text!r}")
    return int(text)


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
    eqs.set_defaults(run=_equations)
    prove = commands.add_parser("prove", help="prove the derivations exact at small sizes")
    prove.set_defaults(run=_prove)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bptt-check`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader closed early (``| head``): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
