"""``bptt-check check FILE.py:FUNCTION --cell elman|gru|lstm``: a hand-written BPTT against the
derived one.

FUNCTION has the signature of :meth:`numeric.Model.vjp`: ``vjp(params, xs, state0,
cotangents) -> (grads, state0_grads)``, batched arrays (xs (T, B, m), states (B, n),
cotangents (T, B, n)), dicts keyed by the parameter and state names the header prints.  It is
run on seeded random inputs by :func:`numeric.checks.check_vjp`; the table of the worst
failures, the localized verdict and the per-step table are printed.

FILE is imported the way ``python FILE`` would run it: its folder first on ``sys.path`` while
it loads (restored afterwards), so ``import gru_bptt`` of a file beside it works.

Exit status: 0 when it matches, 1 when it does not (or raises), 2 for a usage error (missing
file, no such function, wrong signature) with a one-line message.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["CELLS", "add_parser", "run"]

#: The cells ``--cell`` names: tanh Elman with a bias (torch.nn.RNN), torch's GRU, the LSTM.
CELLS = {
    "elman": ("elman", {"activation": "tanh", "bias": True}),
    "gru": ("gru", {"variant": "torch"}),
    "lstm": ("lstm", {}),
}


class UsageError(Exception):
    """A problem with the command line: exit status 2."""


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a positive integer is needed, got {text!r}")
    return int(text)


def _seed(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"the seed is a non-negative integer, got {text!r}")
    return int(text)


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``check`` on the CLI's subcommands."""
    check = commands.add_parser("check", help="check your hand-written BPTT (a vjp function)")
    check.add_argument("target", metavar="FILE.py:FUNCTION", help="your vjp function")
    check.add_argument("--cell", choices=sorted(CELLS), required=True, help="the cell it is for")
    check.add_argument("--n", type=_positive, default=3, help="hidden size (default 3)")
    check.add_argument("--m", type=_positive, default=2, help="input size (default 2)")
    check.add_argument("--T", type=_positive, default=5, help="sequence length (default 5)")
    check.add_argument("--B", type=_positive, default=2, help="batch size (default 2)")
    check.add_argument("--seed", type=_seed, default=0, help="seed of the random inputs")
    check.set_defaults(run=run)


def _load(target: str) -> Callable:
    path, colon, name = target.rpartition(":")
    if not colon or not path or not name:
        raise UsageError(f"expected FILE.py:FUNCTION, got {target!r}")
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"no such file: {path}")
    spec = importlib.util.spec_from_file_location(f"_bptt_check_user_{file.stem}", file)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(file.resolve().parent)
    saved = list(sys.path)
    sys.path.insert(0, folder)  # as `python FILE` would: its neighbours are importable
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's file: any error is reported in one line
        raise UsageError(f"cannot import {path}: {type(error).__name__}: {error}") from None
    finally:
        sys.path[:] = saved
    function = getattr(module, name, None)
    if function is None:
        raise UsageError(f"{path} has no function {name!r}")
    if not callable(function):
        raise UsageError(f"{path}:{name} is not a function")
    try:
        inspect.signature(function).bind(None, None, None, None)
    except TypeError:
        raise UsageError(
            f"{path}:{name} must take (params, xs, state0, cotangents), "
            f"its signature is {name}{inspect.signature(function)}"
        ) from None
    except ValueError:  # no signature to read (a builtin): let the call decide
        pass
    return function


def run(args: argparse.Namespace) -> int:
    """Run the check; print the verdict and tables; return the exit status."""
    import numpy as np

    import numeric
    from derivations import cells
    from numeric import checks

    try:
        vjp = _load(args.target)
    except UsageError as error:
        print(f"bptt-check check: {error}", file=sys.stderr)
        return 2
    maker, options = CELLS[args.cell]
    model = numeric.Model(getattr(cells, maker)(**options))
    rng = np.random.default_rng(args.seed)
    params = model.init(n=args.n, m=args.m, seed=args.seed)
    xs = rng.normal(size=(args.T, args.B, args.m))
    state0 = {name: rng.normal(size=(args.B, args.n)) / 2 for name, _ in model.states}
    cotangents = {name: rng.normal(size=(args.T, args.B, args.n)) for name, _ in model.states}
    shapes = ", ".join(f"{k} {v.shape}" for k, v in params.items())
    print(f"cell {model.cell.name}: params {shapes}; states {[s for s, _ in model.states]}")
    print(f"xs {xs.shape}, state0 (B, n) = {(args.B, args.n)}, seed {args.seed}")
    try:
        report = checks.check_vjp(model, vjp, params, xs, state0, cotangents)
    except Exception as error:  # the user's function raised, or returned the wrong thing
        print(
            f"bptt-check check: FAILED: {type(error).__name__}: {error}{_where(error, args)}",
            file=sys.stderr,
        )
        return 1
    print(report.message(limit=10))
    print("per step (share of each parameter at step t, and δ_(t-1) from steps t..T):")
    print(report.step_table())
    return 0 if report.passed else 1


def _where(error: BaseException, args: argparse.Namespace) -> str:
    """Where in the user's file the error was raised (its last frame there), if it was."""
    import traceback

    path = Path(args.target.rsplit(":", 1)[0]).resolve()
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if Path(frame.filename).resolve() == path
    ]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (raised at {frame.filename}:{frame.lineno}, in {frame.name}: {frame.line})"
