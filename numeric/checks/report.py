"""Comparisons and reports of the gradient checks: what was compared, against what, within
which tolerance and why; a report that fails loudly (:class:`GradientMismatch`)."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

__all__ = ["Comparison", "GradientMismatch", "Report"]


class GradientMismatch(AssertionError):
    """A gradient check failed; the message is a table of the worst failures."""


GradientMismatch.__module__ = "numeric.checks"  # its public name in tracebacks


@dataclass(frozen=True, slots=True)  # no __dict__: a long check holds ~10⁶ of them
class Comparison:
    """One analytic value against its reference, with the tolerance and the reason for it.

    :attr:`terms` are the named parts of the tolerance (``relative``: rtol × scale,
    ``rounding``: the floor from the dtype's ε and the magnitudes that entered,
    ``precision``: the budget of a float32/float16 BPTT, ``truncation``, ``atol``);
    :attr:`decided` names the largest.  The names are one tuple shared by every comparison
    with the same terms, the values a tuple of floats: a long check holds ~10⁶ of them."""

    check: str
    parameter: str
    index: tuple[int, ...] | None
    step: int | None  # time step t, counted from 1, for per-step comparisons
    analytic: float
    reference: float
    tolerance: float
    why: str
    term_names: tuple[str, ...] = field(default=(), compare=False)
    term_values: tuple[float, ...] = field(default=(), compare=False)

    @property
    def terms(self) -> tuple[tuple[str, float], ...]:
        """The named parts of the tolerance, ``(("relative", 1e-12), ("rounding", …))``."""
        return tuple(zip(self.term_names, self.term_values, strict=True))

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.reference)

    @property
    def rel_error(self) -> float:
        scale = max(abs(self.reference), abs(self.analytic))
        return self.abs_error / scale if scale else 0.0

    @property
    def passed(self) -> bool:
        return bool(self.abs_error <= self.tolerance)  # NaN never passes

    @property
    def decided(self) -> str:
        """The tolerance term that decided (the largest), e.g. ``"relative"``, ``"rounding"``."""
        if not self.term_values:
            return "given"
        return self.term_names[self.term_values.index(max(self.term_values))]

    @property
    def ratio(self) -> float:
        """|error| / tolerance (inf for an error against a zero tolerance, or a NaN)."""
        error, tol = float(self.abs_error), float(self.tolerance)
        if not math.isfinite(error):
            return math.inf
        if error == 0:
            return 0.0
        return math.exp(math.log(error) - math.log(tol)) if tol > 0 else math.inf

    @property
    def where(self) -> str:
        return self.parameter + ("" if self.index is None else str(list(self.index)))

    def __str__(self) -> str:
        when = "" if self.step is None else f" at t={self.step}"
        return (
            f"{self.check}: {self.where}{when}: analytic {self.analytic:.17g}, reference "
            f"{self.reference:.17g}, |err| {self.abs_error:.3g} vs tol {self.tolerance:.3g}"
            f" ({self.why}; decided by {self.decided})"
        )


_COLUMNS = ("parameter", "index", "step", "analytic", "reference", "|error|", "tolerance", "by")


def _cells(c: Comparison) -> tuple[str, ...]:
    return (
        c.parameter,
        "" if c.index is None else ",".join(map(str, c.index)),
        "" if c.step is None else str(c.step),
        f"{c.analytic:.6g}",
        f"{c.reference:.6g}",
        f"{c.abs_error:.2e}",
        f"{c.tolerance:.2e}",
        c.decided,
    )


def table(comparisons: tuple[Comparison, ...] | list[Comparison]) -> str:
    """A plain-text table of ``comparisons``, one row each."""
    rows = [_COLUMNS, *(_cells(c) for c in comparisons)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@dataclass(frozen=True)
class Report:
    """All comparisons of one check; ``passed`` (and ``bool(report)``) when every one is within
    its tolerance.  ``summary`` is a localized verdict when the check gives one
    (:func:`numeric.checks.check_vjp`).  A check that compared nothing is an error."""

    check: str
    comparisons: tuple[Comparison, ...]
    summary: str = ""
    first: Comparison | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.comparisons:
            raise ValueError(f"{self.check}: nothing was compared (an empty check is not a pass)")

    @cached_property
    def failures(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if not c.passed)

    @property
    def passed(self) -> bool:
        return not self.failures

    def __bool__(self) -> bool:
        return self.passed

    @cached_property
    def worst(self) -> Comparison:
        """The comparison closest to (or furthest past) its tolerance."""
        return max(self.comparisons, key=lambda c: c.ratio)

    def by_step(self) -> dict[int, Report]:
        """The per-step comparisons, one report for each time step t (counted from 1)."""
        steps: dict[int, list[Comparison]] = {}
        for c in self.comparisons:  # one pass: grouped, not filtered once per step
            if c.step is not None:
                steps.setdefault(c.step, []).append(c)
        return {t: Report(f"{self.check} t={t}", tuple(steps[t])) for t in sorted(steps)}

    def step_table(self) -> str:
        """One line per time step: passed or failed, and its worst comparison."""
        lines = []
        for t, report in self.by_step().items():
            w = report.worst
            status = "ok    " if report.passed else "FAILED"
            wrong = sorted({c.parameter for c in report.failures})
            shares = [p for p in wrong if not p.startswith("∂L/∂")]
            adjoints = [p for p in wrong if p.startswith("∂L/∂")]
            detail = ""
            if wrong:  # which part of the step is wrong: its own shares, the state's adjoint
                detail = (
                    f" (wrong: {', '.join(adjoints + [f'share of {p}' for p in shares])}"
                    + ("; its own shares right" if adjoints and not shares else "")
                    + ")"
                )
            lines.append(
                f"t={t:<3} {status} {len(report.failures)}/{len(report.comparisons)} failed"
                f"{detail}; worst {w.where}: |err| {w.abs_error:.2e} vs tol {w.tolerance:.2e}"
            )
        return "\n".join(lines)

    def message(self, limit: int = 8) -> str:
        """The verdict, then a table of ``limit`` comparisons: the localized first failure, then
        the worst failures (the worst comparisons when everything passed)."""
        head = str(self).split("; worst")[0]
        worst = heapq.nlargest(limit + 1, self.failures or self.comparisons, key=lambda c: c.ratio)
        if self.first is not None:  # the localized failure leads
            worst = [self.first, *(c for c in worst if c is not self.first)]
        worst = worst[:limit]
        lines = [head]
        if self.summary:
            lines.append(self.summary)
        lines.append(table(worst))
        if worst:
            lines.append(f"tolerance of the first row: {worst[0].why}")
        return "\n".join(lines)

    def raise_for_failures(self, limit: int = 8) -> Report:
        """Raise :class:`GradientMismatch` with a table of the worst failures; return self."""
        if not self.passed:
            raise GradientMismatch(self.message(limit))
        return self

    def __str__(self) -> str:
        status = "passed" if self.passed else f"FAILED {len(self.failures)} of"
        count = len(self.comparisons)
        noun = "comparison" if count == 1 else "comparisons"
        text = f"{self.check}: {status} {count} {noun}; worst: {self.worst}"
        return f"{text}\n{self.summary}" if self.summary else text

    def __repr__(self) -> str:
        """One line: the check and its outcome, never the comparisons."""
        from .._display import report_line

        return report_line(self)

    def _repr_html_(self) -> str:
        """In a notebook: the outcome and a table of the worst comparisons."""
        from .._display import report_html

        return report_html(self)

    def _repr_latex_(self) -> str:
        from .._display import report_latex

        return report_latex(self)


def row(
    check: str,
    parameter: str,
    index: tuple[int, ...] | None,
    step: int | None,
    analytic: Any,
    reference: Any,
    terms: dict[str, float],
    why: str,
) -> Comparison:
    """A :class:`Comparison` whose tolerance is the sum of the named ``terms``."""
    values = tuple(float(v) for v in terms.values())
    names = _NAMES.setdefault(tuple(terms), tuple(terms))  # one tuple for every row
    return Comparison(
        check,
        parameter,
        index,
        step,
        float(analytic),
        float(reference),
        sum(values),
        why,
        names,
        values,
    )


_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}
