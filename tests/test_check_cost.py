"""A failing check costs what a passing one does: ``check_vjp`` on a hand-written GRU BPTT
(tests/data/gru_bptt.py, torch's convention) with a planted bug, then ``str(report)``,
``report.message()`` and ``report.step_table()``, takes at most a small multiple of the time
the same check takes on the correct code.  A ratio of two CPU times of this process, each
the best of three alternating runs, against a generous bound: a localization quadratic in the
number of comparisons (the failing check once took 8× at this size, 30-100× at n = 16-24)
cannot hide, and a busy machine slows both sides alike.  The wall-clock ratios at larger
sizes are in benchmarks/failing_check.py."""

import importlib.util
import time
from pathlib import Path

import numpy as np

import numeric
from derivations import cells
from numeric import checks

MODEL = numeric.Model(cells.gru("torch"))
BUGS = ("update_gate", "pull_back", "last_step")


def _user():
    path = Path(__file__).parent / "data" / "gru_bptt.py"
    spec = importlib.util.spec_from_file_location("gru_bptt", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GRU = _user()


def _point(n, m, T, B):
    rng = np.random.default_rng(0)
    params = MODEL.init(n=n, m=m, seed=0)
    return (
        params,
        rng.normal(size=(T, B, m)),
        {"h": rng.normal(size=(B, n)) / 2},
        {"h": rng.normal(size=(T, B, n))},
    )


def _seconds(vjp, point) -> float:
    start = time.process_time()
    report = checks.check_vjp(MODEL, vjp, *point)
    str(report), report.message(10), report.step_table()
    return time.process_time() - start


def test_a_failing_check_costs_about_what_a_passing_one_does():
    point = _point(8, 2, 12, 2)
    assert checks.check_vjp(MODEL, GRU.vjp, *point)  # the first call compiles: not timed
    vjps = {bug: GRU.make(bug) for bug in (None, *BUGS)}
    for bug in BUGS:
        assert not checks.check_vjp(MODEL, vjps[bug], *point), bug
    best = dict.fromkeys(vjps, float("inf"))
    for _ in range(3):  # alternating: a busy moment slows the passing and failing runs alike
        for bug, vjp in vjps.items():
            best[bug] = min(best[bug], _seconds(vjp, point))
    for bug in BUGS:
        assert best[bug] <= 3 * best[None], (
            f"{bug}: {best[bug]:.3f} s failing, {best[None]:.3f} s passing"
        )


def test_the_planted_gru_bugs_are_localized():
    point = _point(3, 2, 4, 2)
    report = checks.check_vjp(MODEL, GRU.make("last_step"), *point)
    assert "step 4's term is missing" in report.summary
    assert "the last step's term is missing" in report.summary
    assert report.first.step == 4
    report = checks.check_vjp(MODEL, GRU.make("update_gate"), *point)
    assert "wrong for the last step alone" in report.summary
    assert report.first.parameter in ("W_iz", "W_hz", "b_z")
    report = checks.check_vjp(MODEL, GRU.make("pull_back"), *point)
    assert "recurrent pull-back" in report.summary


def test_a_failing_check_calls_the_users_vjp_as_often_as_a_passing_one():
    """T + 1 calls (the totals, then one per window t..T), failing or not: the localization
    works on what those calls returned and calls nothing again."""
    T = 5
    point = _point(3, 2, T, 2)
    for bug in (None, *BUGS):
        calls: list[int] = []
        report = checks.check_vjp(MODEL, _counting(GRU.make(bug), calls), *point)
        str(report), report.message(), report.step_table()
        assert report.passed is (bug is None)
        assert calls == [T, *range(T, 0, -1)], bug


def _counting(vjp, calls):
    def counted(*args):
        calls.append(len(args[1]))  # the window's length
        return vjp(*args)

    return counted
