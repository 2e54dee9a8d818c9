r"""Notebook display of numeric's results (:class:`~numeric.checks.Report`,
:class:`~numeric.Spectrum`): HTML after xarray's convention (the escaped text repr in a
``<pre>``, shown where a notebook drops the style, then the HTML) and LaTeX after SymPy's
(``$\displaystyle …$``)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

_STYLE = (
    "<style>.nv-fallback { display: none; } .nv-wrap { display: block !important; }"
    " .nv-wrap table { border-collapse: collapse; }"
    " .nv-wrap th, .nv-wrap td { padding: 0.15em 0.6em; text-align: right;"
    " border-bottom: 1px solid #ddd; }</style>"
)


def fallback_html(obj: Any, body: str) -> str:
    """``body`` behind the escaped ``repr(obj)`` (xarray's convention)."""
    return (
        f"<div>{_STYLE}<pre class='nv-fallback'>{html.escape(repr(obj))}</pre>"
        f"<div class='nv-wrap' style='display:none'>{body}</div></div>"
    )


def table_html(header: list[str], rows: list[list[str]]) -> str:
    """A table of already formatted cells (escaped here)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def text_latex(words: str) -> str:
    """Words inside LaTeX math, special characters escaped."""
    for character in "{}_^#&%$":
        words = words.replace(character, f"\\{character}")
    return rf"\text{{{words}}}"


def number_latex(value: float) -> str:
    """A number in LaTeX math: 6 significant digits, a power of ten when very large or small."""
    value = float(value)
    if not np.isfinite(value):
        return {np.inf: r"\infty", -np.inf: r"-\infty"}.get(value, r"\text{NaN}")
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:.6g}"
    mantissa, exponent = f"{value:.5e}".split("e")
    return rf"{float(mantissa):.6g} \times 10^{{{int(exponent)}}}"


# ---- a check's report -----------------------------------------------------------------------

_HEADER = ["parameter", "index", "step", "analytic", "reference", "|error|", "tolerance", "by"]


def report_line(report: Any) -> str:
    count = len(report.comparisons)
    noun = "comparison" if count == 1 else "comparisons"
    status = "passed" if report.passed else f"FAILED {len(report.failures)} of"
    return f"Report({report.check!r}, {status} {count} {noun})"


def _rows(report: Any, limit: int) -> list:
    worst = sorted(report.failures or report.comparisons, key=lambda c: -c.ratio)
    return worst[:limit]


def report_html(report: Any, limit: int = 8) -> str:
    rows = [
        [
            c.parameter,
            "" if c.index is None else ",".join(map(str, c.index)),
            "" if c.step is None else str(c.step),
            f"{c.analytic:.6g}",
            f"{c.reference:.6g}",
            f"{c.abs_error:.2e}",
            f"{c.tolerance:.2e}",
            c.decided,
        ]
        for c in _rows(report, limit)
    ]
    colour = "#0b6b2b" if report.passed else "#a1141b"
    status = "passed" if report.passed else f"failed {len(report.failures)} of"
    which = "worst failures" if report.failures else "closest to their tolerance"
    body = (
        f"<p><strong>{html.escape(report.check)}</strong>: <strong style='color:{colour}'>"
        f"{status}</strong> {len(report.comparisons)} comparisons; the {which}:</p>"
        + table_html(_HEADER, rows)
        + (f"<p>{html.escape(report.summary)}</p>" if report.summary else "")
        + f"<p>tolerance: {html.escape(report.worst.why)}</p>"
    )
    return fallback_html(report, body)


def report_latex(report: Any, limit: int = 4) -> str:
    status = "passed" if report.passed else f"failed {len(report.failures)} of"
    head = text_latex(f"{report.check}: {status} {len(report.comparisons)} comparisons")
    rows = r" \\ ".join(
        f"{text_latex(c.where)} & {number_latex(c.abs_error)} & {number_latex(c.tolerance)}"
        for c in _rows(report, limit)
    )
    header = r"\text{where} & |\text{error}| & \text{tolerance}"
    return rf"$\displaystyle {head} \quad \begin{{array}}{{lrr}}{header} \\ {rows}\end{{array}}$"


# ---- a Lyapunov spectrum --------------------------------------------------------------------


def spectrum_line(spectrum: Any) -> str:
    mean = np.asarray(spectrum.mean())
    k = mean.shape[-1]
    top = mean[..., 0]
    where = (
        f"λ_max from {np.min(top):.4g} to {np.max(top):.4g} over {top.size} grid points"
        if spectrum.grid
        else f"λ_max {float(top):.4g}"
    )
    runs = f", B={spectrum.exponents.shape[-2]}" if spectrum.batched else ""
    return f"Spectrum({where}, k={k}, T={spectrum.T}{runs})"


def spectrum_html(spectrum: Any, limit: int = 16) -> str:
    mean, se = np.asarray(spectrum.mean()), np.asarray(spectrum.se())
    labels = np.atleast_1d(spectrum.classify())
    means, ses = np.atleast_2d(mean), np.atleast_2d(se)
    k = means.shape[-1]
    header = (["point"] if spectrum.grid else []) + [f"λ_{i + 1}" for i in range(k)] + ["λ_1"]
    rows = []
    for g in range(min(len(means), limit)):
        cells = [
            f"{means[g, i]:.4g}" + ("" if np.isnan(ses[g, i]) else f" ± {ses[g, i]:.2g}")
            for i in range(k)
        ]
        rows.append(([str(g)] if spectrum.grid else []) + cells + [str(labels[g])])
    more = len(means) - limit
    counts = ", ".join(f"{int(np.sum(labels == c))} {c}" for c in np.unique(labels))
    body = (
        f"<p>Lyapunov exponents of ∂s_T/∂s_0 (nats per step; T = {spectrum.T}, warm-up "
        f"{spectrum.warmup}); λ_1: {html.escape(counts)}</p>"
        + table_html(header, rows)
        + (f"<p>… {more} more grid points</p>" if more > 0 else "")
    )
    return fallback_html(spectrum, body)


def spectrum_latex(spectrum: Any) -> str:
    mean = np.asarray(spectrum.mean())
    if spectrum.grid:
        top = mean[..., 0]
        low, high = number_latex(np.min(top)), number_latex(np.max(top))
        return rf"$\displaystyle \lambda_{{\max}} \in [{low}, {high}]$"
    exponents = ",\\ ".join(
        rf"\lambda_{{{i + 1}}} = {number_latex(v)}" for i, v in enumerate(np.atleast_1d(mean))
    )
    return rf"$\displaystyle {exponents}$"
