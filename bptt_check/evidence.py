r"""Typed evidence of a verdict (to come: quantities, tables, proofs, examples)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Text"]


@dataclass(frozen=True)
class Text:
    """A sentence in two forms: plain Unicode for the terminal and JSON, LaTeX for the report."""

    plain: str
    latex: str

    def __str__(self) -> str:
        return self.plain
