"""Verdicts on the article's statements, computed from evidence (never stored).

A claim is declared once in :mod:`bptt_check.registry` (id, title, equation, check function);
:func:`verify` runs the requested checks, each once per call; each verdict carries the evidence
it was computed from and, when a statement fails or holds only under a condition, a
counterexample confirmed in mpmath independently of the float64 path.  Nothing is kept
between calls: a caller that needs the verdicts twice (the report's renderers) keeps the list
it was given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from . import registry
from .evidence import SCHEMA, ConfirmationError, Verdict, confirm

__all__ = [
    "ORDER",
    "SCHEMA",
    "document",
    "json_text",
    "ConfirmationError",
    "Verdict",
    "confirm",
    "verify",
]

#: Report order of the claim ids (eq1 … eq14, then the prose claims), from the registry.
ORDER = registry.ids()


def verify(
    ids: Iterable[str] | None = None,
    seed: int = 0,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[Verdict]:
    """Run the checks of ``ids`` (every claim of the registry by default) with ``seed``, each
    once, in the order given, on the reference NumPy interpreter (``numeric.backend``): the
    same seed gives the same numbers whatever this machine has compiled or cached."""
    import numeric  # the checks' arrays: imported when a check runs, not with the registry

    chosen = list(ORDER if ids is None else ids)
    claims = [registry.get(i) for i in chosen]  # an unknown id: ValueError before any work
    verdicts = []
    with numeric.backend("numpy"):
        for number, claim in enumerate(claims, 1):
            if progress is not None:
                progress(number, len(claims), claim.id)
            verdicts.append(claim.run(seed))
    return verdicts


def document(verdicts: Iterable[Verdict], seed: int) -> dict:
    """The JSON document of ``bptt-check verify --json``: the schema version (:data:`SCHEMA`),
    bptt-check's version, the seed and one object per verdict."""
    from . import __version__

    return {
        "schema": SCHEMA,
        "version": __version__,
        "seed": seed,
        "claims": [v.to_json() for v in verdicts],
    }


def json_text(verdicts: Iterable[Verdict], seed: int) -> str:
    """The text ``bptt-check verify --json`` writes: :func:`document` as strict JSON (a NaN
    anywhere is a bug of the evidence, not a value to write), indented, UTF-8 kept."""
    return (
        json.dumps(document(verdicts, seed), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    )
