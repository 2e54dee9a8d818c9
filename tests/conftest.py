"""Shared test configuration: Hypothesis profiles and mpmath hygiene."""

import os

import mpmath
import pytest
from hypothesis import HealthCheck, settings

# dev: random search, the default; ci: derandomized (same examples every run), no deadline
settings.register_profile("dev", deadline=None)
settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _reference_backend(monkeypatch):
    """Models made without ``backend=`` run on the NumPy interpreter, the reference, whatever
    this machine has compiled: the planted engine faults are planted there, and a test's
    numbers do not depend on what ran before it.  tests/test_on_numba.py and
    tests/test_backends.py pin the compiled backend themselves."""
    monkeypatch.setenv("BPTT_CHECK_BACKEND", "numpy")


@pytest.fixture(autouse=True)
def _restore_mpmath_precision():
    """A test that changes mpmath's working precision cannot leak it into the next one."""
    prec = mpmath.mp.prec
    yield
    mpmath.mp.prec = prec


def pytest_terminal_summary(terminalreporter):
    """The proof harness ends with the verdicts it computed, one line per claim, under the
    seed they were computed with (``bptt-check verify --seed``: the numbers depend on it)."""
    from verified import kept

    for seed, verdicts in kept().items():
        terminalreporter.section(f"bptt-check verdicts (seed {seed})")
        width = max(len(v.id) for v in verdicts)
        for v in verdicts:
            terminalreporter.write_line(
                f"{v.id:<{width}}  {v.verdict:<8}  {v.finding:<17}  {v.reason}"
            )
