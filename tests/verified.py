"""The verdicts of the test session: each claim checked once per seed and kept for the tests
that read it (the library keeps nothing between calls), and for the pytest summary."""

from __future__ import annotations

from bptt_check.evidence import Verdict
from bptt_check.verdicts import ORDER, verify

#: The seed the tests check the claims with (``bptt-check verify``'s default).
SEED = 0

_kept: dict[tuple[str, int], Verdict] = {}


def verdict(identifier: str, seed: int = SEED) -> Verdict:
    """The verdict on ``identifier`` with ``seed``, computed on first use."""
    if (identifier, seed) not in _kept:
        _kept[(identifier, seed)] = verify([identifier], seed)[0]
    return _kept[(identifier, seed)]


def verdicts(seed: int = SEED) -> list[Verdict]:
    """Every claim's verdict with ``seed``, in report order."""
    return [verdict(identifier, seed) for identifier in ORDER]


def keep(found: list[Verdict], seed: int) -> None:
    """Keep verdicts computed elsewhere in the session (by a report build) for later tests."""
    for v in found:
        _kept.setdefault((v.id, seed), v)


def kept() -> dict[int, list[Verdict]]:
    """The verdicts computed so far in this session, by seed, in report order."""
    by_seed: dict[int, list[Verdict]] = {}
    for (_, seed), v in sorted(
        _kept.items(), key=lambda item: (item[0][1], ORDER.index(item[0][0]))
    ):
        by_seed.setdefault(seed, []).append(v)
    return by_seed
