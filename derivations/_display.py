r"""Notebook display of the exact proofs (:class:`~derivations.proofs.Proof`,
:class:`~derivations.proofs.CellProofs`): HTML after xarray's convention (the escaped text repr
in a ``<pre>`` for an untrusted notebook, then the HTML) and LaTeX after SymPy's
(``$\displaystyle …$``).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

_STYLE = (
    "<style>.dv-fallback { display: none; } .dv-wrap { display: block !important; }"
    " .dv-wrap table { border-collapse: collapse; }"
    " .dv-wrap th, .dv-wrap td { padding: 0.15em 0.6em; text-align: left;"
    " border-bottom: 1px solid #ddd; }</style>"
)


def fallback_html(obj: Any, body: str) -> str:
    """``body`` behind the escaped ``repr(obj)`` (xarray's convention: the ``<pre>`` shows
    where a notebook drops the style, the HTML where it keeps it)."""
    return (
        f"<div>{_STYLE}<pre class='dv-fallback'>{html.escape(repr(obj))}</pre>"
        f"<div class='dv-wrap' style='display:none'>{body}</div></div>"
    )


def _outcome(holds: bool) -> str:
    colour = "#0b6b2b" if holds else "#a1141b"
    return f"<strong style='color:{colour}'>{'holds' if holds else 'fails'}</strong>"


def _rows(proof: Any) -> str:
    failures = set(proof.failures)
    rows = []
    for key, matrix in proof.reference.items():
        bad = [
            f for f in failures if f == key or f.startswith(f"{key}[") or f.startswith(key + " ")
        ]
        shape = f"{matrix.rows} × {matrix.cols}"
        status = "every entry equal" if not bad else f"{len(bad)} entries differ"
        rows.append(
            f"<tr><td>{html.escape(key)}</td><td>{shape}</td><td>{html.escape(status)}</td></tr>"
        )
    return "".join(rows)


def proof_html(proof: Any) -> str:
    """One proof: its title, outcome and each compared quantity (derived against SymPy's
    unrolled derivative)."""
    body = (
        f"<p>{html.escape(proof.label)}: {_outcome(proof.holds)}</p>"
        "<table><thead><tr><th>quantity</th><th>size</th><th>derived − reference</th></tr>"
        f"</thead><tbody>{_rows(proof)}</tbody></table>"
    )
    return fallback_html(proof, body)


def proofs_html(obj: Any, proofs: Iterable[Any]) -> str:
    """Several proofs, one row each."""
    rows = "".join(
        f"<tr><td>{html.escape(p.label)}</td><td>{_outcome(p.holds)}</td></tr>" for p in proofs
    )
    body = (
        f"<table><thead><tr><th>proof</th><th>result</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return fallback_html(obj, body)


def _text(words: str) -> str:
    """Words inside LaTeX math: ``\\text{…}`` with LaTeX's special characters escaped."""
    for character in "{}_^#&%$":
        words = words.replace(character, f"\\{character}")
    return rf"\text{{{words}}}"


def proof_latex(proof: Any) -> str:
    outcome = "holds" if proof.holds else f"fails at {len(proof.failures)} entries"
    return rf"$\displaystyle {_text(proof.label)}\colon\ {_text(outcome)}$"


def proofs_latex(proofs: Iterable[Any]) -> str:
    rows = r" \\ ".join(
        f"{_text(p.label)} & {_text('holds' if p.holds else 'fails')}" for p in proofs
    )
    return rf"$\displaystyle \begin{{array}}{{ll}}{rows}\end{{array}}$"
