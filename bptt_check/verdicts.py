"""Verdicts on the article's statements, computed from evidence (never stored).

A claim is declared once in :mod:`bptt_check.registry` (id, title, equation, check function);
:func:`verify` runs the requested checks; each verdict
carries the evidence it was computed from and, when a statement fails or holds only under a
condition, a counterexample confirmed in mpmath independently of the float64 path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from . import registry

__all__ = [
    "ORDER",
    "ConfirmationError",
    "Verdict",
    "computed",
    "confirm",
    "verify",
]

Kind = Literal["holds", "holds-if", "fails"]


@dataclass(frozen=True)
class Verdict:
    """The verdict on one statement of the article (eq. (1)-(14) and the prose claims)."""

    id: str
    verdict: Kind
    reason: str
    as_written_latex: str
    derived_latex: str
    evidence: dict[str, Any] = field(default_factory=dict)
    condition: str | None = None
    condition_latex: str | None = None
    counterexample: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.verdict not in ("holds", "holds-if", "fails"):
            raise ValueError(f"{self.id}: unknown verdict {self.verdict!r}")
        if self.verdict == "holds-if" and not self.condition:
            raise ValueError(f"{self.id}: holds-if needs its condition")
        if self.verdict != "holds" and self.counterexample is None:
            raise ValueError(f"{self.id}: {self.verdict} needs a counterexample")

    def to_json(self) -> dict[str, Any]:
        """The verdict as the JSON object documented in the README."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if self.verdict != "holds-if":
            out.pop("condition_latex", None)
        return out


class ConfirmationError(RuntimeError):
    """An independent confirmation disagrees with the path that found the evidence: the check
    cannot conclude (the CLI reports it and exits 1), it does not flip a verdict."""


def confirm(agrees: bool, what: str) -> None:
    """Raise :class:`ConfirmationError` when an independent confirmation disagrees."""
    if not agrees:
        raise ConfirmationError(f"confirmation failed: {what}")


#: Report order of the claim ids (eq1 … eq14, then the prose claims), from the registry.
ORDER = registry.ids()

_computed: dict[tuple[str, int], Verdict] = {}


def verify(
    ids: Iterable[str] | None = None,
    seed: int = 0,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[Verdict]:
    """Run the checks of ``ids`` (every claim of the registry by default) with ``seed``;
    verdicts are computed once per process and id/seed."""
    chosen = list(ORDER if ids is None else ids)
    claims = [registry.get(i) for i in chosen]  # an unknown id: ValueError before any work
    verdicts = []
    for number, claim in enumerate(claims, 1):
        if progress is not None:
            progress(number, len(claims), claim.id)
        if (claim.id, seed) not in _computed:
            _computed[(claim.id, seed)] = claim.run(seed)
        verdicts.append(_computed[(claim.id, seed)])
    return verdicts


def computed() -> list[Verdict]:
    """Every verdict computed so far in this process (for the pytest summary)."""
    return list(_computed.values())
